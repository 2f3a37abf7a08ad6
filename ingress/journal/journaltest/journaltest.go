// Package journaltest is the conformance suite every journal.Journal
// implementation must pass.
package journaltest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/workflows"
)

// Opener opens the journal under test. Calling open twice in one test
// must open the same underlying store, also while the first journal is
// still open (the suite checks restarts and two processes sharing a
// store); cleanup is the opener's job.
type Opener func(t *testing.T) (open func() journal.Journal)

// Run runs the suite.
func Run(t *testing.T, newStore Opener) {
	t.Run("AppendPendingMark", func(t *testing.T) { t.Parallel(); appendPendingMark(t, newStore(t)) })
	t.Run("Duplicates", func(t *testing.T) { t.Parallel(); duplicates(t, newStore(t)) })
	t.Run("ConcurrentAppendsKeepOrderAndCount", func(t *testing.T) { t.Parallel(); concurrent(t, newStore(t)) })
	t.Run("Restart", func(t *testing.T) { t.Parallel(); restart(t, newStore(t)) })
	t.Run("ListFilters", func(t *testing.T) { t.Parallel(); listFilters(t, newStore(t)) })
	t.Run("RoundTrip", func(t *testing.T) { t.Parallel(); roundTrip(t, newStore(t)) })
	t.Run("DedupRules", func(t *testing.T) { t.Parallel(); dedupRules(t, newStore(t)) })
	t.Run("TwoOpenAtOnce", func(t *testing.T) { t.Parallel(); twoOpenAtOnce(t, newStore(t)) })
	t.Run("ReplayAndPrune", func(t *testing.T) { t.Parallel(); replayAndPrune(t, newStore(t)) })
	t.Run("RoutesDeriveTheEntryStatus", func(t *testing.T) { t.Parallel(); routesDeriveStatus(t, newStore(t)) })
	t.Run("BackoffHoldsOneWorkflowOnly", func(t *testing.T) { t.Parallel(); backoffPerWorkflow(t, newStore(t)) })
	t.Run("PendingIsBoundedByBytes", func(t *testing.T) { t.Parallel(); boundedByBytes(t, newStore(t)) })
	t.Run("LargePayloadsByReference", func(t *testing.T) { t.Parallel(); largePayloads(t, newStore(t)) })
	t.Run("RouteUnroutedOnce", func(t *testing.T) { t.Parallel(); routeUnrouted(t, newStore(t)) })
	t.Run("PauseWorkflow", func(t *testing.T) { t.Parallel(); pauseWorkflow(t, newStore(t)) })
	t.Run("PauseIntegration", func(t *testing.T) { t.Parallel(); pauseIntegration(t, newStore(t)) })
	t.Run("PauseRacesAppends", func(t *testing.T) { t.Parallel(); pauseRacesAppends(t, newStore(t)) })
	t.Run("PausedInOneGroup", func(t *testing.T) { t.Parallel(); pausedInOneGroup(t, newStore(t)) })
	t.Run("Stuck", func(t *testing.T) { t.Parallel(); stuck(t, newStore(t)) })
	t.Run("TraceParent", func(t *testing.T) { t.Parallel(); traceParent(t, newStore(t)) })
	t.Run("AuditLog", func(t *testing.T) { t.Parallel(); auditLog(t, newStore(t)) })
	t.Run("PendingByPartitionAndExclusion", func(t *testing.T) { t.Parallel(); pendingFilters(t, newStore(t)) })
	t.Run("MarksOfOneEntryFromTwoJournals", func(t *testing.T) { t.Parallel(); concurrentMarks(t, newStore(t)) })
	t.Run("GroupCommitResultsPerEntry", func(t *testing.T) { t.Parallel(); groupResults(t, newStore(t)) })
}

// groupResults: concurrent appends share group commits, redeliveries
// among them (also within one group); each append's result names its own
// entry, and exactly one of each delivery ID is not a duplicate.
func groupResults(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j := open()
	defer j.Close()
	const n = 150
	type result struct {
		id  string
		res journal.AppendResult
	}
	results := make(chan result, 3*n)
	var wg sync.WaitGroup
	for i := range 3 * n {
		id := fmt.Sprint("g", i%n)
		wg.Go(func() {
			e := entry("int_g", id, journal.Accepted)
			if i%7 == 0 {
				e = entry("int_g", fmt.Sprint("rejected-", i), journal.Rejected)
				id = e.Event.DeliveryID
			}
			r, err := j.Append(ctx, e)
			require.NoError(t, err)
			results <- result{id, r}
		})
	}
	wg.Wait()
	close(results)
	firsts := map[string]int64{}
	var dups []result
	for r := range results {
		e, err := j.Get(ctx, r.res.Seq)
		require.NoError(t, err)
		require.Equal(t, r.id, e.Event.DeliveryID, "the result of an append names its own entry")
		if r.res.Duplicate {
			require.Equal(t, journal.Duplicate, e.Status)
			dups = append(dups, r)
			continue
		}
		_, seen := firsts[r.id]
		require.False(t, seen, "one first delivery of %s", r.id)
		firsts[r.id] = r.res.Seq
		if !strings.HasPrefix(r.id, "rejected-") {
			require.Equal(t, journal.Accepted, e.Status)
			require.Len(t, e.Routes, 1)
			require.Equal(t, wfOf("int_g", r.id), e.Routes[0].WorkflowID)
		}
	}
	for _, d := range dups {
		require.Equal(t, firsts[d.id], d.res.Original, "a redelivery names the first one")
	}
	p, err := j.Pending(ctx, journal.PendingQuery{Limit: 1000})
	require.NoError(t, err)
	var accepted int
	for id := range firsts {
		if !strings.HasPrefix(id, "rejected-") {
			accepted++
		}
	}
	require.Len(t, p, accepted, "one route per first delivery")
}

// pendingFilters: Pending reads only the partitions asked for, and skips
// excluded workflows, keeping acceptance order.
func pendingFilters(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j := open()
	defer j.Close()
	// Workflows in two different partitions, and a third workflow.
	wfA, wfB := "wf-part-a", ""
	for i := 0; wfB == ""; i++ {
		if id := fmt.Sprint("wf-part-b", i); journal.PartitionOf(id) != journal.PartitionOf(wfA) {
			wfB = id
		}
	}
	var seqA []int64
	for i := range 3 {
		for _, wf := range []string{wfA, wfB} {
			e := entry("int_pf", fmt.Sprint(wf, "-", i), journal.Accepted)
			e.Routes[0].WorkflowID = wf
			r, err := j.Append(ctx, e)
			require.NoError(t, err)
			if wf == wfA {
				seqA = append(seqA, r.Seq)
			}
		}
	}
	got, err := j.Pending(ctx, journal.PendingQuery{Limit: 10, Partitions: []int{journal.PartitionOf(wfA)}})
	require.NoError(t, err)
	var seqs []int64
	for _, p := range got {
		require.Equal(t, wfA, p.Route.WorkflowID)
		require.Equal(t, journal.PartitionOf(wfA), p.Route.Partition)
		seqs = append(seqs, p.Event.Seq)
	}
	require.Equal(t, seqA, seqs, "one partition's routes, in acceptance order")

	got, err = j.Pending(ctx, journal.PendingQuery{Limit: 10, Partitions: []int{}})
	require.NoError(t, err)
	require.Empty(t, got, "no partition held: nothing")

	got, err = j.Pending(ctx, journal.PendingQuery{Limit: 10, Exclude: []string{wfA}})
	require.NoError(t, err)
	require.Len(t, got, 3)
	for _, p := range got {
		require.Equal(t, wfB, p.Route.WorkflowID, "an excluded workflow's routes are skipped")
	}
	all := pending(t, j, 10)
	require.Len(t, all, 6)
}

// concurrentMarks: two journals on one store (two replicas) mark the two
// routes of one entry at once; the entry ends forwarded, not accepted.
func concurrentMarks(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j1, j2 := open(), open()
	defer j1.Close()
	defer j2.Close()
	var seqs []int64
	for i := range 20 {
		r, err := j1.Append(ctx, twoRoutes(fmt.Sprint("cm", i)))
		require.NoError(t, err)
		seqs = append(seqs, r.Seq)
	}
	var wg sync.WaitGroup
	for i, seq := range seqs {
		id := fmt.Sprint("cm", i)
		wg.Go(func() { require.NoError(t, j1.MarkRoutes(ctx, forwarded(seq, "a/"+id))) })
		wg.Go(func() { require.NoError(t, j2.MarkRoutes(ctx, forwarded(seq, "b/"+id))) })
	}
	wg.Wait()
	for _, seq := range seqs {
		e, err := j1.Get(ctx, seq)
		require.NoError(t, err)
		require.Equal(t, journal.Forwarded, e.Status, "entry %d", seq)
	}
	n, err := j1.Backlog(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}

// entry is a delivery; an accepted one routes to wfOf(integration, id).
func entry(integration, id string, status journal.Status) journal.Entry {
	e := journal.Entry{Status: status, Event: workflows.Event{
		DeliveryID: id, Integration: integration, Source: "github", Type: "pull_request", Action: "opened",
		Keys: map[string]string{"repo": "o/r", "pr": "1"}, Payload: []byte(`{"n":"` + id + `"}`),
		ReceivedAt: time.Now().UTC(),
	}}
	if status == journal.Accepted {
		e.Routes = []journal.Route{{Blueprint: "bp", Workflow: "bp.Workflow", WorkflowID: wfOf(integration, id)}}
	}
	return e
}

func wfOf(integration, id string) string { return "bp/" + integration + "/" + id }

// pending reads up to limit pending routes.
func pending(t *testing.T, j journal.Journal, limit int) []journal.Pending {
	t.Helper()
	p, err := j.Pending(context.Background(), journal.PendingQuery{Limit: limit})
	require.NoError(t, err)
	return p
}

func forwarded(seq int64, wf string) journal.RouteMark {
	return journal.RouteMark{Seq: seq, WorkflowID: wf, Status: journal.Forwarded}
}

func appendPendingMark(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j := open()
	defer j.Close()
	var seqs []int64
	for i := range 3 {
		r, err := j.Append(ctx, entry("int_a", fmt.Sprint("d", i), journal.Accepted))
		require.NoError(t, err)
		require.False(t, r.Duplicate)
		seqs = append(seqs, r.Seq)
	}
	require.Less(t, seqs[0], seqs[1])
	require.Less(t, seqs[1], seqs[2])

	p := pending(t, j, 10)
	require.Len(t, p, 3)
	for i, e := range p {
		require.Equal(t, seqs[i], e.Event.Seq, "pending entries come oldest first")
		require.JSONEq(t, fmt.Sprintf(`{"n":"d%d"}`, i), string(e.Event.Payload))
		require.Equal(t, "1", e.Event.Keys["pr"])
	}
	n, err := j.Backlog(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)

	require.NoError(t, j.MarkRoutes(ctx,
		forwarded(seqs[0], wfOf("int_a", "d0")),
		journal.RouteMark{Seq: seqs[1], WorkflowID: wfOf("int_a", "d1"), Retry: true, Reason: "retrying: temporal unavailable"}))
	p = pending(t, j, 10)
	require.Len(t, p, 2)
	require.Equal(t, seqs[1], p[0].Event.Seq)
	require.Equal(t, 1, p[0].Route.Attempts)
	require.Equal(t, "bp", p[0].Route.Blueprint)
	require.Equal(t, "bp.Workflow", p[0].Route.Workflow)
	require.Equal(t, journal.PartitionOf(wfOf("int_a", "d1")), p[0].Route.Partition)

	got, err := j.Get(ctx, seqs[0])
	require.NoError(t, err)
	require.Equal(t, journal.Forwarded, got.Status)
	require.Equal(t, []string{wfOf("int_a", "d0")}, got.WorkflowIDs)
	require.Len(t, got.Routes, 1)
	require.Equal(t, journal.Forwarded, got.Routes[0].Status)
	retried, err := j.Get(ctx, seqs[1])
	require.NoError(t, err)
	require.Equal(t, journal.Accepted, retried.Status)
	require.Equal(t, 1, retried.Attempts)
	require.Equal(t, "retrying: temporal unavailable", retried.Reason)
	_, err = j.Get(ctx, 1<<40)
	require.ErrorIs(t, err, journal.ErrNotFound)
}

func duplicates(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j := open()
	defer j.Close()
	first, err := j.Append(ctx, entry("int_a", "same", journal.Accepted))
	require.NoError(t, err)
	again, err := j.Append(ctx, entry("int_a", "same", journal.Accepted))
	require.NoError(t, err)
	require.True(t, again.Duplicate)
	require.Equal(t, first.Seq, again.Original)
	other, err := j.Append(ctx, entry("int_b", "same", journal.Accepted))
	require.NoError(t, err)
	require.False(t, other.Duplicate, "delivery IDs are unique per integration only")
	// Rejected records never collide, with each other or with accepted ones.
	for range 2 {
		r, err := j.Append(ctx, entry("int_a", "same", journal.Rejected))
		require.NoError(t, err)
		require.False(t, r.Duplicate)
	}
	require.Len(t, pending(t, j, 10), 2, "the duplicate is never pending")
	dups, err := j.List(ctx, journal.Filter{Status: journal.Duplicate})
	require.NoError(t, err)
	require.Len(t, dups, 1)
	require.Empty(t, dups[0].Event.Payload)
}

func concurrent(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j := open()
	defer j.Close()
	const n = 400
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[int64]bool{}
	for i := range n {
		wg.Go(func() {
			r, err := j.Append(ctx, entry("int_c", fmt.Sprint("c", i%(n/2)), journal.Accepted))
			require.NoError(t, err)
			mu.Lock()
			defer mu.Unlock()
			require.False(t, seen[r.Seq], "sequence numbers are unique")
			seen[r.Seq] = true
		})
	}
	wg.Wait()
	require.Len(t, pending(t, j, 2*n), n/2, "each delivery ID is accepted once")
	dups, err := j.List(ctx, journal.Filter{Status: journal.Duplicate, Limit: n})
	require.NoError(t, err)
	require.Len(t, dups, n/2)
}

func restart(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j := open()
	r, err := j.Append(ctx, entry("int_r", "kept", journal.Accepted))
	require.NoError(t, err)
	require.NoError(t, j.Close())

	j = open()
	defer j.Close()
	p := pending(t, j, 10)
	require.Len(t, p, 1)
	require.Equal(t, r.Seq, p[0].Event.Seq)
	again, err := j.Append(ctx, entry("int_r", "kept", journal.Accepted))
	require.NoError(t, err)
	require.True(t, again.Duplicate, "deduplication survives a restart")
	next, err := j.Append(ctx, entry("int_r", "new", journal.Accepted))
	require.NoError(t, err)
	require.Greater(t, next.Seq, again.Seq, "sequence numbers keep growing after a restart")
}

func listFilters(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j := open()
	defer j.Close()
	old := entry("int_x", "old", journal.Accepted)
	old.Event.ReceivedAt = time.Now().Add(-2 * time.Hour)
	_, err := j.Append(ctx, old)
	require.NoError(t, err)
	_, err = j.Append(ctx, entry("int_x", "new", journal.Ignored))
	require.NoError(t, err)
	gl := entry("int_y", "gl", journal.Accepted)
	gl.Event.Source = "gitlab"
	_, err = j.Append(ctx, gl)
	require.NoError(t, err)

	all, err := j.List(ctx, journal.Filter{})
	require.NoError(t, err)
	require.Len(t, all, 3)
	require.Equal(t, "gl", all[0].Event.DeliveryID, "newest first")
	require.Empty(t, all[0].Event.Payload, "List leaves payloads out")

	for _, tc := range []struct {
		f    journal.Filter
		want int
	}{
		{journal.Filter{Status: journal.Ignored}, 1},
		{journal.Filter{Source: "gitlab"}, 1},
		{journal.Filter{Integration: "int_x"}, 2},
		{journal.Filter{Since: time.Now().Add(-time.Hour)}, 2},
		{journal.Filter{Until: time.Now().Add(-time.Hour)}, 1},
		{journal.Filter{Limit: 1}, 1},
		{journal.Filter{Event: "pull_request"}, 3},
		{journal.Filter{Event: "push"}, 0},
		{journal.Filter{Before: all[0].Event.Seq}, 2},
		{journal.Filter{Before: all[1].Event.Seq, Integration: "int_x"}, 1},
	} {
		got, err := j.List(ctx, tc.f)
		require.NoError(t, err)
		require.Len(t, got, tc.want, "%+v", tc.f)
	}
}

// roundTrip: what Append stores, Get and Pending give back; List leaves
// only the payload out. Timestamps may lose precision below a microsecond.
func roundTrip(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j := open()
	defer j.Close()
	in := entry("int_rt", "rt-1", journal.Accepted)
	in.Event.Type, in.Event.Action = "issues", "labeled"
	in.Event.Meta = map[string]string{"host": "ghe.example.com", "quote": `"'\\`, "unicode": "żółw ✓"}
	in.Event.ReceivedAt = time.Date(2026, 11, 24, 10, 30, 0, 123456789, time.UTC)
	r, err := j.Append(ctx, in)
	require.NoError(t, err)

	checkEvent := func(got workflows.Event, withPayload bool) {
		t.Helper()
		require.Equal(t, r.Seq, got.Seq)
		in, got := in.Event, got
		require.Equal(t, in.Integration, got.Integration)
		require.Equal(t, in.DeliveryID, got.DeliveryID)
		require.Equal(t, in.Source, got.Source)
		require.Equal(t, in.Type, got.Type)
		require.Equal(t, in.Action, got.Action)
		require.Equal(t, in.Keys, got.Keys)
		require.Equal(t, in.Meta, got.Meta)
		require.WithinDuration(t, in.ReceivedAt, got.ReceivedAt, time.Microsecond)
		require.Equal(t, time.UTC, got.ReceivedAt.Location())
		require.Equal(t, len(in.Payload), got.PayloadSize)
		require.Empty(t, got.PayloadRef, "a small payload is never held by reference")
		if withPayload {
			require.JSONEq(t, string(in.Payload), string(got.Payload))
		} else {
			require.Empty(t, got.Payload)
		}
	}
	check := func(got journal.Entry, withPayload bool) {
		t.Helper()
		checkEvent(got.Event, withPayload)
		require.Equal(t, journal.Accepted, got.Status)
		require.Equal(t, in.Event.Integration, got.Event.Integration)
		require.Equal(t, in.Event.DeliveryID, got.Event.DeliveryID)
		require.Equal(t, in.Event.Source, got.Event.Source)
		require.Equal(t, in.Event.Type, got.Event.Type)
		require.Equal(t, in.Event.Action, got.Event.Action)
		require.Equal(t, in.Event.Keys, got.Event.Keys)
		require.Equal(t, in.Event.Meta, got.Event.Meta)
		require.WithinDuration(t, in.Event.ReceivedAt, got.Event.ReceivedAt, time.Microsecond)
		require.Equal(t, time.UTC, got.Event.ReceivedAt.Location())
		require.WithinDuration(t, time.Now(), got.UpdatedAt, time.Minute)
		require.Equal(t, []string{wfOf("int_rt", "rt-1")}, got.WorkflowIDs)
		require.Zero(t, got.Attempts)
	}
	got, err := j.Get(ctx, r.Seq)
	require.NoError(t, err)
	check(got, true)
	p := pending(t, j, 1)
	require.Len(t, p, 1)
	checkEvent(p[0].Event, true)
	list, err := j.List(ctx, journal.Filter{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	check(list[0], false)

	// Without a receive time, Append stamps one.
	bare := entry("int_rt", "rt-2", journal.Rejected)
	bare.Event.ReceivedAt = time.Time{}
	bare.Event.Payload, bare.Event.Keys = nil, nil
	bare.Reason = "bad signature"
	r, err = j.Append(ctx, bare)
	require.NoError(t, err)
	got, err = j.Get(ctx, r.Seq)
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), got.Event.ReceivedAt, time.Minute)
	require.Equal(t, "bad signature", got.Reason)
	require.Empty(t, got.Event.Payload)
	require.Empty(t, got.Event.Keys)
}

// dedupRules: which entries deduplicate with which.
func dedupRules(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j := open()
	defer j.Close()
	for _, tc := range []struct {
		name        string
		first, then journal.Entry
		duplicate   bool
	}{
		{"accepted twice", entry("int_d", "a", journal.Accepted), entry("int_d", "a", journal.Accepted), true},
		{"ignored then accepted", entry("int_d", "b", journal.Ignored), entry("int_d", "b", journal.Accepted), true},
		{"accepted then ignored", entry("int_d", "c", journal.Accepted), entry("int_d", "c", journal.Ignored), true},
		{"rejected then accepted", entry("int_d", "d", journal.Rejected), entry("int_d", "d", journal.Accepted), false},
		{"other integration", entry("int_d", "e", journal.Accepted), entry("int_e", "e", journal.Accepted), false},
		{"no delivery ID", entry("int_d", "", journal.Accepted), entry("int_d", "", journal.Accepted), false},
	} {
		first, err := j.Append(ctx, tc.first)
		require.NoError(t, err, tc.name)
		then, err := j.Append(ctx, tc.then)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.duplicate, then.Duplicate, tc.name)
		got, err := j.Get(ctx, then.Seq)
		require.NoError(t, err, tc.name)
		if tc.duplicate {
			require.Equal(t, first.Seq, then.Original, tc.name)
			require.Equal(t, journal.Duplicate, got.Status, tc.name)
			require.Empty(t, got.Event.Payload, "a duplicate keeps no payload")
			require.NotEmpty(t, got.Reason, tc.name)
		} else {
			require.Equal(t, tc.then.Status, got.Status, tc.name)
		}
	}
}

// twoOpenAtOnce: two journals open on one store at the same time (two
// replicas, or an old and a new process during a restart) append the same
// deliveries concurrently; each is accepted exactly once.
func twoOpenAtOnce(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	a, b := open(), open()
	defer a.Close()
	defer b.Close()
	const n = 100
	var wg sync.WaitGroup
	var mu sync.Mutex
	seqs := map[int64]bool{}
	for _, j := range []journal.Journal{a, b} {
		for i := range n {
			wg.Go(func() {
				r, err := j.Append(ctx, entry("int_2", fmt.Sprint("both-", i), journal.Accepted))
				require.NoError(t, err)
				mu.Lock()
				defer mu.Unlock()
				require.False(t, seqs[r.Seq], "sequence numbers are unique across journals")
				seqs[r.Seq] = true
			})
		}
	}
	wg.Wait()
	for _, j := range []journal.Journal{a, b} {
		require.Len(t, pending(t, j, 2*n), n, "each delivery ID is accepted once")
		dups, err := j.List(ctx, journal.Filter{Status: journal.Duplicate, Limit: 2 * n})
		require.NoError(t, err)
		require.Len(t, dups, n)
	}
}

// replayAndPrune checks journal.Maintenance, for journals that have it.
func replayAndPrune(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j := open()
	defer j.Close()
	m, ok := j.(journal.Maintenance)
	if !ok {
		t.Skipf("%T does not implement journal.Maintenance", j)
	}
	orig, err := j.Append(ctx, entry("int_m", "m-1", journal.Accepted))
	require.NoError(t, err)
	require.NoError(t, j.MarkRoutes(ctx, forwarded(orig.Seq, wfOf("int_m", "m-1"))))

	same, err := m.Replay(ctx, orig.Seq, false)
	require.NoError(t, err)
	require.Greater(t, same.Event.Seq, orig.Seq)
	require.Equal(t, journal.Accepted, same.Status)
	require.Len(t, same.Routes, 1, "a replay takes the original's routes")
	require.Equal(t, journal.Accepted, same.Routes[0].Status)
	require.Equal(t, wfOf("int_m", "m-1"), same.Routes[0].WorkflowID)
	require.Equal(t, "m-1", same.Event.DeliveryID, "the workflow drops it if it was applied")
	require.JSONEq(t, `{"n":"m-1"}`, string(same.Event.Payload))
	fresh, err := m.Replay(ctx, orig.Seq, true)
	require.NoError(t, err)
	require.NotEqual(t, "m-1", fresh.Event.DeliveryID)
	require.Contains(t, fresh.Event.DeliveryID, "m-1")
	require.Len(t, pending(t, j, 10), 2)
	// The original still deduplicates redeliveries.
	again, err := j.Append(ctx, entry("int_m", "m-1", journal.Accepted))
	require.NoError(t, err)
	require.True(t, again.Duplicate)
	require.Equal(t, orig.Seq, again.Original)

	_, err = j.Append(ctx, entry("int_m", "m-2", journal.Rejected))
	require.NoError(t, err)
	_, err = m.Replay(ctx, again.Seq, false)
	require.ErrorIs(t, err, journal.ErrNotReplayable, "a duplicate record has no payload")
	_, err = m.Replay(ctx, 1<<40, false)
	require.ErrorIs(t, err, journal.ErrNotFound)

	old := entry("int_old", "o-1", journal.Ignored)
	old.Event.ReceivedAt = time.Now().Add(-48 * time.Hour)
	oldR, err := j.Append(ctx, old)
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		f    journal.PruneFilter
		want int
	}{
		{"by age", journal.PruneFilter{Before: time.Now().Add(-24 * time.Hour)}, 1},
		{"by integration, never accepted ones", journal.PruneFilter{Integration: "int_m"}, 3},
		{"by sequence number", journal.PruneFilter{Seqs: []int64{oldR.Seq, orig.Seq, same.Event.Seq}}, 2},
	} {
		n, err := m.Prune(ctx, tc.f, true)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, n, tc.name+" (dry run)")
	}
	_, err = m.Prune(ctx, journal.PruneFilter{}, false)
	require.Error(t, err, "pruning everything needs a filter")
	n, err := m.Prune(ctx, journal.PruneFilter{Integration: "int_m"}, false)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	_, err = j.Get(ctx, orig.Seq)
	require.ErrorIs(t, err, journal.ErrNotFound)
	require.Len(t, pending(t, j, 10), 2, "accepted entries are never pruned")
	n, err = m.Prune(ctx, journal.PruneFilter{Integration: "int_m"}, false)
	require.NoError(t, err)
	require.Zero(t, n)
}

func twoRoutes(id string) journal.Entry {
	e := entry("int_rs", id, journal.Accepted)
	e.Routes = []journal.Route{
		{Blueprint: "a", Workflow: "a.W", WorkflowID: "a/" + id},
		{Blueprint: "b", Workflow: "b.W", WorkflowID: "b/" + id},
	}
	return e
}

// routesDeriveStatus: each route has its own status; the entry's follows.
func routesDeriveStatus(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j := open()
	defer j.Close()
	status := func(seq int64) (journal.Status, string) {
		e, err := j.Get(ctx, seq)
		require.NoError(t, err)
		return e.Status, e.Reason
	}
	r, err := j.Append(ctx, twoRoutes("x"))
	require.NoError(t, err)
	require.Len(t, pending(t, j, 10), 2)

	require.NoError(t, j.MarkRoutes(ctx, forwarded(r.Seq, "a/x"),
		journal.RouteMark{Seq: r.Seq, WorkflowID: "b/x", Retry: true, Reason: "retrying: unavailable", RetryAt: time.Now().Add(-time.Second)}))
	st, reason := status(r.Seq)
	require.Equal(t, journal.Accepted, st, "accepted while a route is pending")
	require.Equal(t, "retrying: unavailable", reason)
	p := pending(t, j, 10)
	require.Len(t, p, 1, "a transient failure on one route re-sends that route only")
	require.Equal(t, "b/x", p[0].Route.WorkflowID)

	require.NoError(t, j.MarkRoutes(ctx, journal.RouteMark{Seq: r.Seq, WorkflowID: "b/x", Status: journal.Held}))
	require.Empty(t, pending(t, j, 10), "a held route is not pending")
	st, _ = status(r.Seq)
	require.Equal(t, journal.Accepted, st)
	require.NoError(t, j.MarkRoutes(ctx, journal.RouteMark{Seq: r.Seq, WorkflowID: "b/x", Status: journal.Accepted}))
	require.Len(t, pending(t, j, 10), 1, "a released route is pending again")

	require.NoError(t, j.MarkRoutes(ctx, journal.RouteMark{Seq: r.Seq, WorkflowID: "b/x", Status: journal.Failed, Reason: "400 invalid argument"}))
	st, reason = status(r.Seq)
	require.Equal(t, journal.Failed, st, "failed when one route failed")
	require.Equal(t, "400 invalid argument", reason)
	n, err := j.Backlog(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	e, err := j.Get(ctx, r.Seq)
	require.NoError(t, err)
	require.Equal(t, []string{"a/x", "b/x"}, e.WorkflowIDs)
	require.Equal(t, journal.Forwarded, e.Routes[0].Status)
	require.Equal(t, journal.Failed, e.Routes[1].Status)
	require.Equal(t, 1, e.Attempts)

	r2, err := j.Append(ctx, twoRoutes("y"))
	require.NoError(t, err)
	require.NoError(t, j.MarkRoutes(ctx, forwarded(r2.Seq, "a/y"),
		journal.RouteMark{Seq: r2.Seq, WorkflowID: "b/y", Status: journal.Ignored, Reason: "entity finished"}))
	st, _ = status(r2.Seq)
	require.Equal(t, journal.Forwarded, st, "forwarded when all are final and one was forwarded")
	list, err := j.List(ctx, journal.Filter{Integration: "int_rs"})
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Len(t, list[0].Routes, 2, "List carries routes")
	require.Equal(t, "entity finished", list[0].Routes[1].Reason)
}

// backoffPerWorkflow: a workflow backing off holds back its own routes,
// the later ones too, and nothing else.
func backoffPerWorkflow(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j := open()
	defer j.Close()
	mk := func(id, wf string) int64 {
		e := entry("int_bo", id, journal.Accepted)
		e.Routes[0].WorkflowID = wf
		r, err := j.Append(ctx, e)
		require.NoError(t, err)
		return r.Seq
	}
	a1 := mk("a1", "wf-a")
	b1 := mk("b1", "wf-b")
	until := time.Now().Add(time.Hour)
	require.NoError(t, j.MarkRoutes(ctx, journal.RouteMark{Seq: a1, WorkflowID: "wf-a", Retry: true, Reason: "retrying", RetryAt: until}))
	a2 := mk("a2", "wf-a")
	b2 := mk("b2", "wf-b")
	var got []int64
	for _, p := range pending(t, j, 10) {
		got = append(got, p.Event.Seq)
	}
	require.Equal(t, []int64{b1, b2}, got, "every route of the backed-off workflow waits, also those accepted later")

	later, err := j.Pending(ctx, journal.PendingQuery{Limit: 10, Now: until.Add(time.Second)})
	require.NoError(t, err)
	got = got[:0]
	for _, p := range later {
		got = append(got, p.Event.Seq)
	}
	require.Equal(t, []int64{a1, b1, a2, b2}, got, "after the back-off, in acceptance order")
	require.NoError(t, j.MarkRoutes(ctx, forwarded(a1, "wf-a")))
	require.Len(t, pending(t, j, 10), 3, "a forwarded route ends its workflow's back-off")
}

func boundedByBytes(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j := open()
	defer j.Close()
	big := []byte(`{"pad":"` + strings.Repeat("x", 100<<10) + `"}`)
	for i := range 5 {
		e := entry("int_by", fmt.Sprint("b", i), journal.Accepted)
		e.Event.Payload = big
		_, err := j.Append(ctx, e)
		require.NoError(t, err)
	}
	p, err := j.Pending(ctx, journal.PendingQuery{Limit: 10, MaxBytes: 250 << 10})
	require.NoError(t, err)
	require.Len(t, p, 2, "two 100 KiB payloads fit in 250 KiB, three do not")
	p, err = j.Pending(ctx, journal.PendingQuery{Limit: 10, MaxBytes: 1})
	require.NoError(t, err)
	require.Len(t, p, 1, "at least one route, whatever its size")
	require.Len(t, pending(t, j, 3), 3, "and never more than Limit")
}

// largePayloads: a payload over InlinePayloadLimit never travels in
// Pending; the event carries a reference that Payload resolves.
func largePayloads(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j := open()
	defer j.Close()
	body := []byte(`{"pad":"` + strings.Repeat("abcdefgh", (journal.InlinePayloadLimit/8)+10) + `","tail":"end"}`)
	e := entry("int_lp", "lp", journal.Accepted)
	e.Event.Payload = body
	r, err := j.Append(ctx, e)
	require.NoError(t, err)
	p := pending(t, j, 10)
	require.Len(t, p, 1)
	require.Empty(t, p[0].Event.Payload)
	require.Equal(t, journal.PayloadRef(r.Seq), p[0].Event.PayloadRef)
	require.Equal(t, len(body), p[0].Event.PayloadSize)
	got, err := j.Payload(ctx, r.Seq)
	require.NoError(t, err)
	require.Equal(t, body, got)
	seq, err := journal.ParsePayloadRef(p[0].Event.PayloadRef)
	require.NoError(t, err)
	require.Equal(t, r.Seq, seq)
	for _, bad := range []string{"", "journal/", "journal/x", "journal/-1", "journal/01", "other/1"} {
		_, err := journal.ParsePayloadRef(bad)
		require.Error(t, err, bad)
	}
	full, err := j.Get(ctx, r.Seq)
	require.NoError(t, err)
	require.Equal(t, body, []byte(full.Event.Payload), "Get gives the whole payload")
	list, err := j.List(ctx, journal.Filter{Integration: "int_lp"})
	require.NoError(t, err)
	require.Equal(t, journal.PayloadRef(r.Seq), list[0].Event.PayloadRef)

	require.NoError(t, j.MarkRoutes(ctx, forwarded(r.Seq, wfOf("int_lp", "lp"))))
	if m, ok := j.(journal.Maintenance); ok {
		n, err := m.Prune(ctx, journal.PruneFilter{Integration: "int_lp"}, false)
		require.NoError(t, err)
		require.Zero(t, n, "a referenced payload outlives its routes by the grace period")
	}
	_, err = j.Payload(ctx, 1<<40)
	require.ErrorIs(t, err, journal.ErrNotFound)
}

// routeUnrouted: entries accepted without routes (an older journal) are
// routed once.
func routeUnrouted(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j := open()
	defer j.Close()
	var seqs []int64
	for _, id := range []string{"u1", "u2", "u3"} {
		e := entry("int_u", id, journal.Accepted)
		e.Routes = nil
		r, err := j.Append(ctx, e)
		require.NoError(t, err)
		seqs = append(seqs, r.Seq)
	}
	require.Empty(t, pending(t, j, 10), "unrouted entries are not pending")
	route := func(ev workflows.Event) []journal.Route {
		require.NotEmpty(t, ev.Payload, "the route function sees the payload")
		if ev.DeliveryID == "u2" {
			return nil
		}
		return []journal.Route{{Blueprint: "bp", Workflow: "bp.W", WorkflowID: "wf-" + ev.DeliveryID}}
	}
	n, err := j.RouteUnrouted(ctx, route)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	p := pending(t, j, 10)
	require.Len(t, p, 2)
	require.Equal(t, "wf-u1", p[0].Route.WorkflowID)
	require.Equal(t, "wf-u3", p[1].Route.WorkflowID)
	e, err := j.Get(ctx, seqs[1])
	require.NoError(t, err)
	require.Equal(t, journal.Ignored, e.Status)
	n, err = j.RouteUnrouted(ctx, route)
	require.NoError(t, err)
	require.Zero(t, n, "once")
}
