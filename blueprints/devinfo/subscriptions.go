package devinfo

import (
	"strings"

	"github.com/hookflow/hookflow/workflows"
)

// The events devinfo takes, by sender.
var (
	// GitHubEvents are GitHub's and GHES's: pushes (commits, branches
	// created and deleted) and pull requests (every action).
	GitHubEvents = []string{"push", "pull_request"}
	// GitLabEvents are GitLab's Push Hook and Merge Request Hook.
	GitLabEvents = []string{"push", "merge_request"}
	// BitbucketEvents are Bitbucket Cloud's repo:push and pull request
	// events and Bitbucket Data Center's repo:refs_changed and pr:*
	// events about a pull request's life.
	BitbucketEvents = []string{
		"repo:push", "pullrequest:created", "pullrequest:updated", "pullrequest:fulfilled", "pullrequest:rejected",
		"repo:refs_changed", "pr:opened", "pr:modified", "pr:from_ref_updated", "pr:merged", "pr:declined", "pr:deleted",
	}
)

// Subscriptions route the push and pull request events of each git server
// to the workflow of their repository, devinfo/<host>/<repository path>,
// started with s (DefaultSettings when nil). One workflow per repository
// matches the Development Information API, which upserts a repository's
// entities: two workflows writing one repository could not order their
// updates.
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
		// The settings are captured when a repository's workflow starts; it
		// runs for as long as the repository sends events (continuing as
		// new), so a change applies after a restart of the workflow
		// (hookflow replay, or terminate it: the next event starts it anew).
		Input: func(string) any { return Input{Settings: settings} },
	}
	gh, gl, bb := base, base, base
	gh.Source, gh.Events, gh.IDPattern = workflows.SourceGitHub, GitHubEvents, Name+"/<host>/<owner>/<repo>"
	gl.Source, gl.Events, gl.IDPattern = workflows.SourceGitLab, GitLabEvents, Name+"/<host>/<group>/<project>"
	bb.Source, bb.Events, bb.IDPattern = workflows.SourceBitbucket, BitbucketEvents, Name+"/<host>/<workspace>/<repo>"
	return []workflows.Subscription{gh, gl, bb}
}

// WorkflowID returns the ID of the repository's workflow, or "" for events
// without a repository, and for pushes of tags (Jira's development panel
// shows branches, commits and pull requests).
func WorkflowID(ev workflows.Event) string {
	path := ev.Key(workflows.KeyRepoPath)
	if path == "" {
		return ""
	}
	// A Bitbucket push may change branches and tags at once (KeyRef is
	// the first): the workflow skips its tags.
	if ev.Source == workflows.SourceGitHub && ev.Type == "push" && strings.HasPrefix(ev.Key(workflows.KeyRef), "refs/tags/") {
		return ""
	}
	host := workflows.Host(ev)
	if host == "" {
		host = ev.Integration
	}
	if host == "" {
		return ""
	}
	return Name + "/" + host + "/" + path
}
