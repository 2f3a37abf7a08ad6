package prjira_test

import (
	"encoding/json"
	"fmt"
	actall "github.com/hookflow/hookflow/activities/all"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/blueprints/blueprinttest"
	"github.com/hookflow/hookflow/blueprints/prjira"
	"github.com/hookflow/hookflow/workflows"
)

// jiraCred is the credential the fake Jira sees; it must never appear in
// a history or an outcome.
const jiraCred = "bot@example.com:ATATT3x-prjira-s3cr3t"

// edit is a set of changes to a recorded payload (blueprinttest.Edits).
type edit = blueprinttest.Edits

// delivery is blueprinttest.Edited: a recorded delivery of source,
// re-signed after edits, with its own delivery ID.
func delivery(source, file, id string, header map[string]string, e edit) blueprinttest.Delivery {
	return blueprinttest.Edited(source, file, id, header, blueprinttest.Edits(e))
}

// scenario is one pull request's life on one git server.
type scenario struct {
	name   string
	source string
	// events are the deliveries, oldest first.
	events []blueprinttest.Delivery
	// keys are the issues the pull request names at the end.
	keys []string
	// gid is the global ID of its links.
	gid string
}

func at(minute int) string {
	return time.Date(2026, 12, 1, 10, minute, 0, 0, time.UTC).Format(time.RFC3339)
}

// github: opened naming PROJ-1 (title) and PROJ-2 (branch), review
// requested, the title edited to add PROJ-3, merged.
func githubScenario() scenario {
	const file = "pull_request.opened.http"
	base := func(action string, minute int, title string) edit {
		return edit{"action": action, "pull_request.title": title, "pull_request.head.ref": "feature/PROJ-2-readme",
			"pull_request.updated_at": at(minute)}
	}
	review := base("review_requested", 2, "PROJ-1 Update the README")
	review["pull_request.requested_reviewers"] = []any{map[string]any{"login": "octocat"}}
	merged := base("closed", 4, "PROJ-1 PROJ-3 Update the README")
	merged["pull_request.state"], merged["pull_request.merged"] = "closed", true
	merged["pull_request.merge_commit_sha"] = "c4295bd74fb0f4fda03689c3df3f2803b658fd85"
	return scenario{
		name: "github", source: "github",
		events: []blueprinttest.Delivery{
			delivery("github", file, "gh-1", nil, base("opened", 1, "PROJ-1 Update the README")),
			delivery("github", file, "gh-2", nil, review),
			delivery("github", file, "gh-3", nil, base("edited", 3, "PROJ-1 PROJ-3 Update the README")),
			delivery("github", file, "gh-4", nil, merged),
		},
		keys: []string{"PROJ-1", "PROJ-2", "PROJ-3"},
		gid:  "hookflow-prjira:github:github.com/Codertocat/Hello-World/2",
	}
}

// gitlab: opened naming PROJ-1 (title) and, in its last commit, PROJ-2;
// a reviewer added; merged.
func gitlabScenario() scenario {
	const file = "merge_request.open.http"
	base := func(action, state string, minute int) edit {
		return edit{"object_attributes.action": action, "object_attributes.state": state,
			"object_attributes.title": "PROJ-1: viewport", "object_attributes.source_branch": "ms-viewport",
			"object_attributes.last_commit.message": "PROJ-2 fix the readme", "object_attributes.updated_at": at(minute)}
	}
	update := base("update", "opened", 2)
	update["reviewers"] = []any{map[string]any{"id": 7, "username": "reviewer"}}
	merged := base("merge", "merged", 3)
	merged["object_attributes.merge_commit_sha"] = "8a4d5b2f1e0c9d7b6a5f4e3d2c1b0a9f8e7d6c5b"
	return scenario{
		name: "gitlab", source: "gitlab",
		events: []blueprinttest.Delivery{
			delivery("gitlab", file, "gl-1", nil, base("open", "opened", 1)),
			delivery("gitlab", file, "gl-2", nil, update),
			delivery("gitlab", file, "gl-3", nil, merged),
		},
		keys: []string{"PROJ-1", "PROJ-2"},
		gid:  "hookflow-prjira:gitlab:gitlab.example.com/gitlabhq/gitlab-test/1",
	}
}

// bitbucket Cloud: created with a reviewer on branch PROJ-1-retry, merged.
func bitbucketCloudScenario() scenario {
	const file = "cloud.pullrequest_created.http"
	base := func(minute int) edit {
		return edit{"pullrequest.title": "Retry settlement on 503", "pullrequest.source.branch.name": "PROJ-1-retry",
			"pullrequest.updated_on": at(minute), "pullrequest.reviewers": []any{map[string]any{"nickname": "reviewer"}}}
	}
	merged := base(2)
	merged["pullrequest.state"], merged["pullrequest.merge_commit"] = "MERGED", map[string]any{"hash": "0f1e2d3c4b5a"}
	return scenario{
		name: "bitbucket-cloud", source: "bitbucket",
		events: []blueprinttest.Delivery{
			delivery("bitbucket", file, "bbc-1", nil, base(1)),
			delivery("bitbucket", file, "bbc-2", map[string]string{"X-Event-Key": "pullrequest:fulfilled"}, merged),
		},
		keys: []string{"PROJ-1"},
		gid:  "hookflow-prjira:bitbucket:bitbucket.org/acme/payments/42",
	}
}

// bitbucket Data Center: opened naming PROJ-1 with a reviewer, merged.
func bitbucketDCScenario() scenario {
	const file = "dc.pr_opened.http"
	base := func(minute int) edit {
		return edit{"pullRequest.title": "PROJ-1 a new file added", "pullRequest.updatedDate": 1764583200000 + int64(minute)*60000,
			"pullRequest.reviewers": []any{map[string]any{"user": map[string]any{"name": "reviewer"}}}}
	}
	merged := base(2)
	merged["pullRequest.state"] = "MERGED"
	merged["pullRequest.properties.mergeCommit"] = map[string]any{"id": "e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6"}
	return scenario{
		name: "bitbucket-dc", source: "bitbucket",
		events: []blueprinttest.Delivery{
			delivery("bitbucket", file, "bbdc-1", nil, base(1)),
			delivery("bitbucket", file, "bbdc-2", map[string]string{"X-Event-Key": "pr:merged"}, merged),
		},
		keys: []string{"PROJ-1"},
		gid:  "hookflow-prjira:bitbucket:bitbucket.example.com/PROJ/repository/1",
	}
}

func scenarios() []scenario {
	return []scenario{githubScenario(), gitlabScenario(), bitbucketCloudScenario(), bitbucketDCScenario()}
}

// routed is blueprinttest.DeliverAll over prjira.Blueprint.
func routed(t *testing.T, settings blueprints.Settings, ds []blueprinttest.Delivery) ([]workflows.Event, workflows.Route) {
	t.Helper()
	return blueprinttest.DeliverAll(t, prjira.Blueprint, settings, ds...)
}

// fakeJira is a Jira holding PROJ-1..PROJ-3 in To Do.
func fakeJira(t *testing.T) *blueprinttest.FakeJira {
	f := blueprinttest.NewFakeJira(t)
	for _, k := range []string{"PROJ-1", "PROJ-2", "PROJ-3"} {
		f.AddIssue(k, "To Do", nil)
	}
	return f
}

// env is prjira's workflow over the real Jira and GitHub activities and
// connectors, pointed at f and at a fake GitHub whose pull requests have
// no commits.
func env(t *testing.T, f *blueprinttest.FakeJira) *blueprinttest.Env {
	return envWith(t, f, newGitHub(t))
}

func envWith(t *testing.T, f *blueprinttest.FakeJira, g *fakeGitHub) *blueprinttest.Env {
	t.Helper()
	e := blueprinttest.NewEnv(t, prjira.Blueprint)
	require.NoError(t, actall.Register(e, actall.Sites{JiraURL: f.URL, GitHubAPIURL: g.URL + "/",
		Tokens: actall.StaticTokens(map[string]string{"jira": jiraCred, "github": "ghs_prjira-test"})}))
	return e
}

// fakeGitHub is GitHub's REST API for one repository's pull request
// comments (kept) and commits (as set), recording every request.
type fakeGitHub struct {
	URL      string
	mu       sync.Mutex
	commits  []string
	comments []map[string]any
	got      []string
}

func newGitHub(t *testing.T, commitMessages ...string) *fakeGitHub {
	g := &fakeGitHub{commits: commitMessages}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repos/{o}/{r}/pulls/{n}/commits", func(w http.ResponseWriter, _ *http.Request) {
		var out []map[string]any
		for i, m := range g.commits {
			out = append(out, map[string]any{"sha": fmt.Sprintf("%040d", i+1), "commit": map[string]any{"message": m}})
		}
		writeJSON(w, http.StatusOK, append([]map[string]any{}, out...))
	})
	mux.HandleFunc("GET /repos/{o}/{r}/issues/{n}/comments", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, append([]map[string]any{}, g.comments...))
	})
	mux.HandleFunc("POST /repos/{o}/{r}/issues/{n}/comments", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Body string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		c := map[string]any{"id": len(g.comments) + 1, "body": in.Body}
		g.comments = append(g.comments, c)
		writeJSON(w, http.StatusCreated, c)
	})
	mux.HandleFunc("PATCH /repos/{o}/{r}/issues/comments/{id}", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Body string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		id, _ := strconv.Atoi(r.PathValue("id"))
		if id < 1 || id > len(g.comments) {
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
			return
		}
		g.comments[id-1]["body"] = in.Body
		writeJSON(w, http.StatusOK, g.comments[id-1])
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.got = append(g.got, r.Method+" "+r.URL.Path)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	g.URL = srv.URL
	return g
}

func (g *fakeGitHub) bodies() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for _, c := range g.comments {
		out = append(out, c["body"].(string))
	}
	return out
}

func (g *fakeGitHub) requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.got...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// jiraState is what Jira holds for the keys, comparable across runs.
type jiraState map[string]struct {
	Status   string
	Links    map[string]string
	Comments []string
}

func stateOf(f *blueprinttest.FakeJira, keys ...string) jiraState {
	out := jiraState{}
	for _, k := range keys {
		is := f.Issue(k)
		s := out[k]
		s.Status, s.Links = is.Status, map[string]string{}
		for gid, l := range is.Links {
			s.Links[gid] = string(l)
		}
		for _, c := range is.Comments {
			s.Comments = append(s.Comments, c.Body)
		}
		out[k] = s
	}
	return out
}
