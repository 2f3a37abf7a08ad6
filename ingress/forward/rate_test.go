package forward_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/ingress/forward"
	"github.com/hookflow/hookflow/ingress/journal"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// clockedTemporal records when (by the fake clock) each signal came.
type clockedTemporal struct {
	fakeTemporal
	clock *fakeClock
	mu    sync.Mutex
	at    map[string][]time.Time
}

func (c *clockedTemporal) SignalWithStartWorkflow(ctx context.Context, id, signal string, arg any, opts client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	c.mu.Lock()
	if c.at == nil {
		c.at = map[string][]time.Time{}
	}
	c.at[id] = append(c.at[id], c.clock.Now())
	c.mu.Unlock()
	return c.fakeTemporal.SignalWithStartWorkflow(ctx, id, signal, arg, opts, wf, args...)
}

func (c *clockedTemporal) times(id string) []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.at[id]...)
}

// TestSignalRateCoalescesAHotEntity: 100 events per second for one pull
// request for 10 s (by a fake clock, one round every 50 ms) reach its
// workflow complete and in order with at most 5 signals in any second;
// an event for a quiet pull request goes out in the first round after it
// was accepted.
func TestSignalRateCoalescesAHotEntity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j := newJournal(t)
	clock := &fakeClock{now: time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)}
	tc := &clockedTemporal{clock: clock}
	f, err := forward.New(forward.Config{Journal: j, Temporal: tc, Router: router(), Now: clock.Now})
	require.NoError(t, err)

	const seconds, perSecond, step = 10, 100, 50 * time.Millisecond
	perStep := perSecond * int(step) / int(time.Second)
	var want []string
	for s := range seconds * int(time.Second/step) {
		ids := make([]string, perStep)
		for k := range perStep {
			ids[k] = fmt.Sprint("hot-", s*perStep+k)
		}
		for _, id := range ids {
			accept(t, j, event(id, "pull_request", "synchronize", "1"))
		}
		want = append(want, ids...)
		if s == 77 {
			accept(t, j, event("quiet", "pull_request", "edited", "2"))
			_, err := f.Round(ctx)
			require.NoError(t, err)
			require.Equal(t, []string{"quiet"}, tc.applied("pr/2"), "a quiet entity's event goes out at once")
		}
		_, err := f.Round(ctx)
		require.NoError(t, err)
		clock.add(step)
	}
	for range 10 { // the tail: rounds until the last events are out
		_, err := f.Round(ctx)
		require.NoError(t, err)
		clock.add(step)
	}
	require.Equal(t, want, tc.applied("pr/1"), "every event, once, in acceptance order")
	at := tc.times("pr/1")
	for i := range at {
		n := 0
		for k := i; k < len(at) && at[k].Sub(at[i]) < time.Second; k++ {
			n++
		}
		require.LessOrEqual(t, n, forward.DefaultSignalRate, "signals in the second from %v", at[i])
	}
	require.GreaterOrEqual(t, len(at), seconds*forward.DefaultSignalRate-1, "the cap, not fewer signals: the events keep flowing")
	t.Logf("%d events in %d signals (%.1f per signal)", len(want), len(at), float64(len(want))/float64(len(at)))
	n, err := j.Backlog(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}

// TestSignalRateCanBeLifted: a negative SignalRate sends every round.
func TestSignalRateCanBeLifted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j := newJournal(t)
	clock := &fakeClock{now: time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)}
	tc := &clockedTemporal{clock: clock}
	f, err := forward.New(forward.Config{Journal: j, Temporal: tc, Router: router(), Now: clock.Now, SignalRate: -1})
	require.NoError(t, err)
	for i := range 10 {
		accept(t, j, event(fmt.Sprint("e", i), "pull_request", "edited", "1"))
		_, err := f.Round(ctx)
		require.NoError(t, err)
	}
	require.Len(t, tc.times("pr/1"), 10)
}

// partitionedJournal leases a fixed set of partitions.
type partitionedJournal struct {
	journal.Journal
	grant chan *fixedLease
}

type fixedLease struct {
	parts []int
	lost  chan struct{}
	once  sync.Once
}

func (l *fixedLease) Partitions() []int     { return l.parts }
func (l *fixedLease) Lost() <-chan struct{} { return l.lost }
func (l *fixedLease) Release()              { l.once.Do(func() { close(l.lost) }) }

func (p *partitionedJournal) LeasePartitions(ctx context.Context) (journal.PartitionLease, error) {
	select {
	case l := <-p.grant:
		return l, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TestForwardsOnlyLeasedPartitions: with a partition lease, only the
// routes of the leased partitions are signalled; a lost lease stops it.
func TestForwardsOnlyLeasedPartitions(t *testing.T) {
	t.Parallel()
	j := &partitionedJournal{Journal: newJournal(t), grant: make(chan *fixedLease)}
	prIn, prOut := "", ""
	for i := 0; prIn == "" || prOut == ""; i++ {
		if journal.PartitionOf(fmt.Sprint("pr/", i)) == 3 {
			prIn = fmt.Sprint(i)
		} else if prOut == "" {
			prOut = fmt.Sprint(i)
		}
	}
	accept(t, j, event("in-0", "pull_request", "edited", prIn))
	accept(t, j, event("out-0", "pull_request", "edited", prOut))
	tc := &fakeTemporal{}
	runForwarder(t, j, tc)
	lease := &fixedLease{parts: []int{3}, lost: make(chan struct{})}
	j.grant <- lease
	require.Eventually(t, func() bool { return len(tc.applied("pr/"+prIn)) == 1 }, wait, tick)
	time.Sleep(100 * time.Millisecond)
	require.Empty(t, tc.applied("pr/"+prOut), "a partition another replica leases is not forwarded here")

	lease.Release()
	time.Sleep(100 * time.Millisecond)
	accept(t, j, event("in-1", "pull_request", "edited", prIn))
	time.Sleep(100 * time.Millisecond)
	require.Len(t, tc.applied("pr/"+prIn), 1, "lease lost: nothing more forwarded")

	j.grant <- &fixedLease{parts: []int{3, journal.PartitionOf("pr/" + prOut)}, lost: make(chan struct{})}
	require.Eventually(t, func() bool { return len(tc.applied("pr/"+prIn)) == 2 && len(tc.applied("pr/"+prOut)) == 1 }, wait, tick)
	require.Equal(t, []string{"in-0", "in-1"}, tc.applied("pr/"+prIn))
}
