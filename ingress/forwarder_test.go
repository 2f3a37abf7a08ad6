package ingress_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/ingress"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/workflows"
)

// fakeTemporal records signals and fails on demand.
type fakeTemporal struct {
	mu      sync.Mutex
	signals map[string][][]string // workflow ID -> batches of delivery IDs
	failFor func(workflowID string, call int) error
	calls   int
}

func (f *fakeTemporal) SignalWithStartWorkflow(_ context.Context, id, signal string, arg any, opts client.StartWorkflowOptions, wf any, _ ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if signal != workflows.SignalEvents || opts.ID != id || opts.TaskQueue != "q" || wf != "T" {
		return nil, fmt.Errorf("bad call %s %+v %v", signal, opts, wf)
	}
	if f.failFor != nil {
		if err := f.failFor(id, f.calls); err != nil {
			return nil, err
		}
	}
	var ids []string
	for _, ev := range arg.(workflows.Batch).Events {
		ids = append(ids, ev.DeliveryID)
	}
	if f.signals == nil {
		f.signals = map[string][][]string{}
	}
	f.signals[id] = append(f.signals[id], ids)
	return nil, nil
}

func (f *fakeTemporal) applied(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, b := range f.signals[id] {
		out = append(out, b...)
	}
	return out
}

func newJournal(t *testing.T) journal.Journal {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "j.db"))
	require.NoError(t, err)
	j, err := journal.OpenSQLite(context.Background(), db)
	require.NoError(t, err)
	t.Cleanup(func() { j.Close(); db.Close() })
	return j
}

func accept(t *testing.T, j journal.Journal, id, typ, pr string) {
	_, err := j.Append(context.Background(), journal.Entry{Status: journal.Accepted, Event: workflows.Event{
		DeliveryID: id, Integration: "int", Source: "github", Type: typ, Keys: map[string]string{workflows.KeyPullRequest: pr}, Payload: []byte(`{}`)}})
	require.NoError(t, err)
}

func runForwarder(t *testing.T, j journal.Journal, tc ingress.Signaler) {
	f, err := ingress.NewForwarder(ingress.ForwarderConfig{Journal: j, Temporal: tc, Router: prRouter(), Idle: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, Metrics: ingress.NewMetrics()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func statuses(t *testing.T, j journal.Journal) map[string]journal.Status {
	list, err := j.List(context.Background(), journal.Filter{Limit: 1000})
	require.NoError(t, err)
	out := map[string]journal.Status{}
	for _, e := range list {
		out[e.Event.DeliveryID] = e.Status
	}
	return out
}

func TestForwarderOrdersAndBatchesPerWorkflow(t *testing.T) {
	t.Parallel()
	j := newJournal(t)
	for i := range 6 {
		accept(t, j, fmt.Sprint("a", i), "pull_request", "1")
		accept(t, j, fmt.Sprint("b", i), "pull_request", "2")
	}
	accept(t, j, "push", "push", "")
	tc := &fakeTemporal{}
	runForwarder(t, j, tc)
	require.Eventually(t, func() bool { return len(tc.applied("pr/1")) == 6 && len(tc.applied("pr/2")) == 6 }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, []string{"a0", "a1", "a2", "a3", "a4", "a5"}, tc.applied("pr/1"))
	require.Equal(t, []string{"b0", "b1", "b2", "b3", "b4", "b5"}, tc.applied("pr/2"))
	require.Len(t, tc.signals["pr/1"], 1, "pending events of one workflow go in one signal")
	require.Eventually(t, func() bool {
		st := statuses(t, j)
		return st["a5"] == journal.Forwarded && st["push"] == journal.Ignored
	}, 5*time.Second, 10*time.Millisecond)
	e, err := j.List(context.Background(), journal.Filter{Status: journal.Forwarded, Limit: 1})
	require.NoError(t, err)
	require.Len(t, e[0].WorkflowIDs, 1)
}

func TestForwarderRetriesWhileTemporalIsDownWithoutReordering(t *testing.T) {
	t.Parallel()
	j := newJournal(t)
	for i := range 3 {
		accept(t, j, fmt.Sprint("a", i), "pull_request", "1")
	}
	isDown := true
	tc := &fakeTemporal{failFor: func(string, int) error {
		if isDown {
			return serviceerror.NewUnavailable("connection refused")
		}
		return nil
	}}
	runForwarder(t, j, tc)
	require.Eventually(t, func() bool {
		p, _ := j.Pending(context.Background(), 10)
		return len(p) == 3 && p[0].Attempts >= 2
	}, 5*time.Second, 10*time.Millisecond, "entries stay accepted and count attempts")
	accept(t, j, "a3", "pull_request", "1")
	tc.mu.Lock()
	isDown = false
	tc.mu.Unlock()
	require.Eventually(t, func() bool { return len(tc.applied("pr/1")) == 4 }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, []string{"a0", "a1", "a2", "a3"}, tc.applied("pr/1"))
	require.Eventually(t, func() bool { return statuses(t, j)["a3"] == journal.Forwarded }, 5*time.Second, 10*time.Millisecond)
}

func TestForwarderMarksPermanentFailures(t *testing.T) {
	t.Parallel()
	j := newJournal(t)
	accept(t, j, "bad", "pull_request", "1")
	accept(t, j, "good", "pull_request", "2")
	tc := &fakeTemporal{failFor: func(id string, _ int) error {
		if id == "pr/1" {
			return serviceerror.NewInvalidArgument("blob size exceeds limit")
		}
		return nil
	}}
	runForwarder(t, j, tc)
	require.Eventually(t, func() bool {
		st := statuses(t, j)
		return st["bad"] == journal.Failed && st["good"] == journal.Forwarded
	}, 5*time.Second, 10*time.Millisecond)
	failed, err := j.List(context.Background(), journal.Filter{Status: journal.Failed})
	require.NoError(t, err)
	require.Contains(t, failed[0].Reason, "blob size exceeds limit")
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

func TestForwarderForwardsOnlyWhileLeading(t *testing.T) {
	t.Parallel()
	j := &ledJournal{Journal: newJournal(t), grant: make(chan chan struct{})}
	tc := &fakeTemporal{}
	accept(t, j, "a0", "pull_request", "1")
	runForwarder(t, j, tc)
	time.Sleep(100 * time.Millisecond)
	require.Empty(t, tc.applied("pr/1"), "not leading: nothing forwarded")

	lost := make(chan struct{})
	j.grant <- lost
	require.Eventually(t, func() bool { return len(tc.applied("pr/1")) == 1 }, 5*time.Second, 10*time.Millisecond)
	close(lost)
	time.Sleep(100 * time.Millisecond)
	accept(t, j, "a1", "pull_request", "1")
	time.Sleep(100 * time.Millisecond)
	require.Len(t, tc.applied("pr/1"), 1, "leadership lost: nothing more forwarded")

	j.grant <- make(chan struct{})
	require.Eventually(t, func() bool { return len(tc.applied("pr/1")) == 2 }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, []string{"a0", "a1"}, tc.applied("pr/1"))
}
