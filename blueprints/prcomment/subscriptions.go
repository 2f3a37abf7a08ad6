package prcomment

import (
	"strings"

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
		// A pull request whose workflow completed (it was closed) starts
		// a new one only when it is reopened; other late events for it
		// are recorded as ignored ("entity finished").
		Starts: func(ev workflows.Event) bool { return ev.Action == "opened" || ev.Action == "reopened" },
	}
}

// legacyKeyPR is the key GitHub events carried the pull request number
// in before workflows/keys.go (today's KeyPullRequest).
const legacyKeyPR = "pr"

// WorkflowID returns the ID of the workflow that owns ev, or "" for events
// this blueprint does not take (and pull request events without a number).
func WorkflowID(ev workflows.Event) string {
	if ev.Source != "github" || ev.Type != "pull_request" {
		return ""
	}
	// Deliveries journaled before the key vocabulary (routed when an older
	// journal is migrated) name the number "pr".
	if ev.Key(workflows.KeyPullRequest) == "" && ev.Key(legacyKeyPR) == "" {
		return ""
	}
	return workflows.EntityID(Name, ev)
}

// LegacyWorkflowID is the ID prcomment gave ev before IDs were namespaced,
// for github.com events; events from other hosts get WorkflowID (there
// were none under the old scheme, which could not tell hosts apart).
func LegacyWorkflowID(ev workflows.Event) string {
	id := WorkflowID(ev)
	rest, ok := strings.CutPrefix(id, Name+"/"+workflows.DefaultHost+"/")
	if !ok {
		return id
	}
	return LegacyPrefix + rest
}
