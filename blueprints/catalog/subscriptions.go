package catalog

import (
	"strings"

	"github.com/hookflow/hookflow/workflows"
)

// RepositoryActions are the repository events catalog acts on.
var RepositoryActions = []string{"created", "renamed", "archived", "unarchived", "transferred"}

// Subscription takes GitHub repository events (RepositoryActions) and
// pushes to branches, one workflow per repository:
// catalog/<host>/<owner>/<repo>. Which pushes matter (the default branch,
// touching the descriptor) is decided by the workflow from the payload:
// the ingress routes on business keys only. Nil settings mean the defaults.
func Subscription(s *Settings) workflows.Subscription {
	if s == nil {
		s = DefaultSettings()
	}
	settings := *s
	return workflows.Subscription{
		Blueprint: Name,
		Source:    "github",
		Events:    []string{"repository", "push"},
		IDPattern: Name + "/<host>/<owner>/<repo>",
		Workflow:  WorkflowName,
		Route:     WorkflowID,
		Input:     func(string) any { return Input{Settings: settings} },
	}
}

// WorkflowID returns the ID of the repository's workflow, or "".
func WorkflowID(ev workflows.Event) string {
	switch ev.Type {
	case "repository":
		if !contains(RepositoryActions, ev.Action) {
			return ""
		}
	case "push":
		if !strings.HasPrefix(ev.Key(workflows.KeyRef), "refs/heads/") {
			return "" // tags
		}
	default:
		return ""
	}
	if ev.Source != "github" || ev.Key(workflows.KeyRepoPath) == "" {
		return ""
	}
	return workflows.EntityID(Name, ev)
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
