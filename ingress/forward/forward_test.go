package forward_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/ingress/forward"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/workflows"
)

// fakeTemporal records signals, keeps which workflows completed, and
// fails on demand, as Temporal's frontend answers SignalWithStart.
type fakeTemporal struct {
	mu        sync.Mutex
	signals   map[string][]workflows.Batch // workflow ID -> batches
	policies  map[string][]enumspb.WorkflowIdReusePolicy
	completed map[string]bool
	failFor   func(workflowID string, call int) error
	calls     int
}

func (f *fakeTemporal) SignalWithStartWorkflow(_ context.Context, id, signal string, arg any, opts client.StartWorkflowOptions, wf any, _ ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if signal != workflows.SignalEvents || opts.ID != id || opts.TaskQueue != "q" || wf != "T" ||
		opts.WorkflowIDConflictPolicy != enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING {
		return nil, fmt.Errorf("bad call %s %+v %v", signal, opts, wf)
	}
	if f.failFor != nil {
		if err := f.failFor(id, f.calls); err != nil {
			return nil, err
		}
	}
	if f.completed[id] {
		if opts.WorkflowIDReusePolicy != enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE {
			return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("workflow execution already finished successfully", "", "")
		}
		f.completed[id] = false
	}
	if f.signals == nil {
		f.signals, f.policies = map[string][]workflows.Batch{}, map[string][]enumspb.WorkflowIdReusePolicy{}
	}
	f.signals[id] = append(f.signals[id], arg.(workflows.Batch))
	f.policies[id] = append(f.policies[id], opts.WorkflowIDReusePolicy)
	return nil, nil
}

func (f *fakeTemporal) applied(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, b := range f.signals[id] {
		for _, ev := range b.Events {
			out = append(out, ev.DeliveryID)
		}
	}
	return out
}

func (f *fakeTemporal) batches(id string) []workflows.Batch {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]workflows.Batch(nil), f.signals[id]...)
}

// router takes pull_request events; "opened" and "reopened" may start a
// finished pull request's workflow again.
func router() *workflows.Router {
	return workflows.NewRouter(workflows.Subscription{Blueprint: "t", Workflow: "T", TaskQueue: "q",
		Route: func(ev workflows.Event) string {
			if ev.Type == "pull_request" {
				return "pr/" + ev.Key("pr")
			}
			return ""
		},
		Starts: func(ev workflows.Event) bool { return ev.Action == "opened" || ev.Action == "reopened" },
	})
}

func newJournal(t *testing.T) journal.Journal {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "j.db"))
	require.NoError(t, err)
	j, err := journal.OpenSQLite(context.Background(), db)
	require.NoError(t, err)
	t.Cleanup(func() { j.Close(); db.Close() })
	return j
}

func event(id, typ, action, pr string) workflows.Event {
	return workflows.Event{DeliveryID: id, Integration: "int", Source: "github", Type: typ, Action: action,
		Keys: map[string]string{"pr": pr}, Payload: []byte(`{}`)}
}

// accept journals an event with the routes the ingress would store.
func accept(t *testing.T, j journal.Journal, ev workflows.Event) {
	t.Helper()
	e := journal.Entry{Status: journal.Accepted, Event: ev, Routes: journal.RoutesOf(router().Routes(ev))}
	if len(e.Routes) == 0 {
		e.Status = journal.Ignored
	}
	_, err := j.Append(context.Background(), e)
	require.NoError(t, err)
}

func runForwarder(t *testing.T, j journal.Journal, tc forward.Signaler) {
	f, err := forward.New(forward.Config{Journal: j, Temporal: tc, Router: router(), Idle: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func entries(t *testing.T, j journal.Journal) map[string]journal.Entry {
	list, err := j.List(context.Background(), journal.Filter{Limit: 5000})
	require.NoError(t, err)
	out := map[string]journal.Entry{}
	for _, e := range list {
		out[e.Event.DeliveryID] = e
	}
	return out
}

func statusOf(t *testing.T, j journal.Journal, id string) journal.Status {
	return entries(t, j)[id].Status
}

const wait, tick = 10 * time.Second, 10 * time.Millisecond

func TestOrdersAndBatchesPerWorkflow(t *testing.T) {
	t.Parallel()
	j := newJournal(t)
	for i := range 6 {
		accept(t, j, event(fmt.Sprint("a", i), "pull_request", "edited", "1"))
		accept(t, j, event(fmt.Sprint("b", i), "pull_request", "edited", "2"))
	}
	tc := &fakeTemporal{}
	runForwarder(t, j, tc)
	require.Eventually(t, func() bool { return len(tc.applied("pr/1")) == 6 && len(tc.applied("pr/2")) == 6 }, wait, tick)
	require.Equal(t, []string{"a0", "a1", "a2", "a3", "a4", "a5"}, tc.applied("pr/1"))
	require.Equal(t, []string{"b0", "b1", "b2", "b3", "b4", "b5"}, tc.applied("pr/2"))
	require.Len(t, tc.batches("pr/1"), 1, "pending events of one workflow go in one signal")
	require.Eventually(t, func() bool { return statusOf(t, j, "a5") == journal.Forwarded }, wait, tick)
	e := entries(t, j)["a5"]
	require.Equal(t, []string{"pr/1"}, e.WorkflowIDs)
	require.Equal(t, journal.Forwarded, e.Routes[0].Status)
}

func TestTransientFailureBacksOffThatWorkflowOnlyAndKeepsOrder(t *testing.T) {
	t.Parallel()
	j := newJournal(t)
	for i := range 3 {
		accept(t, j, event(fmt.Sprint("a", i), "pull_request", "edited", "1"))
	}
	var mu sync.Mutex
	isDown := true
	tc := &fakeTemporal{failFor: func(id string, _ int) error {
		mu.Lock()
		defer mu.Unlock()
		if isDown && id == "pr/1" {
			return serviceerror.NewUnavailable("connection refused")
		}
		return nil
	}}
	runForwarder(t, j, tc)
	require.Eventually(t, func() bool { return entries(t, j)["a0"].Attempts >= 2 }, wait, tick, "routes stay accepted and count attempts")
	accept(t, j, event("other", "pull_request", "edited", "2"))
	require.Eventually(t, func() bool { return statusOf(t, j, "other") == journal.Forwarded }, wait, tick, "other workflows keep flowing")
	accept(t, j, event("a3", "pull_request", "edited", "1"))
	e := entries(t, j)["a0"]
	require.Equal(t, journal.Accepted, e.Status)
	require.Contains(t, e.Reason, "retrying: signal pr/1:")
	mu.Lock()
	isDown = false
	mu.Unlock()
	require.Eventually(t, func() bool { return len(tc.applied("pr/1")) == 4 }, wait, tick)
	require.Equal(t, []string{"a0", "a1", "a2", "a3"}, tc.applied("pr/1"), "in acceptance order")
	require.Eventually(t, func() bool { return statusOf(t, j, "a3") == journal.Forwarded }, wait, tick)
}

func TestPermanentRefusalFailsThatEventOnly(t *testing.T) {
	t.Parallel()
	j := newJournal(t)
	accept(t, j, event("before", "pull_request", "edited", "1"))
	accept(t, j, event("bad", "pull_request", "edited", "1"))
	accept(t, j, event("after", "pull_request", "edited", "1"))
	accept(t, j, event("good", "pull_request", "edited", "2"))
	tc := &fakeTemporal{}
	refusing := &refuseDelivery{fakeTemporal: tc, id: "bad"}
	runForwarder(t, j, refusing)
	require.Eventually(t, func() bool {
		return statusOf(t, j, "bad") == journal.Failed && statusOf(t, j, "after") == journal.Forwarded && statusOf(t, j, "good") == journal.Forwarded
	}, wait, tick)
	require.Equal(t, []string{"before", "after"}, tc.applied("pr/1"), "the refused event is found and failed alone")
	require.Contains(t, entries(t, j)["bad"].Reason, "Blob data size exceeds limit")
}

// refuseDelivery refuses, as Temporal refuses an oversized blob, every
// batch that holds one delivery ID.
type refuseDelivery struct {
	*fakeTemporal
	id string
}

func (r *refuseDelivery) SignalWithStartWorkflow(ctx context.Context, id, signal string, arg any, opts client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	for _, ev := range arg.(workflows.Batch).Events {
		if ev.DeliveryID == r.id {
			return nil, serviceerror.NewInvalidArgument("Blob data size exceeds limit.")
		}
	}
	return r.fakeTemporal.SignalWithStartWorkflow(ctx, id, signal, arg, opts, wf, args...)
}

// TestPoisonRoutesDoNotHoldBackOthers: 1,000 routes Temporal refuses and
// 100 workflows it never answers for, mixed with normal traffic; every
// normal route is forwarded while they are present.
func TestPoisonRoutesDoNotHoldBackOthers(t *testing.T) {
	t.Parallel()
	j := newJournal(t)
	tc := &fakeTemporal{failFor: func(id string, _ int) error {
		switch {
		case strings.HasPrefix(id, "pr/poison"):
			return serviceerror.NewInvalidArgument("Blob data size exceeds limit.")
		case strings.HasPrefix(id, "pr/down"):
			return serviceerror.NewUnavailable("shard unavailable")
		}
		return nil
	}}
	var normal []string
	for i := range 1000 {
		accept(t, j, event(fmt.Sprint("poison-", i), "pull_request", "edited", fmt.Sprint("poison", i)))
		if i%10 == 0 {
			accept(t, j, event(fmt.Sprint("down-", i), "pull_request", "edited", fmt.Sprint("down", i)))
			id := fmt.Sprint("normal-", i)
			accept(t, j, event(id, "pull_request", "edited", fmt.Sprint("n", i)))
			normal = append(normal, id)
		}
	}
	runForwarder(t, j, tc)
	require.Eventually(t, func() bool {
		es := entries(t, j)
		for _, id := range normal {
			if es[id].Status != journal.Forwarded {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "every normal route is forwarded")
	es := entries(t, j)
	require.Equal(t, journal.Accepted, es["down-0"].Status, "the unavailable workflows keep retrying")
	require.Eventually(t, func() bool { return statusOf(t, j, "poison-999") == journal.Failed }, 30*time.Second, 50*time.Millisecond)
}

func TestFinishedEntity(t *testing.T) {
	t.Parallel()
	j := newJournal(t)
	tc := &fakeTemporal{completed: map[string]bool{"pr/7": true, "pr/8": true}}
	accept(t, j, event("late-edit", "pull_request", "edited", "7"))
	accept(t, j, event("late-comment", "pull_request", "labeled", "7"))
	accept(t, j, event("reopen", "pull_request", "reopened", "8"))
	accept(t, j, event("after-reopen", "pull_request", "edited", "8"))
	runForwarder(t, j, tc)
	require.Eventually(t, func() bool {
		return statusOf(t, j, "late-comment") == journal.Ignored && statusOf(t, j, "after-reopen") == journal.Forwarded
	}, wait, tick)
	e := entries(t, j)["late-edit"]
	require.Equal(t, journal.Ignored, e.Status)
	require.Contains(t, e.Routes[0].Reason, "entity finished")
	require.Empty(t, tc.applied("pr/7"), "an event that may not start a finished entity is not applied")
	require.Equal(t, []string{"reopen", "after-reopen"}, tc.applied("pr/8"), "a reopened pull request starts a new run")
	require.Equal(t, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, tc.policies["pr/8"][0])

	// A late event whose entity is running (or failed) is signalled with
	// the policy that restarts only an unfinished run.
	accept(t, j, event("edit-9", "pull_request", "edited", "9"))
	require.Eventually(t, func() bool { return statusOf(t, j, "edit-9") == journal.Forwarded }, wait, tick)
	require.Equal(t, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY, tc.policies["pr/9"][0])
}

func TestLargePayloadTravelsByReference(t *testing.T) {
	t.Parallel()
	j := newJournal(t)
	big := event("big", "pull_request", "edited", "1")
	big.Payload = []byte(`{"pad":"` + strings.Repeat("x", 3<<20) + `"}`)
	accept(t, j, big)
	accept(t, j, event("small", "pull_request", "edited", "1"))
	tc := &fakeTemporal{}
	runForwarder(t, j, tc)
	require.Eventually(t, func() bool { return len(tc.applied("pr/1")) == 2 }, wait, tick)
	var got []workflows.Event
	for _, b := range tc.batches("pr/1") {
		got = append(got, b.Events...)
	}
	require.Empty(t, got[0].Payload, "a 3 MiB payload never travels in a signal")
	require.Equal(t, len(big.Payload), got[0].PayloadSize)
	seq, err := journal.ParsePayloadRef(got[0].PayloadRef)
	require.NoError(t, err)
	stored, err := j.Payload(context.Background(), seq)
	require.NoError(t, err)
	require.Equal(t, []byte(big.Payload), stored)
	require.JSONEq(t, `{}`, string(got[1].Payload))
}

func TestRoutesEntriesOfAnOlderJournalOnce(t *testing.T) {
	t.Parallel()
	j := newJournal(t)
	for _, ev := range []workflows.Event{event("old-1", "pull_request", "edited", "1"), event("old-push", "push", "", "")} {
		_, err := j.Append(context.Background(), journal.Entry{Status: journal.Accepted, Event: ev})
		require.NoError(t, err)
	}
	tc := &fakeTemporal{}
	runForwarder(t, j, tc)
	require.Eventually(t, func() bool { return statusOf(t, j, "old-1") == journal.Forwarded }, wait, tick)
	require.Equal(t, journal.Ignored, statusOf(t, j, "old-push"))
	require.Equal(t, []string{"old-1"}, tc.applied("pr/1"))
}

func TestUnknownBlueprintFailsItsRoutes(t *testing.T) {
	t.Parallel()
	j := newJournal(t)
	_, err := j.Append(context.Background(), journal.Entry{Status: journal.Accepted, Event: event("gone", "pull_request", "edited", "1"),
		Routes: []journal.Route{{Blueprint: "removed", Workflow: "R", WorkflowID: "removed/1"}}})
	require.NoError(t, err)
	runForwarder(t, j, &fakeTemporal{})
	require.Eventually(t, func() bool { return statusOf(t, j, "gone") == journal.Failed }, wait, tick)
	require.Contains(t, entries(t, j)["gone"].Reason, `blueprint "removed"`)
}

// ledJournal lets the test grant and take away forwarding leadership.
type ledJournal struct {
	journal.Journal
	grant chan chan struct{} // each grant carries the lost channel
}

func (l *ledJournal) Lead(ctx context.Context) (<-chan struct{}, func(), error) {
	select {
	case lost := <-l.grant:
		return lost, func() {}, nil
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

func TestForwardsOnlyWhileLeading(t *testing.T) {
	t.Parallel()
	j := &ledJournal{Journal: newJournal(t), grant: make(chan chan struct{})}
	tc := &fakeTemporal{}
	accept(t, j, event("a0", "pull_request", "edited", "1"))
	runForwarder(t, j, tc)
	time.Sleep(100 * time.Millisecond)
	require.Empty(t, tc.applied("pr/1"), "not leading: nothing forwarded")

	lost := make(chan struct{})
	j.grant <- lost
	require.Eventually(t, func() bool { return len(tc.applied("pr/1")) == 1 }, wait, tick)
	close(lost)
	time.Sleep(100 * time.Millisecond)
	accept(t, j, event("a1", "pull_request", "edited", "1"))
	time.Sleep(100 * time.Millisecond)
	require.Len(t, tc.applied("pr/1"), 1, "leadership lost: nothing more forwarded")

	j.grant <- make(chan struct{})
	require.Eventually(t, func() bool { return len(tc.applied("pr/1")) == 2 }, wait, tick)
	require.Equal(t, []string{"a0", "a1"}, tc.applied("pr/1"))
}
