package journal_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/postgres/pgtest"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/workflows"
)

// TestReceived checks, on both databases, which statuses count as holding
// a delivery: accepted, forwarded, ignored and failed do; rejected and
// duplicate records, other integrations' entries and unknown IDs do not.
func TestReceived(t *testing.T) {
	t.Parallel()
	for _, db := range []struct {
		name string
		open func(t *testing.T) (journal.Journal, *journal.Received)
	}{
		{name: "sqlite", open: func(t *testing.T) (journal.Journal, *journal.Received) {
			ctx := context.Background()
			db, err := sqlite.Open(filepath.Join(t.TempDir(), "journal.db"))
			require.NoError(t, err)
			j, err := journal.OpenSQLite(ctx, db)
			require.NoError(t, err)
			t.Cleanup(func() { j.Close(); db.Close() })
			r, err := journal.OpenSQLiteReceived(ctx, db)
			require.NoError(t, err)
			// A second open finds the migrations done.
			_, err = journal.OpenSQLiteReceived(ctx, db)
			require.NoError(t, err)
			// The lookup reads the dedup index; the index of its own that
			// it once had is gone (every append paid for it).
			var detail string
			var id, parent, unused int
			require.NoError(t, db.QueryRow(`EXPLAIN QUERY PLAN SELECT dedup_key FROM deliveries WHERE integration_id = 'i' AND status IN ('accepted') AND dedup_key IN ('a', 'b')`).Scan(&id, &parent, &unused, &detail))
			require.Contains(t, detail, "deliveries_dedup")
			var n int
			require.NoError(t, db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'deliveries_integration_delivery'`).Scan(&n))
			require.Zero(t, n)
			return j, r
		}},
		{name: "postgres", open: func(t *testing.T) (journal.Journal, *journal.Received) {
			j, pdb := openPostgres(t, pgtest.Schema(t))
			r, err := journal.OpenPostgresReceived(context.Background(), pdb)
			require.NoError(t, err)
			_, err = journal.OpenPostgresReceived(context.Background(), pdb)
			require.NoError(t, err)
			return j, r
		}},
	} {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			j, r := db.open(t)
			add := func(integration, id string, status journal.Status) int64 {
				e := journal.Entry{Status: status, Event: workflows.Event{
					Integration: integration, DeliveryID: id, Source: "github", Type: "push", Payload: []byte(`{}`),
				}}
				if status == journal.Accepted {
					e.Routes = []journal.Route{{Blueprint: "bp", Workflow: "W", WorkflowID: "wf/" + id}}
				}
				res, err := j.Append(ctx, e)
				require.NoError(t, err)
				return res.Seq
			}
			add("int_a", "accepted", journal.Accepted)
			add("int_a", "ignored", journal.Ignored)
			require.NoError(t, j.MarkRoutes(ctx, journal.RouteMark{Seq: add("int_a", "forwarded", journal.Accepted), WorkflowID: "wf/forwarded", Status: journal.Forwarded}))
			require.NoError(t, j.MarkRoutes(ctx, journal.RouteMark{Seq: add("int_a", "failed", journal.Accepted), WorkflowID: "wf/failed", Status: journal.Failed, Reason: "refused"}))
			add("int_a", "rejected", journal.Rejected)
			add("int_a", "duplicate-only", journal.Duplicate)
			add("int_a", "rejected-then-accepted", journal.Rejected)
			add("int_a", "rejected-then-accepted", journal.Accepted)
			add("int_a", "twice", journal.Accepted)
			add("int_a", "twice", journal.Accepted) // recorded as a duplicate of the first
			add("int_b", "other-integration", journal.Accepted)
			// A replay's copy holds the delivery ID without the dedup key;
			// the ID counts once, through its original.
			_, err := j.(journal.Maintenance).Replay(ctx, add("int_a", "replayed", journal.Ignored), false)
			require.NoError(t, err)

			ids := []string{"accepted", "ignored", "forwarded", "failed", "rejected", "duplicate-only",
				"rejected-then-accepted", "twice", "other-integration", "replayed", "never-seen"}
			got, err := r.Received(ctx, "int_a", ids)
			require.NoError(t, err)
			require.Equal(t, map[string]bool{"accepted": true, "ignored": true, "forwarded": true, "failed": true,
				"rejected-then-accepted": true, "twice": true, "replayed": true}, got)

			empty, err := r.Received(ctx, "int_a", nil)
			require.NoError(t, err)
			require.Empty(t, empty)
		})
	}
}

// TestReceivedManyIDs asks about more IDs than one query binds.
func TestReceivedManyIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "journal.db"))
	require.NoError(t, err)
	j, err := journal.OpenSQLite(ctx, db)
	require.NoError(t, err)
	t.Cleanup(func() { j.Close(); db.Close() })
	r, err := journal.OpenSQLiteReceived(ctx, db)
	require.NoError(t, err)
	var ids []string
	for i := range 1234 {
		id := fmt.Sprintf("d-%04d", i)
		ids = append(ids, id)
		if i%3 == 0 {
			_, err := j.Append(ctx, journal.Entry{Status: journal.Accepted, Event: workflows.Event{Integration: "int_a", DeliveryID: id, Source: "github", Type: "push"}})
			require.NoError(t, err)
		}
	}
	got, err := r.Received(ctx, "int_a", ids)
	require.NoError(t, err)
	require.Len(t, got, 412)
	require.True(t, got["d-1233"])
	require.False(t, got["d-1232"])
}
