package prcomment

import (
	"github.com/hookflow/hookflow/workflows"
)

// LegacyPrefix starts the IDs prcomment used before workflow IDs were
// namespaced: github/<owner>/<repo>/pr/<number>. Settings.LegacyWorkflowIDs
// routes github.com events to them (README.md, "Upgrading").
const LegacyPrefix = "github/"

// Subscription routes every GitHub pull_request event to the workflow of
// its pull request, prcomment/<host>/<owner>/<repo>/pr/<number>, and
// starts it with s (DefaultSettings when nil).
func Subscription(taskQueue string, s *Settings) workflows.Subscription {
	if s == nil {
		s = DefaultSettings()
	}
	settings := *s
	route := WorkflowID
	if settings.LegacyWorkflowIDs {
		route = LegacyWorkflowID
	}
	return workflows.Subscription{
		Blueprint: Name,
		Source:    "github",
		Events:    []string{"pull_request"},
		IDPattern: Name + "/<host>/<owner>/<repo>/pr/<number>",
		Workflow:  WorkflowName,
		TaskQueue: taskQueue,
		Route:     route,
		// The settings are captured when a pull request's workflow starts:
		// a change applies to pull requests opened after it.
		Input: func(string) any { return Input{Settings: settings} },
	}
}

// WorkflowID returns the ID of the workflow that owns ev, or "" for events
// this blueprint does not take.
//
// TODO(issue 10 item 3): read the typed keys for repo and pull request.
func WorkflowID(ev workflows.Event) string {
	if ev.Source != "github" || ev.Type != "pull_request" {
		return ""
	}
	repo, pr := ev.Key("repo"), ev.Key("pr")
	if repo == "" || pr == "" {
		return ""
	}
	return Name + "/" + workflows.Host(ev) + "/" + repo + "/pr/" + pr
}

// LegacyWorkflowID is the ID prcomment gave ev before IDs were namespaced,
// for github.com events; events from other hosts get WorkflowID (there
// were none under the old scheme, which could not tell hosts apart).
func LegacyWorkflowID(ev workflows.Event) string {
	id := WorkflowID(ev)
	if id == "" || workflows.Host(ev) != workflows.DefaultHost {
		return id
	}
	return LegacyPrefix + ev.Key("repo") + "/pr/" + ev.Key("pr")
}
