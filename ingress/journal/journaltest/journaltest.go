// Package journaltest is the conformance suite every journal.Journal
// implementation must pass.
package journaltest

import (
	"context"
	"fmt"
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
}

func entry(integration, id string, status journal.Status) journal.Entry {
	return journal.Entry{Status: status, Event: workflows.Event{
		DeliveryID: id, Integration: integration, Source: "github", Type: "pull_request", Action: "opened",
		Keys: map[string]string{"repo": "o/r", "pr": "1"}, Payload: []byte(`{"n":"` + id + `"}`),
		ReceivedAt: time.Now().UTC(),
	}}
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

	p, err := j.Pending(ctx, 10)
	require.NoError(t, err)
	require.Len(t, p, 3)
	for i, e := range p {
		require.Equal(t, seqs[i], e.Event.Seq, "pending entries come oldest first")
		require.JSONEq(t, fmt.Sprintf(`{"n":"d%d"}`, i), string(e.Event.Payload))
		require.Equal(t, "1", e.Event.Keys["pr"])
	}
	n, err := j.Backlog(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)

	require.NoError(t, j.Mark(ctx,
		journal.Mark{Seq: seqs[0], Status: journal.Forwarded, WorkflowIDs: []string{"wf-1"}},
		journal.Mark{Seq: seqs[1], Retry: true, Reason: "temporal unavailable"}))
	p, err = j.Pending(ctx, 10)
	require.NoError(t, err)
	require.Len(t, p, 2)
	require.Equal(t, seqs[1], p[0].Event.Seq)
	require.Equal(t, 1, p[0].Attempts)

	got, err := j.Get(ctx, seqs[0])
	require.NoError(t, err)
	require.Equal(t, journal.Forwarded, got.Status)
	require.Equal(t, []string{"wf-1"}, got.WorkflowIDs)
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
	p, err := j.Pending(ctx, 10)
	require.NoError(t, err)
	require.Len(t, p, 2, "the duplicate is never pending")
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
	p, err := j.Pending(ctx, 2*n)
	require.NoError(t, err)
	require.Len(t, p, n/2, "each delivery ID is accepted once")
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
	p, err := j.Pending(ctx, 10)
	require.NoError(t, err)
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

	check := func(got journal.Entry, withPayload bool) {
		t.Helper()
		require.Equal(t, r.Seq, got.Event.Seq)
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
		require.Empty(t, got.WorkflowIDs)
		require.Zero(t, got.Attempts)
		if withPayload {
			require.JSONEq(t, string(in.Event.Payload), string(got.Event.Payload))
		} else {
			require.Empty(t, got.Event.Payload)
		}
	}
	got, err := j.Get(ctx, r.Seq)
	require.NoError(t, err)
	check(got, true)
	pending, err := j.Pending(ctx, 1)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	check(pending[0], true)
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
		p, err := j.Pending(ctx, 2*n)
		require.NoError(t, err)
		require.Len(t, p, n, "each delivery ID is accepted once")
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
	require.NoError(t, j.Mark(ctx, journal.Mark{Seq: orig.Seq, Status: journal.Forwarded, WorkflowIDs: []string{"wf-m"}}))

	same, err := m.Replay(ctx, orig.Seq, false)
	require.NoError(t, err)
	require.Greater(t, same.Event.Seq, orig.Seq)
	require.Equal(t, journal.Accepted, same.Status)
	require.Equal(t, "m-1", same.Event.DeliveryID, "the workflow drops it if it was applied")
	require.JSONEq(t, `{"n":"m-1"}`, string(same.Event.Payload))
	fresh, err := m.Replay(ctx, orig.Seq, true)
	require.NoError(t, err)
	require.NotEqual(t, "m-1", fresh.Event.DeliveryID)
	require.Contains(t, fresh.Event.DeliveryID, "m-1")
	p, err := j.Pending(ctx, 10)
	require.NoError(t, err)
	require.Len(t, p, 2)
	// The original still deduplicates redeliveries.
	again, err := j.Append(ctx, entry("int_m", "m-1", journal.Accepted))
	require.NoError(t, err)
	require.True(t, again.Duplicate)
	require.Equal(t, orig.Seq, again.Original)

	rej, err := j.Append(ctx, entry("int_m", "m-2", journal.Rejected))
	require.NoError(t, err)
	require.NoError(t, j.Mark(ctx, journal.Mark{Seq: rej.Seq, Status: journal.Rejected}))
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
	p, err = j.Pending(ctx, 10)
	require.NoError(t, err)
	require.Len(t, p, 2, "accepted entries are never pruned")
	n, err = m.Prune(ctx, journal.PruneFilter{Integration: "int_m"}, false)
	require.NoError(t, err)
	require.Zero(t, n)
}
