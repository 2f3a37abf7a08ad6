package prjira

import (
	"github.com/hookflow/hookflow/workflows"
)

// The events prjira takes, by sender.
var (
	// GitHubEvents are GitHub's and GHES's (every action).
	GitHubEvents = []string{"pull_request"}
	// GitLabEvents are GitLab's Merge Request Hook (every action).
	GitLabEvents = []string{"merge_request"}
	// BitbucketEvents are Bitbucket Cloud's pullrequest:* and Bitbucket Data
	// Center's pr:* events about a pull request's life (comments and
	// approvals say nothing prjira acts on).
	BitbucketEvents = []string{
		"pullrequest:created", "pullrequest:updated", "pullrequest:fulfilled", "pullrequest:rejected",
		"pr:opened", "pr:modified", "pr:from_ref_updated", "pr:reviewer:updated", "pr:merged", "pr:declined", "pr:deleted",
	}
)

// Subscriptions route the pull request events of each git server to the
// workflow of their pull request, prjira/<host>/<owner>/<repo>/pr/<n>
// (mr/<iid> on GitLab), started with s (DefaultSettings when nil).
func Subscriptions(taskQueue string, s *Settings) []workflows.Subscription {
	if s == nil {
		s = DefaultSettings()
	}
	settings := *s
	base := workflows.Subscription{
		Blueprint: Name,
		Workflow:  WorkflowName,
		TaskQueue: taskQueue,
		Route:     WorkflowID,
		// The settings are captured when a pull request's workflow starts:
		// a change applies to pull requests whose workflow starts after it.
		Input: func(string) any { return Input{Settings: settings} },
		// A finished pull request (merged or closed) starts again only when
		// it is reopened; a late opened or edited delivery is recorded as
		// ignored ("entity finished") instead of undoing the finish.
		Starts: Reopens,
	}
	gh, gl, bb := base, base, base
	gh.Source, gh.Events, gh.IDPattern = workflows.SourceGitHub, GitHubEvents, Name+"/<host>/<owner>/<repo>/pr/<number>"
	gl.Source, gl.Events, gl.IDPattern = workflows.SourceGitLab, GitLabEvents, Name+"/<host>/<group>/<project>/mr/<iid>"
	bb.Source, bb.Events, bb.IDPattern = workflows.SourceBitbucket, BitbucketEvents, Name+"/<host>/<workspace>/<repo>/pr/<id>"
	return []workflows.Subscription{gh, gl, bb}
}

// Reopens says whether ev reopens a pull request: GitHub reopened,
// GitLab reopen, Bitbucket Data Center pr:opened (sent for a reopened
// pull request too). Bitbucket Cloud cannot reopen a declined one.
func Reopens(ev workflows.Event) bool {
	switch ev.Source {
	case workflows.SourceGitHub:
		return ev.Action == "reopened"
	case workflows.SourceGitLab:
		return ev.Action == "reopen"
	case workflows.SourceBitbucket:
		return ev.Type == "pr:opened"
	}
	return false
}

// WorkflowID returns the ID of the workflow that owns ev, or "" for
// events without a pull request number.
func WorkflowID(ev workflows.Event) string {
	if ev.Key(workflows.KeyPullRequest) == "" {
		return ""
	}
	return workflows.EntityID(Name, ev)
}
