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

// Opener opens the journal under test. Calling it twice in one test must
// open the same underlying store (the suite checks restarts); cleanup is
// the opener's job.
type Opener func(t *testing.T) (open func() journal.Journal)

// Run runs the suite.
func Run(t *testing.T, newStore Opener) {
	t.Run("AppendPendingMark", func(t *testing.T) { t.Parallel(); appendPendingMark(t, newStore(t)) })
	t.Run("Duplicates", func(t *testing.T) { t.Parallel(); duplicates(t, newStore(t)) })
	t.Run("ConcurrentAppendsKeepOrderAndCount", func(t *testing.T) { t.Parallel(); concurrent(t, newStore(t)) })
	t.Run("Restart", func(t *testing.T) { t.Parallel(); restart(t, newStore(t)) })
	t.Run("ListFilters", func(t *testing.T) { t.Parallel(); listFilters(t, newStore(t)) })
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
