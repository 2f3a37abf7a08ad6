package devinfo_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	jiraact "github.com/hookflow/hookflow/activities/jira"
	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/blueprints/blueprinttest"
	"github.com/hookflow/hookflow/blueprints/devinfo"
	"github.com/hookflow/hookflow/workflows"
)

// jiraCred is the Data Center credential the fake sees; like the OAuth
// client's secret, it must never appear in a history or an outcome.
const jiraCred = "Bearer-PAT-devinfo-s3cr3t"

// edit is a set of changes to a recorded payload (blueprinttest.Edits).
type edit = blueprinttest.Edits

// delivery is blueprinttest.Edited: a recorded delivery of source,
// re-signed after edits, with its own delivery ID.
func delivery(source, file, id string, header map[string]string, e edit) blueprinttest.Delivery {
	return blueprinttest.Edited(source, file, id, header, blueprinttest.Edits(e))
}

func at(minute int) time.Time { return time.Date(2026, 12, 1, 10, minute, 0, 0, time.UTC) }

func sha(n int) string { return fmt.Sprintf("%07x", n) + strings.Repeat("a", 33) }

// The pushes and pull requests of each git server, as their payloads say.

func githubPush(id string, minute int, branch string, deleted bool, msgs ...string) blueprinttest.Delivery {
	var commits []any
	for i, m := range msgs {
		commits = append(commits, map[string]any{"id": sha(minute*100 + i + 1), "message": m, "timestamp": at(minute).Format(time.RFC3339),
			"url": "https://github.com/Codertocat/Hello-World/commit/" + sha(minute*100+i+1), "distinct": true,
			"author": map[string]any{"name": "Codertocat", "email": "21031067+Codertocat@users.noreply.github.com"}})
	}
	after := sha(minute*100 + len(msgs))
	e := edit{"ref": "refs/heads/" + branch, "before": sha(0), "after": after, "created": len(msgs) > 0 && minute == 1, "deleted": deleted,
		"commits": commits, "head_commit": nil, "repository.pushed_at": at(minute).Unix(),
		"compare": "https://github.com/Codertocat/Hello-World/compare/" + branch}
	if deleted {
		e["after"], e["before"], e["commits"] = strings.Repeat("0", 40), sha(minute), []any{}
	} else if len(commits) > 0 {
		e["head_commit"] = commits[len(commits)-1]
	}
	return delivery("github", "github.push.http", id, nil, e)
}

func githubPR(id, action string, minute int, title string, merged bool) blueprinttest.Delivery {
	e := edit{"action": action, "pull_request.title": title, "pull_request.head.ref": "feature/PROJ-1-retry", "pull_request.updated_at": at(minute).Format(time.RFC3339)}
	if merged {
		e["pull_request.state"], e["pull_request.merged"] = "closed", true
	}
	return delivery("github", "pull_request.opened.http", id, nil, e)
}

func gitlabPush(id string, minute int, branch string, msgs ...string) blueprinttest.Delivery {
	var commits []any
	for i, m := range msgs {
		commits = append(commits, map[string]any{"id": sha(minute*100 + i + 1), "message": m, "timestamp": at(minute).Format(time.RFC3339),
			"url": "http://example.com/gitlabhq/gitlab-test/-/commit/" + sha(minute*100+i+1), "author": map[string]any{"name": "John Smith", "email": "john@example.com"}})
	}
	return delivery("gitlab", "gitlab.push.http", id, nil, edit{"ref": "refs/heads/" + branch, "before": sha(0), "after": sha(minute*100 + len(msgs)),
		"commits": commits, "total_commits_count": len(msgs), "project.path_with_namespace": "gitlabhq/gitlab-test",
		"project.web_url": "http://example.com/gitlabhq/gitlab-test", "project.id": 1})
}

func gitlabMR(id, action, state string, minute int) blueprinttest.Delivery {
	return delivery("gitlab", "merge_request.open.http", id, nil, edit{"object_attributes.action": action, "object_attributes.state": state,
		"object_attributes.title": "PROJ-1: viewport", "object_attributes.source_branch": "PROJ-1-viewport",
		"object_attributes.updated_at": at(minute).Format(time.RFC3339)})
}

func bitbucketPush(id string, minute int, branch string, msgs ...string) blueprinttest.Delivery {
	var commits []any
	for i, m := range msgs {
		commits = append([]any{map[string]any{"type": "commit", "hash": sha(minute*100 + i + 1), "message": m, "date": at(minute).Format(time.RFC3339),
			"author": map[string]any{"raw": "Emma <emma@example.com>"}}}, commits...) // newest first
	}
	head := sha(minute*100 + len(msgs))
	change := map[string]any{"old": nil, "created": true, "forced": false, "closed": false, "truncated": false, "commits": commits,
		"new": map[string]any{"type": "branch", "name": branch, "target": map[string]any{"type": "commit", "hash": head, "date": at(minute).Format(time.RFC3339),
			"message": msgs[len(msgs)-1], "author": map[string]any{"raw": "Emma <emma@example.com>"}}}}
	return delivery("bitbucket", "cloud.repo_push.http", id, nil, edit{"push.changes": []any{change}})
}

func bitbucketPR(id, event, state string, minute int) blueprinttest.Delivery {
	return delivery("bitbucket", "cloud.pullrequest_created.http", id, map[string]string{"X-Event-Key": event}, edit{
		"pullrequest.title": "Retry settlement on 503", "pullrequest.source.branch.name": "PROJ-1-retry", "pullrequest.state": state,
		"pullrequest.updated_on": at(minute).Format(time.RFC3339)})
}

func dcRefs(id string, minute int, branch, typ string) blueprinttest.Delivery {
	from, to := sha(0), sha(minute)
	switch typ {
	case "ADD":
		from = strings.Repeat("0", 40)
	case "DELETE":
		to = strings.Repeat("0", 40)
	}
	return delivery("bitbucket", "dc.repo_refs_changed.http", id, nil, edit{"date": at(minute).Format("2006-01-02T15:04:05-0700"),
		"changes": []any{map[string]any{"ref": map[string]any{"id": "refs/heads/" + branch, "displayId": branch, "type": "BRANCH"},
			"refId": "refs/heads/" + branch, "fromHash": from, "toHash": to, "type": typ}}})
}

func dcPR(id, event, state string, minute int) blueprinttest.Delivery {
	return delivery("bitbucket", "dc.pr_opened.http", id, map[string]string{"X-Event-Key": event}, edit{
		"pullRequest.title": "PROJ-1 a new file added", "pullRequest.state": state, "pullRequest.updatedDate": at(minute).UnixMilli()})
}

// routed is blueprinttest.DeliverAll over devinfo.Blueprint.
func routed(t *testing.T, settings blueprints.Settings, ds ...blueprinttest.Delivery) ([]workflows.Event, workflows.Route) {
	t.Helper()
	return blueprinttest.DeliverAll(t, devinfo.Blueprint, settings, ds...)
}

// fakeJira is a Jira holding PROJ-1..PROJ-3.
func fakeJira(t *testing.T) *blueprinttest.FakeJira {
	f := blueprinttest.NewFakeJira(t)
	for _, k := range []string{"PROJ-1", "PROJ-2", "PROJ-3"} {
		f.AddIssue(k, "To Do", nil)
	}
	return f
}

// env is devinfo's workflow over the real Jira activities and connectors,
// pointed at f.
func env(t *testing.T, f *blueprinttest.FakeJira) *blueprinttest.Env {
	t.Helper()
	e := blueprinttest.NewEnv(t, devinfo.Blueprint)
	jiraact.Register(e, f.Activities(t, jiraCred))
	return e
}

// run sends events, each gap after the previous, and runs the workflow
// for a day of workflow time (it never finishes by itself).
func run(t *testing.T, e *blueprinttest.Env, route workflows.Route, evs []workflows.Event, gap time.Duration) devinfo.Output {
	t.Helper()
	for i, ev := range evs {
		e.Send(time.Duration(i+1)*gap, route, ev)
	}
	return stop(t, e, 24*time.Hour)
}

// stop queries the workflow's state after d (of workflow time), then
// cancels it, runs it, and returns the state.
func stop(t *testing.T, e *blueprinttest.Env, d time.Duration) devinfo.Output {
	t.Helper()
	var out devinfo.Output
	e.RegisterDelayedCallback(func() {
		v, err := e.QueryWorkflow(devinfo.QueryState)
		require.NoError(t, err)
		require.NoError(t, v.Get(&out))
		e.CancelWorkflow()
	}, d)
	e.Run()
	require.True(t, e.IsWorkflowCompleted())
	return out
}

// count counts the fake's requests with this method and path prefix.
func count(f *blueprinttest.FakeJira, method, prefix string) int {
	n := 0
	for _, r := range f.Requests() {
		if r.Method == method && strings.HasPrefix(r.Path, prefix) {
			n++
		}
	}
	return n
}

const bulk = "/jira/devinfo/0.1/cloud/" + blueprinttest.FakeCloudID + "/bulk"
