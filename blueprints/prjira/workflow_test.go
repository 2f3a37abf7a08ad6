package prjira_test

import (
	"encoding/json"
	"fmt"
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
