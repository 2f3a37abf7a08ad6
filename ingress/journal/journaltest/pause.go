package journaltest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/journal"
)

// pauser returns j's Pauses, skipping journals without them.
func pauser(t *testing.T, j journal.Journal) journal.Pauses {
	t.Helper()
	p, ok := j.(journal.Pauses)
	if !ok {
		t.Skipf("%T does not implement journal.Pauses", j)
	}
	return p
}

// routeTo is an accepted entry of integration with one route to wf.
func routeTo(integration, id, wf string) journal.Entry {
	e := entry(integration, id, journal.Accepted)
	e.Routes[0].WorkflowID = wf
	return e
}

// pendingOf lists the pending routes as "seq wf", in order.
func pendingOf(t *testing.T, j journal.Journal) []string {
	t.Helper()
	var out []string
	for _, p := range pending(t, j, 1000) {
		out = append(out, fmt.Sprint(p.Event.Seq, " ", p.Route.WorkflowID))
	}
	return out
}

func routeStatus(t *testing.T, j journal.Journal, seq int64) journal.Status {
	t.Helper()
	e, err := j.Get(context.Background(), seq)
	require.NoError(t, err)
	require.Len(t, e.Routes, 1)
	return e.Routes[0].Status
}

// pauseWorkflow: pausing a workflow holds its pending routes and those
// accepted while it is paused (a replay too), nothing else; resuming
// releases them all, in acceptance order.
func pauseWorkflow(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j := open()
	defer j.Close()
	p := pauser(t, j)
	add := func(id, wf string) int64 {
		r, err := j.Append(ctx, routeTo("int_pw", id, wf))
		require.NoError(t, err)
		return r.Seq
	}
	a1, b1, a2 := add("a1", "wf-a"), add("b1", "wf-b"), add("a2", "wf-a")

	held, err := p.Pause(ctx, journal.Pause{Kind: journal.PauseWorkflow, ID: "wf-a", Reason: "investigating"})
	require.NoError(t, err)
	require.Equal(t, 2, held)
	require.Equal(t, []string{fmt.Sprint(b1, " wf-b")}, pendingOf(t, j), "only the other workflow is pending")
	require.Equal(t, journal.Held, routeStatus(t, j, a1))
	e, err := j.Get(ctx, a1)
	require.NoError(t, err)
	require.Equal(t, journal.Accepted, e.Status, "an entry with a held route is still accepted")
	n, err := j.Backlog(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n, "held entries are in the backlog: they still have to be forwarded")

	a3, b2 := add("a3", "wf-a"), add("b2", "wf-b")
	require.Equal(t, journal.Held, routeStatus(t, j, a3), "accepted while paused: held at once")
	require.Equal(t, journal.Accepted, routeStatus(t, j, b2))
	var replayed int64
	if m, ok := j.(journal.Maintenance); ok {
		rep, err := m.Replay(ctx, a1, true)
		require.NoError(t, err)
		require.Equal(t, journal.Held, rep.Routes[0].Status, "a replay to a paused workflow is held")
		replayed = rep.Event.Seq
	}

	again, err := p.Pause(ctx, journal.Pause{Kind: journal.PauseWorkflow, ID: "wf-a", Reason: "second"})
	require.NoError(t, err)
	require.Zero(t, again, "pausing twice holds nothing more")
	list, err := p.Paused(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, journal.PauseWorkflow, list[0].Kind)
	require.Equal(t, "wf-a", list[0].ID)
	require.Equal(t, "investigating", list[0].Reason, "the first pause is kept")
	require.False(t, list[0].PausedAt.IsZero())
	wantHeld := 3
	if replayed != 0 {
		wantHeld = 4
	}
	require.Equal(t, wantHeld, list[0].Held)
	total, err := p.HeldRoutes(ctx)
	require.NoError(t, err)
	require.Equal(t, wantHeld, total)

	released, err := p.Resume(ctx, journal.PauseWorkflow, "wf-a")
	require.NoError(t, err)
	require.Equal(t, wantHeld, released)
	want := []string{fmt.Sprint(a1, " wf-a"), fmt.Sprint(b1, " wf-b"), fmt.Sprint(a2, " wf-a"), fmt.Sprint(a3, " wf-a"), fmt.Sprint(b2, " wf-b")}
	if replayed != 0 {
		want = append(want, fmt.Sprint(replayed, " wf-a"))
	}
	require.Equal(t, want, pendingOf(t, j), "released in acceptance order")
	a4 := add("a4", "wf-a")
	require.Equal(t, journal.Accepted, routeStatus(t, j, a4), "accepted after the resume: pending at once")
	_, err = p.Resume(ctx, journal.PauseWorkflow, "wf-a")
	require.ErrorIs(t, err, journal.ErrNotPaused)
	list, err = p.Paused(ctx)
	require.NoError(t, err)
	require.Empty(t, list)
	total, err = p.HeldRoutes(ctx)
	require.NoError(t, err)
	require.Zero(t, total)
	_, err = p.Pause(ctx, journal.Pause{Kind: "entity", ID: "x"})
	require.Error(t, err)
	_, err = p.Pause(ctx, journal.Pause{Kind: journal.PauseWorkflow})
	require.Error(t, err)
}

// pauseIntegration: an integration's pause holds its deliveries' routes
// to every workflow; two pauses covering one route both have to go before
// it is released.
func pauseIntegration(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j := open()
	defer j.Close()
	p := pauser(t, j)
	add := func(in, id, wf string) int64 {
		r, err := j.Append(ctx, routeTo(in, id, wf))
		require.NoError(t, err)
		return r.Seq
	}
	x1, y1, x2 := add("int_x", "x1", "wf-1"), add("int_y", "y1", "wf-1"), add("int_x", "x2", "wf-2")
	held, err := p.Pause(ctx, journal.Pause{Kind: journal.PauseIntegration, ID: "int_x"})
	require.NoError(t, err)
	require.Equal(t, 2, held)
	require.Equal(t, []string{fmt.Sprint(y1, " wf-1")}, pendingOf(t, j))
	x3 := add("int_x", "x3", "wf-3")
	require.Equal(t, journal.Held, routeStatus(t, j, x3))

	held, err = p.Pause(ctx, journal.Pause{Kind: journal.PauseWorkflow, ID: "wf-2"})
	require.NoError(t, err)
	require.Zero(t, held, "wf-2's only route is held already")
	released, err := p.Resume(ctx, journal.PauseIntegration, "int_x")
	require.NoError(t, err)
	require.Equal(t, 2, released, "x2 stays held: its workflow is paused too")
	require.Equal(t, []string{fmt.Sprint(x1, " wf-1"), fmt.Sprint(y1, " wf-1"), fmt.Sprint(x3, " wf-3")}, pendingOf(t, j))
	require.Equal(t, journal.Held, routeStatus(t, j, x2))
	released, err = p.Resume(ctx, journal.PauseWorkflow, "wf-2")
	require.NoError(t, err)
	require.Equal(t, 1, released)
	require.Len(t, pendingOf(t, j), 4)
}

// pauseRacesAppends: deliveries appended while a pause and a resume
// commit; once Pause returns, nothing of the workflow is pending, and once
// Resume returns, nothing is held, whatever was in flight.
func pauseRacesAppends(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j := open()
	defer j.Close()
	p := pauser(t, j)
	var stop atomic.Bool
	var n atomic.Int64
	var wg sync.WaitGroup
	run := func() {
		stop.Store(false)
		for w := range 4 {
			wg.Go(func() {
				for i := 0; !stop.Load(); i++ {
					_, err := j.Append(ctx, routeTo("int_race", fmt.Sprint("r", n.Add(1), "-", w, "-", i), "wf-race"))
					require.NoError(t, err)
				}
			})
		}
	}
	count := func(st journal.Status) int {
		list, err := j.List(ctx, journal.Filter{Integration: "int_race", Limit: 1 << 20})
		require.NoError(t, err)
		c := 0
		for _, e := range list {
			if e.Routes[0].Status == st {
				c++
			}
		}
		return c
	}
	run()
	require.Eventually(t, func() bool { return n.Load() >= 50 }, time.Minute, time.Millisecond)
	_, err := p.Pause(ctx, journal.Pause{Kind: journal.PauseWorkflow, ID: "wf-race"})
	require.NoError(t, err)
	before := n.Load()
	require.Eventually(t, func() bool { return n.Load() >= before+50 }, time.Minute, time.Millisecond)
	stop.Store(true)
	wg.Wait()
	require.Zero(t, count(journal.Accepted), "no route is pending once the pause has returned")

	run()
	before = n.Load()
	require.Eventually(t, func() bool { return n.Load() >= before+50 }, time.Minute, time.Millisecond)
	_, err = p.Resume(ctx, journal.PauseWorkflow, "wf-race")
	require.NoError(t, err)
	before = n.Load()
	require.Eventually(t, func() bool { return n.Load() >= before+50 }, time.Minute, time.Millisecond)
	stop.Store(true)
	wg.Wait()
	require.Zero(t, count(journal.Held), "no route is held once the resume has returned")
}

// pausedInOneGroup: appends committed together (64 at once, so that the
// group commit takes many per transaction) each get the status their own
// workflow and integration call for, redeliveries among them.
func pausedInOneGroup(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j := open()
	defer j.Close()
	p := pauser(t, j)
	_, err := p.Pause(ctx, journal.Pause{Kind: journal.PauseWorkflow, ID: "wf-paused"})
	require.NoError(t, err)
	_, err = p.Pause(ctx, journal.Pause{Kind: journal.PauseIntegration, ID: "int_paused"})
	require.NoError(t, err)
	kinds := []struct {
		integration, wf string
		want            journal.Status
	}{
		{"int_open", "wf-open", journal.Accepted},
		{"int_open", "wf-paused", journal.Held},
		{"int_paused", "wf-open", journal.Held},
		{"int_paused", "wf-paused", journal.Held},
	}
	const n = 64
	seqs, dups := make([]int64, n), make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k := kinds[i%len(kinds)]
			// Four of the second half redeliver four of the first half
			// (all of the open kind): one of each pair is the duplicate.
			id := fmt.Sprint("g", i)
			if i >= n/2 && i%8 == 0 {
				id = fmt.Sprint("g", i-n/2)
			}
			r, err := j.Append(ctx, routeTo(k.integration, id, k.wf))
			require.NoError(t, err)
			seqs[i], dups[i] = r.Seq, r.Duplicate
		})
	}
	wg.Wait()
	for i, seq := range seqs {
		if dups[i] {
			continue
		}
		require.Equal(t, kinds[i%len(kinds)].want, routeStatus(t, j, seq), "append %d (%+v)", i, kinds[i%len(kinds)])
	}
	require.Equal(t, 4, countTrue(dups))
	require.Len(t, pendingOf(t, j), n/len(kinds)-4, "the open kind's appends, less its duplicates")
}

func countTrue(bs []bool) int {
	c := 0
	for _, b := range bs {
		if b {
			c++
		}
	}
	return c
}
