package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/postgres"
	"github.com/hookflow/hookflow/ingress/postgres/pgtest"
)

func TestMigrate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		steps []string
		// prior are applied first, with another binary's steps.
		prior   []string
		wantErr string
		// rows is how many rows t holds afterwards.
		rows int
	}{
		{name: "fresh", steps: []string{`CREATE TABLE t (x INT); INSERT INTO t VALUES (1)`, `INSERT INTO t VALUES (2)`}, rows: 2},
		{name: "resumes", prior: []string{`CREATE TABLE t (x INT); INSERT INTO t VALUES (1)`},
			steps: []string{`CREATE TABLE t (x INT); INSERT INTO t VALUES (1)`, `INSERT INTO t VALUES (2)`}, rows: 2},
		{name: "newer schema", prior: []string{`CREATE TABLE t (x INT)`, `INSERT INTO t VALUES (1)`},
			steps: []string{`CREATE TABLE t (x INT)`}, wantErr: "newer than this binary", rows: 1},
		{name: "failed step changes nothing", prior: []string{`CREATE TABLE t (x INT)`},
			steps: []string{`CREATE TABLE t (x INT)`, `INSERT INTO t VALUES (1)`, `SELECT no_such_function()`}, wantErr: "version 3", rows: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, err := postgres.Open(ctx, pgtest.Schema(t))
			require.NoError(t, err)
			defer db.Close()
			if tc.prior != nil {
				require.NoError(t, postgres.Migrate(ctx, db, "c", tc.prior))
			}
			err = postgres.Migrate(ctx, db, "c", tc.steps)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			var n int
			require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n))
			require.Equal(t, tc.rows, n)
		})
	}
}

// TestMigrateConcurrentReplicas starts replicas at once on an empty
// schema: each step must run exactly once.
func TestMigrateConcurrentReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	steps := []string{`CREATE TABLE t (x INT); INSERT INTO t VALUES (1)`, `INSERT INTO t VALUES (2)`}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			db, err := postgres.Open(ctx, dsn)
			require.NoError(t, err)
			defer db.Close()
			require.NoError(t, postgres.Migrate(ctx, db, "c", steps))
		})
	}
	wg.Wait()
	db, err := postgres.Open(ctx, dsn)
	require.NoError(t, err)
	defer db.Close()
	var n, version int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n))
	require.Equal(t, 2, n)
	require.NoError(t, db.QueryRowContext(ctx, `SELECT version FROM schema_versions WHERE component = 'c'`).Scan(&version))
	require.Equal(t, 2, version)
}

func TestOpenForcesSynchronousCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.WithParam(pgtest.ServerDSN(t), "synchronous_commit", "off"))
	require.NoError(t, err)
	defer db.Close()
	var v string
	require.NoError(t, db.QueryRowContext(ctx, `SHOW synchronous_commit`).Scan(&v))
	require.Equal(t, "on", v)
}

func TestLockKeyIsPerSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	keys := map[int64]bool{}
	for range 2 {
		db, err := postgres.Open(ctx, pgtest.Schema(t))
		require.NoError(t, err)
		defer db.Close()
		k, err := postgres.LockKey(ctx, db, "forwarder")
		require.NoError(t, err)
		again, err := postgres.LockKey(ctx, db, "forwarder")
		require.NoError(t, err)
		require.Equal(t, k, again)
		other, err := postgres.LockKey(ctx, db, "migrate")
		require.NoError(t, err)
		require.NotEqual(t, k, other)
		keys[k] = true
	}
	require.Len(t, keys, 2)

	db, err := postgres.Open(ctx, pgtest.WithParam(pgtest.ServerDSN(t), "search_path", "no_such_schema_here"))
	require.NoError(t, err)
	defer db.Close()
	_, err = postgres.LockKey(ctx, db, "forwarder")
	require.ErrorContains(t, err, "no schema")
}
