package journal

import (
	"bytes"
	"compress/flate"
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/postgres"
	"github.com/hookflow/hookflow/ingress/postgres/pgtest"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/workflows"
)

// The journal as the release before routes (3cfd663) wrote it: its
// schema versions, and rows as its ingress appended them (accepted entries
// with workflow IDs but no routes; payloads of 1 KiB and more deflated in
// SQLite).
var (
	oldSQLiteVersions   = 2
	oldPostgresVersions = 1
)

type oldRow struct {
	id, status string
	wf         []string
	payload    []byte
}

func oldRows() []oldRow {
	big := []byte(`{"action":"opened","pad":"` + strings.Repeat("z", 300<<10) + `"}`)
	return []oldRow{
		{"pending-small", "accepted", []string{"github/o/r/pr/1"}, []byte(`{"action":"opened","number":1}`)},
		{"pending-big", "accepted", []string{"github/o/r/pr/2"}, big},
		{"pending-other", "accepted", []string{"github/o/r/pr/3"}, []byte(`{"action":"labeled"}`)},
		{"forwarded", "forwarded", []string{"github/o/r/pr/1"}, []byte(`{"action":"edited"}`)},
		{"ignored", "ignored", nil, []byte(`{}`)},
	}
}

func insertOld(t *testing.T, db *sql.DB, pg bool) {
	t.Helper()
	for i, r := range oldRows() {
		wf, _ := json.Marshal(append([]string{}, r.wf...))
		pr := map[string]string{"repo": "o/r", "pr": string(rune('1' + i))}
		keys, _ := json.Marshal(pr)
		var err error
		if pg {
			_, err = db.Exec(`INSERT INTO deliveries (integration_id, delivery_id, dedup_key, source, event, action, status, reason,
				workflow_ids, keys, meta, payload, received_at, updated_at) VALUES ($1,$2,$2,'github','pull_request','opened',$3,'',$4,$5,'{}',$6,$7,$7)`,
				"int", r.id, r.status, string(wf), string(keys), r.payload, time.Now())
		} else {
			stored, codec := deflateAsBefore(t, r.payload)
			_, err = db.Exec(`INSERT INTO deliveries (integration_id, delivery_id, dedup_key, source, event, action, status, reason,
				workflow_ids, keys, meta, payload, payload_codec, received_at, updated_at) VALUES (?,?,?,'github','pull_request','opened',?,'',?,?,'{}',?,?,?,?)`,
				"int", r.id, r.id, r.status, string(wf), string(keys), stored, codec, time.Now().UnixNano(), time.Now().UnixNano())
		}
		require.NoError(t, err)
	}
}

// route is the routing the new release computes for the old pending
// entries: pull request 3 has no blueprint any more.
func route(ev workflows.Event) []Route {
	if ev.Keys["pr"] == "3" {
		return nil
	}
	return []Route{{Blueprint: "prcomment", Workflow: "prcomment.PullRequest", WorkflowID: "github/o/r/pr/" + ev.Keys["pr"]}}
}

func checkMigrated(t *testing.T, j Journal) {
	t.Helper()
	ctx := context.Background()
	n, err := j.Backlog(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n, "nothing pending is lost by the schema change")
	p, err := j.Pending(ctx, PendingQuery{})
	require.NoError(t, err)
	require.Empty(t, p, "old entries have no routes until they are routed")

	routed, err := j.RouteUnrouted(ctx, route)
	require.NoError(t, err)
	require.Equal(t, 3, routed)
	p, err = j.Pending(ctx, PendingQuery{})
	require.NoError(t, err)
	require.Len(t, p, 2)
	require.Equal(t, "pending-small", p[0].Event.DeliveryID)
	require.JSONEq(t, `{"action":"opened","number":1}`, string(p[0].Event.Payload), "inline payloads keep working")
	require.Equal(t, "github/o/r/pr/1", p[0].Route.WorkflowID)
	require.Equal(t, "pending-big", p[1].Event.DeliveryID)
	require.Empty(t, p[1].Event.Payload, "a 300 KiB payload of the old journal now travels by reference")
	require.Equal(t, PayloadRef(p[1].Event.Seq), p[1].Event.PayloadRef)
	whole, err := j.Payload(ctx, p[1].Event.Seq)
	require.NoError(t, err)
	require.Equal(t, oldRows()[1].payload, whole)

	list, err := j.List(ctx, Filter{})
	require.NoError(t, err)
	byID := map[string]Entry{}
	for _, e := range list {
		byID[e.Event.DeliveryID] = e
	}
	require.Equal(t, Ignored, byID["pending-other"].Status, "routed once: no blueprint takes it now")
	require.Equal(t, Forwarded, byID["forwarded"].Status, "final entries keep their status")
	require.Equal(t, []string{"github/o/r/pr/1"}, byID["forwarded"].WorkflowIDs)

	var marks []RouteMark
	for _, e := range p {
		marks = append(marks, RouteMark{Seq: e.Event.Seq, WorkflowID: e.Route.WorkflowID, Status: Forwarded})
	}
	require.NoError(t, j.MarkRoutes(ctx, marks...))
	n, err = j.Backlog(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "the migrated journal drains")
	routed, err = j.RouteUnrouted(ctx, route)
	require.NoError(t, err)
	require.Zero(t, routed)
}

func TestMigrateSQLiteJournalOfThePreviousRelease(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hookflow.db")
	db, err := sqlite.Open(path)
	require.NoError(t, err)
	require.NoError(t, sqlite.Migrate(context.Background(), db, "journal", sqliteMigrations[:oldSQLiteVersions]))
	insertOld(t, db, false)
	require.NoError(t, db.Close())

	db, err = sqlite.Open(path)
	require.NoError(t, err)
	j, err := OpenSQLite(context.Background(), db)
	require.NoError(t, err)
	t.Cleanup(func() { j.Close(); db.Close() })
	checkMigrated(t, j)
}

func TestMigratePostgresJournalOfThePreviousRelease(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, dsn)
	require.NoError(t, err)
	require.NoError(t, postgres.Migrate(ctx, db, "journal", postgresMigrations[:oldPostgresVersions]))
	insertOld(t, db, true)
	require.NoError(t, db.Close())

	// Two replicas start at once on the old journal: one migrates, the
	// other waits and finds it done.
	var wg sync.WaitGroup
	journals := make([]*Postgres, 2)
	errs := make([]error, 2)
	for i := range journals {
		wg.Go(func() {
			db, err := postgres.Open(ctx, dsn)
			if err != nil {
				errs[i] = err
				return
			}
			t.Cleanup(func() { db.Close() })
			journals[i], errs[i] = OpenPostgres(ctx, db)
		})
	}
	wg.Wait()
	for i, j := range journals {
		require.NoError(t, errs[i])
		t.Cleanup(func() { j.Close() })
	}
	checkMigrated(t, journals[0])
}

// deflateAsBefore stores a payload as releases before codecS2 did:
// deflated (fastest level) from 1 KiB.
func deflateAsBefore(t *testing.T, p []byte) ([]byte, string) {
	t.Helper()
	if len(p) < 1024 {
		return p, ""
	}
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, flate.BestSpeed)
	require.NoError(t, err)
	_, err = w.Write(p)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return b.Bytes(), codecDeflate
}

func TestPayloadCodecs(t *testing.T) {
	t.Parallel()
	for _, p := range [][]byte{[]byte(`{}`), []byte(`{"pad":"` + strings.Repeat("ab", 4096) + `"}`), bytes.Repeat([]byte{0xff, 0x00, 0x7f}, 1000)} {
		stored, codec := encodePayload(p)
		require.LessOrEqual(t, len(stored), len(p))
		if len(p) >= 1024 && codec == "" {
			require.Equal(t, p, stored, "stored as is when compressing does not help")
		}
		got, err := decodePayload(stored, codec)
		require.NoError(t, err)
		require.Equal(t, p, got)
		old, oldCodec := deflateAsBefore(t, p)
		got, err = decodePayload(old, oldCodec)
		require.NoError(t, err)
		require.Equal(t, p, got, "payloads deflated by earlier releases still read")
	}
	_, err := decodePayload([]byte("x"), "zstd")
	require.ErrorContains(t, err, "unknown payload codec")
}
