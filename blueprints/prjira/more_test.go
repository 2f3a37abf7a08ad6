package prjira_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/blueprints/blueprinttest"
	"github.com/hookflow/hookflow/blueprints/prjira"
	"github.com/hookflow/hookflow/workflows"
)

// A redelivered event is dropped by the entity loop; a duplicate with a
// new delivery ID (a recover run, a resend) changes no fact: either way
// Jira receives nothing more.
func TestDuplicateDeliveries(t *testing.T) {
	t.Parallel()
	sc := githubScenario()
	evs, route := routed(t, nil, sc.events)
	f := fakeJira(t)
	_, once := run(t, f, route, evs, time.Minute)
	want := f.Writes()

	resent := evs[1]
	resent.DeliveryID = "gh-2-resent"
	dup := []workflows.Event{evs[0], evs[0], evs[1], evs[1], resent, evs[2], evs[3], evs[3]}
	g := fakeJira(t)
	e, out := run(t, g, route, dup, time.Minute)
	require.NoError(t, e.GetWorkflowError())
	require.Equal(t, want, g.Writes())
	require.Equal(t, stateOf(f, sc.keys...), stateOf(g, sc.keys...))
	require.Equal(t, once.Applied+1, out.Applied, "the resend has its own delivery ID")
	require.Equal(t, 2, out.Dropped, "the second merged delivery comes after the workflow completed: ignored, as the router records it")
}

// Property: any permutation and duplication of one pull request's events
// leaves Jira in the same state. Delivered as one burst (within settle)
// Jira also receives exactly the same calls; spread over hours, the calls
// differ (the issue may pass through In Review) but the end state does
// not.
func TestPermutationsConverge(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			evs, route := routed(t, nil, sc.events)
			ref := fakeJira(t)
			run(t, ref, route, evs, time.Second) // in order, one burst
			wantWrites, wantState := ref.Writes(), stateOf(ref, sc.keys...)
			rng := rand.New(rand.NewPCG(13, uint64(len(sc.name))))
			for i := range 25 {
				var mixed []workflows.Event
				for _, ev := range evs {
					for range 1 + rng.IntN(3) {
						mixed = append(mixed, ev)
					}
				}
				rng.Shuffle(len(mixed), func(a, b int) { mixed[a], mixed[b] = mixed[b], mixed[a] })
				burst := fakeJira(t)
				e, _ := run(t, burst, route, mixed, time.Second)
				require.NoError(t, e.GetWorkflowError(), "case %d", i)
				require.Equal(t, wantWrites, burst.Writes(), "case %d: a burst in any order: the same calls", i)
				require.Equal(t, wantState, stateOf(burst, sc.keys...), "case %d", i)

				spread := fakeJira(t)
				run(t, spread, route, mixed, time.Hour)
				got := stateOf(spread, sc.keys...)
				require.Equal(t, wantState, got, "case %d: spread over hours: the same end state", i)
				for _, k := range sc.keys {
					require.LessOrEqual(t, len(spread.Issue(k).Comments), 1, "never a second comment")
				}
			}
		})
	}
}

// Jira answers 503 (with Retry-After) for an hour of workflow time, then
// comes back: nothing is lost and nothing is written twice.
func TestJiraDownForAnHour(t *testing.T) {
	t.Parallel()
	sc := githubScenario()
	evs, route := routed(t, nil, sc.events)
	ref := fakeJira(t)
	run(t, ref, route, evs, time.Minute)

	f := fakeJira(t)
	f.SetDown(&blueprinttest.Response{Status: http.StatusServiceUnavailable, Header: map[string]string{"Retry-After": "120"}, Body: "<html>503</html>"})
	e := env(t, f)
	for i, ev := range evs {
		e.Send(time.Duration(i+1)*time.Minute, route, ev)
	}
	e.RegisterDelayedCallback(func() { f.SetDown(nil) }, time.Hour)
	e.RegisterDelayedCallback(e.CancelWorkflow, 24*time.Hour)
	e.Run()
	require.True(t, e.IsWorkflowCompleted())
	require.NoError(t, e.GetWorkflowError())
	var out prjira.Output
	require.NoError(t, e.GetWorkflowResult(&out))
	require.Empty(t, out.Outcomes)
	require.Equal(t, stateOf(ref, sc.keys...), stateOf(f, sc.keys...))
	failed := 0
	var writes []string
	for _, r := range f.Requests() {
		if r.Method == http.MethodGet {
			continue
		}
		writes = append(writes, r.Method+" "+r.Path)
	}
	for _, r := range f.Requests() {
		if r.Method == http.MethodGet && r.Path == "/rest/api/2/issue/PROJ-1" {
			failed++
		}
	}
	require.Greater(t, failed, 10, "retried through the hour")
	// The outage came before the first write: the writes are those of a
	// run that never saw it, once each (and after the outage the facts
	// had settled: the burst of four events costs one round).
	require.Subset(t, ref.Writes(), writes)
	for _, k := range sc.keys {
		require.Len(t, f.Issue(k).Comments, 1)
	}
}

// An issue whose workflow has no way to In Review: recorded once as a
// missing transition, not retried, and the issue still reaches Done.
func TestMissingTransition(t *testing.T) {
	t.Parallel()
	sc := githubScenario()
	evs, route := routed(t, nil, sc.events)
	f := fakeJira(t)
	f.AddIssue("PROJ-1", "To Do", []blueprinttest.FakeTransition{{ID: "21", Name: "Start progress", To: "In Progress"}, {ID: "41", Name: "Resolve", To: "Done"}})
	e, out := run(t, f, route, evs, time.Minute)
	require.NoError(t, e.GetWorkflowError())
	require.Len(t, out.Outcomes, 1)
	o := out.Outcomes[0]
	require.Equal(t, "PROJ-1", o.Key)
	require.Equal(t, "missing transition", o.Result)
	require.Contains(t, o.Error, `no transition to status "In Review"`)
	require.Equal(t, []string{"Done"}, f.Issue("PROJ-1").Moves)
	transitionReads := 0
	for _, r := range f.Requests() {
		if r.Path == "/rest/api/2/issue/PROJ-1/transitions" && r.Method == http.MethodGet {
			transitionReads++
		}
	}
	require.Equal(t, 2, transitionReads, "one for In Review (missing, not retried), one for Done")
}

// A key Jira does not know (or the credential may not see) is asked about
// once and never linked; keys of projects not configured are not asked
// about at all.
func TestUnknownKeyAndOtherProjects(t *testing.T) {
	t.Parallel()
	ds := githubScenario().events
	ds[0] = delivery("github", "pull_request.opened.http", "gh-1", nil, edit{
		"pull_request.title": "PROJ-1 NOPE-9 OTHER-4 Update", "pull_request.head.ref": "feature/PROJ-2-readme", "pull_request.updated_at": at(1)})
	settings := prjira.DefaultSettings()
	settings.Projects = []string{"PROJ", "NOPE"}
	evs, route := routed(t, settings, ds)
	f := fakeJira(t)
	f.AddIssue("OTHER-4", "To Do", nil)
	e, out := run(t, f, route, evs, time.Minute)
	require.NoError(t, e.GetWorkflowError())
	require.Equal(t, []string{"PROJ-1", "PROJ-2", "PROJ-3"}, out.Linked)
	require.Len(t, out.Outcomes, 1)
	require.Equal(t, prjira.Outcome{Key: "NOPE-9", Step: "check", Result: "unknown key", Error: out.Outcomes[0].Error}, out.Outcomes[0])
	asked := map[string]int{}
	for _, r := range f.Requests() {
		asked[r.Path]++
	}
	require.Equal(t, 1, asked["/rest/api/2/issue/NOPE-9"])
	require.Zero(t, asked["/rest/api/2/issue/OTHER-4"])
	require.Empty(t, f.Issue("OTHER-4").Links)
}

// A title edit that drops a key removes that issue's link.
func TestTitleEditRemovingAKey(t *testing.T) {
	t.Parallel()
	ds := githubScenario().events[:1]
	ds = append(ds, delivery("github", "pull_request.opened.http", "gh-9", nil, edit{"action": "edited",
		"pull_request.title": "Update the README", "pull_request.head.ref": "feature/PROJ-2-readme", "pull_request.updated_at": at(5)}))
	evs, route := routed(t, nil, ds)
	f := fakeJira(t)
	run(t, f, route, evs, time.Minute)
	require.Empty(t, f.Issue("PROJ-1").Links)
	require.Len(t, f.Issue("PROJ-2").Links, 1)
	require.Contains(t, f.Writes(), "DELETE /rest/api/2/issue/PROJ-1/remotelink")
}

// Closed without merging: the workflow finishes (comment only, by
// default). Reopened: a new workflow starts for the same pull request and
// brings the link back to unresolved, with no second comment; a late
// edit is not one that may restart it.
func TestReopenedAfterFinish(t *testing.T) {
	t.Parallel()
	const file = "pull_request.opened.http"
	pr := func(id, action, state string, minute int) blueprinttest.Delivery {
		return delivery("github", file, id, nil, edit{"action": action, "pull_request.state": state, "pull_request.title": "PROJ-1 Update",
			"pull_request.head.ref": "changes", "pull_request.updated_at": at(minute)})
	}
	evs, route := routed(t, nil, []blueprinttest.Delivery{pr("o", "opened", "open", 1), pr("c", "closed", "closed", 2), pr("r", "reopened", "open", 3), pr("e", "edited", "open", 4)})
	require.False(t, route.Subscription.MayStart(evs[3]))
	require.True(t, route.Subscription.MayStart(evs[2]))
	f := fakeJira(t)
	e, _ := run(t, f, route, evs[:2], time.Minute)
	require.NoError(t, e.GetWorkflowError(), "closed: the workflow completed")
	is := f.Issue("PROJ-1")
	require.Equal(t, "To Do", is.Status, "closed_status is empty by default")
	require.Len(t, is.Comments, 1)
	require.Contains(t, is.Comments[0].Body, "closed without merging")
	require.Contains(t, string(is.Links["hookflow-prjira:github:github.com/Codertocat/Hello-World/2"]), `"resolved":true`)

	e, _ = run(t, f, route, evs[2:3], time.Minute)
	require.Error(t, e.GetWorkflowError(), "open again: runs until cancelled")
	is = f.Issue("PROJ-1")
	require.NotContains(t, string(is.Links["hookflow-prjira:github:github.com/Codertocat/Hello-World/2"]), `"resolved":true`)
	require.Len(t, is.Comments, 1)
}

// A long-lived pull request (1,200 synchronize events) continues as new
// after EventsPerRun, carrying what Jira holds: the next run writes
// nothing that was written already.
func TestContinueAsNewCarriesJiraState(t *testing.T) {
	t.Parallel()
	first := githubScenario().events[0]
	evs, route := routed(t, nil, []blueprinttest.Delivery{first})
	f := fakeJira(t)
	e := env(t, f)
	e.Send(time.Second, route, evs[0])
	batches := make([][]workflows.Event, 12)
	for i := range batches {
		for j := range 100 {
			ev := evs[0]
			ev.Action, ev.DeliveryID = "synchronize", fmt.Sprintf("sync-%d-%d", i, j)
			batches[i] = append(batches[i], ev)
		}
	}
	for i, b := range batches[:10] {
		e.Send(time.Duration(i+2)*time.Minute, route, b...)
	}
	e.Run()
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(e.GetWorkflowError(), &can), "continued as new after EventsPerRun")
	var next prjira.Input
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.Equal(t, 1001, next.State.Applied+len(next.State.Pending), "every event applied or carried")
	require.Equal(t, []string{"PROJ-1", "PROJ-2"}, next.Jira.Facts.Wanted(nil))
	require.Len(t, next.Jira.Links, 2)
	before := f.Writes()
	require.Len(t, before, 2, "two links, once")

	// The next run gets the rest, then the merge.
	e2 := env(t, f)
	for i, b := range batches[10:] {
		e2.Send(time.Duration(i+1)*time.Minute, route, b...)
	}
	e2.Send(time.Hour, route, evs[0]) // a redelivery from the first run: dropped by the carried seen set
	e2.RegisterDelayedCallback(e2.CancelWorkflow, 2*time.Hour)
	e2.ExecuteWorkflow(prjira.WorkflowName, next)
	require.True(t, e2.IsWorkflowCompleted())
	require.Equal(t, before, f.Writes(), "the next run applies the rest and writes nothing again")
}
