package journal_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/journal/journaltest"
	"github.com/hookflow/hookflow/ingress/postgres"
	"github.com/hookflow/hookflow/ingress/postgres/pgtest"
	"github.com/hookflow/hookflow/workflows"
)

// openPostgres opens a journal in the schema dsn points at, on a pool of
// its own (as a separate replica would), closed when the test ends.
func openPostgres(t *testing.T, dsn string) (*journal.Postgres, *sql.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, dsn)
	require.NoError(t, err)
	j, err := journal.OpenPostgres(ctx, db)
	require.NoError(t, err)
	t.Cleanup(func() { j.Close(); db.Close() })
	return j, db
}

func TestPostgresConformance(t *testing.T) {
	t.Parallel()
	journaltest.Run(t, func(t *testing.T) func() journal.Journal {
		dsn := pgtest.Schema(t)
		return func() journal.Journal {
			j, _ := openPostgres(t, dsn)
			return j
		}
	})
}

func pgEntry(id string) journal.Entry {
	return journal.Entry{Status: journal.Accepted, Event: workflows.Event{
		DeliveryID: id, Integration: "int_p", Source: "github", Type: "push",
		Keys: map[string]string{"repo": "o/r"}, Payload: []byte(`{"id":"` + id + `"}`),
	}}
}

// TestPostgresAppendIsDurable kills the journal's sessions without Close:
// what Append acknowledged must be there when a new process looks.
func TestPostgresAppendIsDurable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	app := "hookflow-durable-" + fmt.Sprint(time.Now().UnixNano())
	db, err := postgres.Open(ctx, pgtest.WithParam(dsn, "application_name", app))
	require.NoError(t, err)
	defer db.Close()
	var syncCommit string
	require.NoError(t, db.QueryRowContext(ctx, `SHOW synchronous_commit`).Scan(&syncCommit))
	require.Equal(t, "on", syncCommit, "commits wait for the WAL flush")
	j, err := journal.OpenPostgres(ctx, db)
	require.NoError(t, err)

	var wg sync.WaitGroup
	seqs := make([]int64, 50)
	for i := range seqs {
		wg.Go(func() {
			r, err := j.Append(ctx, pgEntry(fmt.Sprint("durable-", i)))
			require.NoError(t, err)
			seqs[i] = r.Seq
		})
	}
	wg.Wait()

	admin, err := postgres.Open(ctx, pgtest.ServerDSN(t))
	require.NoError(t, err)
	defer admin.Close()
	var killed int
	require.NoError(t, admin.QueryRowContext(ctx,
		`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&killed))
	require.Positive(t, killed)

	again, _ := openPostgres(t, dsn)
	for i, seq := range seqs {
		e, err := again.Get(ctx, seq)
		require.NoError(t, err)
		require.Equal(t, journal.Accepted, e.Status)
		require.JSONEq(t, fmt.Sprintf(`{"id":"durable-%d"}`, i), string(e.Event.Payload))
	}
	n, err := again.Backlog(ctx)
	require.NoError(t, err)
	require.Equal(t, len(seqs), n)
}

// TestPostgresCloseDuringAppends: Close flushes what was queued, later
// appends fail, and nothing panics.
func TestPostgresCloseDuringAppends(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	j, _ := openPostgres(t, dsn)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok []int64
	for i := range 300 {
		wg.Go(func() {
			r, err := j.Append(ctx, pgEntry(fmt.Sprint("close-", i)))
			if err != nil {
				require.ErrorContains(t, err, "closed")
				return
			}
			mu.Lock()
			ok = append(ok, r.Seq)
			mu.Unlock()
		})
	}
	time.Sleep(5 * time.Millisecond)
	require.NoError(t, j.Close())
	wg.Wait()
	_, err := j.Append(ctx, pgEntry("late"))
	require.ErrorContains(t, err, "closed")

	again, _ := openPostgres(t, dsn)
	n, err := again.Backlog(ctx)
	require.NoError(t, err)
	require.Equal(t, len(ok), n, "every acknowledged append, and only those, is journaled")
}

// TestPostgresPoisonEntryFailsAlone: an entry PostgreSQL refuses fails
// alone, not the appends it shares a commit with.
func TestPostgresPoisonEntryFailsAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	j, _ := openPostgres(t, pgtest.Schema(t))
	var wg sync.WaitGroup
	errs := make([]error, 100)
	for i := range errs {
		wg.Go(func() {
			e := pgEntry(fmt.Sprint("ok-", i))
			if i == 50 {
				e.Event.DeliveryID = "nul\x00byte"
			}
			_, errs[i] = j.Append(ctx, e)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if i == 50 {
			require.Error(t, err)
			continue
		}
		require.NoError(t, err, "entry %d", i)
	}
	n, err := j.Backlog(ctx)
	require.NoError(t, err)
	require.Equal(t, 99, n)
}

func TestPostgresLeadership(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// lose ends the first replica's leadership.
		lose func(t *testing.T, first *journal.Postgres, db *sql.DB, release func())
	}{
		{"release", func(t *testing.T, _ *journal.Postgres, _ *sql.DB, release func()) { release() }},
		{"journal closed", func(t *testing.T, first *journal.Postgres, _ *sql.DB, _ func()) { require.NoError(t, first.Close()) }},
		{"session terminated", func(t *testing.T, _ *journal.Postgres, db *sql.DB, _ func()) {
			ctx := context.Background()
			admin, err := postgres.Open(ctx, pgtest.ServerDSN(t))
			require.NoError(t, err)
			defer admin.Close()
			key, err := postgres.LockKey(ctx, db, "forwarder")
			require.NoError(t, err)
			var killed int
			require.NoError(t, admin.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
				WHERE locktype = 'advisory' AND granted AND objsubid = 1
				AND ((classid::bigint << 32) | objid::bigint) = $1`, key).Scan(&killed))
			require.Equal(t, 1, killed, "one session holds the lock")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := pgtest.Schema(t)
			first, db := openPostgres(t, dsn)
			second, _ := openPostgres(t, dsn)

			lost1, release1, err := first.Lead(ctx)
			require.NoError(t, err)
			defer release1()

			type led struct {
				lost    <-chan struct{}
				release func()
			}
			got := make(chan led, 1)
			go func() {
				lost, release, err := second.Lead(ctx)
				if err == nil {
					got <- led{lost, release}
				}
			}()
			require.Never(t, func() bool { return len(got) > 0 }, 2500*time.Millisecond, 50*time.Millisecond,
				"one leader at a time")

			tc.lose(t, first, db, release1)
			select {
			case <-lost1:
			case <-time.After(5 * time.Second):
				t.Fatal("the first replica did not notice it lost leadership")
			}
			select {
			case l := <-got:
				select {
				case <-l.lost:
					t.Fatal("new leadership is already lost")
				default:
				}
				l.release()
				<-l.lost
			case <-time.After(5 * time.Second):
				t.Fatal("the second replica did not take over")
			}
		})
	}
}

func TestPostgresLeadHonoursContext(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t)
	first, _ := openPostgres(t, dsn)
	second, _ := openPostgres(t, dsn)
	_, release, err := first.Lead(context.Background())
	require.NoError(t, err)
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	_, _, err = second.Lead(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, second.Close())
	_, _, err = second.Lead(context.Background())
	require.ErrorContains(t, err, "closed")
}

func TestPostgresPartitions(t *testing.T) {
	t.Parallel()
	journaltest.RunPartitions(t, func(t *testing.T) journaltest.Replica {
		dsn := pgtest.Schema(t)
		return func(t *testing.T) (journal.Partitioner, func()) {
			app := fmt.Sprint("hookflow-part-", time.Now().UnixNano())
			j, _ := openPostgres(t, pgtest.WithParam(dsn, "application_name", app))
			kill := func() {
				ctx := context.Background()
				admin, err := postgres.Open(ctx, pgtest.ServerDSN(t))
				require.NoError(t, err)
				defer admin.Close()
				var killed int
				require.NoError(t, admin.QueryRowContext(ctx,
					`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&killed))
				require.Positive(t, killed)
			}
			return j, kill
		}
	})
}
