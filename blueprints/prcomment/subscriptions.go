package prcomment

import (
	"github.com/hookflow/hookflow/workflows"
)

// Subscription routes every GitHub pull_request event to the workflow of
// its pull request: github/<owner>/<repo>/pr/<number>.
func Subscription(taskQueue string) workflows.Subscription {
	return workflows.Subscription{
		Blueprint: Name,
		Workflow:  WorkflowName,
		TaskQueue: taskQueue,
		Route:     WorkflowID,
		Input:     func(string) any { return Input{} },
		// A pull request whose workflow completed (it was closed) starts
		// a new one only when it is reopened; other late events for it
		// are recorded as ignored ("entity finished").
		Starts: func(ev workflows.Event) bool { return ev.Action == "opened" || ev.Action == "reopened" },
	}
}

// The keys GitHub events carried before workflows/keys.go: "repo" was
// today's KeyRepoPath, "pr" today's KeyPullRequest.
const (
	legacyKeyRepo = "repo"
	legacyKeyPR   = "pr"
)

// WorkflowID returns the ID of the workflow that owns ev, or "" for events
// this blueprint does not take.
func WorkflowID(ev workflows.Event) string {
	if ev.Source != "github" || ev.Type != "pull_request" {
		return ""
	}
	repo, pr := ev.Key(workflows.KeyRepoPath), ev.Key(workflows.KeyPullRequest)
	if repo == "" && pr == "" {
		// Deliveries journaled before the key vocabulary (and forwarded
		// after an upgrade) name them "repo" and "pr": they still reach
		// their pull request's workflow.
		repo, pr = ev.Key(legacyKeyRepo), ev.Key(legacyKeyPR)
	}
	if repo == "" || pr == "" {
		return ""
	}
	return "github/" + repo + "/pr/" + pr
}
