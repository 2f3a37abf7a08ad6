package prjira_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/blueprints/blueprinttest"
	"github.com/hookflow/hookflow/blueprints/prjira"
	"github.com/hookflow/hookflow/workflows"
)

// run sends events to one workflow, each after its own delay, and runs it
// until it completes (or for a day of workflow time).
func run(t *testing.T, f *blueprinttest.FakeJira, route workflows.Route, evs []workflows.Event, gap time.Duration) (*blueprinttest.Env, prjira.Output) {
	t.Helper()
	e := env(t, f)
	for i, ev := range evs {
		e.Send(time.Duration(i+1)*gap, route, ev)
	}
	e.RegisterDelayedCallback(e.CancelWorkflow, 24*time.Hour)
	e.Run()
	require.True(t, e.IsWorkflowCompleted())
	var out prjira.Output
	if e.GetWorkflowError() == nil {
		require.NoError(t, e.GetWorkflowResult(&out))
	}
	return e, out
}

// Every git server's pull request, in order and a minute apart: each
// issue it names gets one link (updated as the pull request changes), is
// moved to In Review and then Done, and gets one merge comment.
func TestHappyPathEveryProvider(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			f := fakeJira(t)
			evs, route := routed(t, nil, sc.events)
			e, out := run(t, f, route, evs, time.Minute)
			require.NoError(t, e.GetWorkflowError())
			require.Equal(t, sc.keys, out.Linked)
			require.Empty(t, out.Outcomes)
			for _, k := range sc.keys {
				is := f.Issue(k)
				require.Equal(t, "Done", is.Status, k)
				require.Equal(t, []string{"In Review", "Done"}, is.Moves, k)
				require.Len(t, is.Links, 1, k)
				var link struct {
					GlobalID string `json:"globalId"`
					Object   struct {
						URL    string `json:"url"`
						Title  string `json:"title"`
						Status struct {
							Resolved bool `json:"resolved"`
						} `json:"status"`
					} `json:"object"`
				}
				require.NoError(t, json.Unmarshal(is.Links[sc.gid], &link), k)
				require.Equal(t, sc.gid, link.GlobalID)
				require.True(t, link.Object.Status.Resolved, "a merged pull request's link is resolved")
				require.Len(t, is.Comments, 1, k)
				require.Contains(t, is.Comments[0].Body, "was merged")
			}
			for _, r := range f.Requests() {
				require.NotContains(t, string(r.Body), "s3cr3t")
			}
		})
	}
}

// What GitHub's pull request makes Jira receive, exactly, in order.
func TestGitHubCallsExactly(t *testing.T) {
	t.Parallel()
	f := fakeJira(t)
	evs, route := routed(t, nil, githubScenario().events)
	e, _ := run(t, f, route, evs, time.Minute)
	require.NoError(t, e.GetWorkflowError())
	link, move, comment := "POST /rest/api/2/issue/%s/remotelink", "POST /rest/api/2/issue/%s/transitions", "POST /rest/api/2/issue/%s/comment"
	var want []string
	add := func(pattern string, keys ...string) {
		for _, k := range keys {
			want = append(want, fmt.Sprintf(pattern, k))
		}
	}
	add(link, "PROJ-1", "PROJ-2") // opened
	add(move, "PROJ-1", "PROJ-2") // review requested
	add(link, "PROJ-1", "PROJ-2", "PROJ-3")
	add(move, "PROJ-3") // the title names PROJ-3: its link and review; the others' link titles change
	for _, k := range []string{"PROJ-1", "PROJ-2", "PROJ-3"} {
		add(link, k) // resolved
		add(move, k) // Done
		add(comment, k)
	}
	require.Equal(t, want, f.Writes())
	gets := map[string]int{}
	for _, r := range f.Requests() {
		if r.Method == "GET" && r.Query == "fields=status" {
			gets[r.Path]++
		}
	}
	// Each key is checked once; each transition reads the status first.
	require.Equal(t, map[string]int{"/rest/api/2/issue/PROJ-1": 3, "/rest/api/2/issue/PROJ-2": 3, "/rest/api/2/issue/PROJ-3": 3}, gets)
}

// GitHub side: one comment on the pull request listing the linked issues,
// edited in place when the title adds one (never a second comment); keys
// in the pull request's commits count, read once per opened or
// synchronize event.
func TestGitHubCommentAndCommits(t *testing.T) {
	t.Parallel()
	sc := githubScenario()
	ds := append([]blueprinttest.Delivery(nil), sc.events[:3]...) // opened, review requested, edited
	evs, route := routed(t, nil, ds)
	f := fakeJira(t)
	f.AddIssue("PROJ-7", "To Do", nil)
	gh := newGitHub(t, "PROJ-7 retry on 503\n\nsigned-off", "no key here")
	settings := prjira.DefaultSettings()
	settings.BrowseURL = "https://acme.atlassian.net/"
	routes := blueprinttest.Routes(prjira.Blueprint, settings, evs[0])
	require.Len(t, routes, 1)
	route = routes[0]
	e := envWith(t, f, gh)
	for i, ev := range evs {
		e.Send(time.Duration(i+1)*time.Minute, route, ev)
	}
	e.RegisterDelayedCallback(e.CancelWorkflow, time.Hour)
	e.Run()
	require.Equal(t, []string{
		"Jira issues linked by Hookflow: [PROJ-1](https://acme.atlassian.net/browse/PROJ-1), [PROJ-2](https://acme.atlassian.net/browse/PROJ-2), " +
			"[PROJ-3](https://acme.atlassian.net/browse/PROJ-3), [PROJ-7](https://acme.atlassian.net/browse/PROJ-7).\n\n<!-- hookflow:prjira:linked -->",
	}, gh.bodies(), "one comment, edited in place")
	var posts, patches, commitReads int
	for _, r := range gh.requests() {
		switch {
		case strings.HasPrefix(r, "POST "):
			posts++
		case strings.HasPrefix(r, "PATCH "):
			patches++
		case strings.HasSuffix(r, "/commits"):
			commitReads++
		}
	}
	require.Equal(t, 1, posts)
	require.Equal(t, 1, patches, "PROJ-3 added by the title edit")
	require.Equal(t, 1, commitReads, "opened only: review_requested and edited do not change commits")
	require.Len(t, f.Issue("PROJ-7").Links, 1, "the commit's key is linked")
}
