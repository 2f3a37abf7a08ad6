package journal

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/workflows"
)

// TestSQLiteGroupNumbersNeverReused: a group's entries are numbered in
// order; a number once given is never given again, even after the newest
// entries are pruned, as AUTOINCREMENT promises. Groups are committed
// directly so that each is one transaction.
func TestSQLiteGroupNumbersNeverReused(t *testing.T) {
	ctx := context.Background()
	j := openTestSQLite(t)
	group := func(prefix string, ids ...string) []int64 {
		var batch []*appendReq
		for _, id := range ids {
			// Ignored entries: accepted ones are not prunable.
			batch = append(batch, &appendReq{entry: Entry{Status: Ignored, Reason: "test", Event: workflows.Event{
				DeliveryID: prefix + id, Integration: "int_s", Source: "github", Type: "push"}}})
		}
		require.NoError(t, j.w.commit(batch))
		var seqs []int64
		for _, r := range batch {
			seqs = append(seqs, r.res.Seq)
		}
		return seqs
	}
	first := group("a", "1", "2", "3", "4")
	require.Equal(t, []int64{first[0], first[0] + 1, first[0] + 2, first[0] + 3}, first, "in order, one number each")
	n, err := j.Prune(ctx, PruneFilter{Seqs: first}, false)
	require.NoError(t, err)
	require.Equal(t, len(first), n)
	second := group("b", "1", "2", "3", "4")
	require.Greater(t, second[0], first[3], "the numbers of pruned entries are not given again")

	// A redelivery of a journaled entry and one within the group: both
	// recorded as duplicates in their turn, naming their originals.
	third := group("b", "1", "5", "5")
	require.Greater(t, third[0], second[3])
	require.Less(t, third[0], third[1], "in order, duplicates in their turn (a turned-away insert may use up a number)")
	require.Less(t, third[1], third[2])
	for i, orig := range []int64{second[0], third[1]} {
		dup := []int64{third[0], third[2]}[i]
		e, err := j.Get(ctx, dup)
		require.NoError(t, err)
		require.Equal(t, Duplicate, e.Status, fmt.Sprint("entry ", dup))
		require.Contains(t, e.Reason, fmt.Sprint(orig))
	}
}

// TestSQLiteWriterAllocatesNothingPerGroup: once its buffers have grown,
// the writer's commit of a group (entries with payloads, JSON text
// columns and routes) makes no heap allocation; through database/sql the
// same work cost about 70 per sequential delivery.
func TestSQLiteWriterAllocatesNothingPerGroup(t *testing.T) {
	ctx := context.Background()
	j := openTestSQLite(t)
	const runs, size = 50, 8
	batches := make([][]*appendReq, 0, runs+2)
	for b := range runs + 2 {
		var batch []*appendReq
		for i := range size {
			e := Entry{Status: Accepted, Event: workflows.Event{
				DeliveryID: fmt.Sprintf("d-%d-%d", b, i), Integration: "int_a", Source: "github", Type: "pull_request", Action: "opened",
				Keys: map[string]string{"repo": "acme/api", "pr": fmt.Sprint(i)}, Payload: []byte(`{"action":"opened","number":1}`)},
				Routes: []Route{{WorkflowID: fmt.Sprint("prcomment/pr/", b, "/", i), Blueprint: "prcomment", Workflow: "PullRequest"}}}
			prepareRoutes(&e)
			r := &appendReq{entry: e}
			r.payload, r.codec = encodePayload(e.Event.Payload)
			batch = append(batch, r)
		}
		batches = append(batches, batch)
	}
	require.NoError(t, j.w.commit(batches[0]), "grows the buffers, prepares the statements")
	next := 1
	allocs := testing.AllocsPerRun(runs, func() {
		if err := j.w.commit(batches[next]); err != nil {
			t.Fatal(err)
		}
		next++
	})
	require.Zero(t, allocs, "allocations per group of %d", size)
	for _, r := range batches[next-1] {
		require.NotZero(t, r.res.Seq)
		require.False(t, r.res.Duplicate)
	}
	n, err := j.Backlog(ctx)
	require.NoError(t, err)
	require.Equal(t, (next)*size, n, "every entry of every group journaled")
}

// openTestSQLite opens a journal in a fresh database, closed at cleanup.
func openTestSQLite(t *testing.T) *SQLite {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "journal.db"))
	require.NoError(t, err)
	j, err := OpenSQLite(context.Background(), db)
	require.NoError(t, err)
	t.Cleanup(func() { j.Close(); db.Close() })
	return j
}
