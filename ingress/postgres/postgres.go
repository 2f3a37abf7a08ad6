// Package postgres opens the PostgreSQL database several ingress replicas
// share their journal and integrations in, and runs versioned migrations
// that replicas starting at once do not race on.
//
// Everything hookflow keeps lives in the connection's current schema (the
// first existing schema of search_path, "public" by default), and every
// advisory lock key is derived from that schema's name: two deployments in
// two schemas of one database neither share tables nor block each other.
//
// Hookflow holds session-level advisory locks (forwarding leadership), so a
// pooler in front of PostgreSQL must run in session mode (PgBouncer
// pool_mode=session), or not be there at all.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Open connects to the database at dsn (a postgres:// URL or a
// "key=value ..." string; libpq parameters such as search_path or
// application_name may be added). Every session runs with
// synchronous_commit=on whatever the DSN or the server default say: a
// commit returns only once its WAL record is flushed, so an answer given
// after a commit survives a crash of the server (with the server's fsync
// on, its default). Connecting gives up after 10s unless the DSN sets
// connect_timeout.
func Open(ctx context.Context, dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse dsn: %w", err)
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["synchronous_commit"] = "on"
	if cfg.ConnectTimeout == 0 {
		// Without one, a dial to a server that drops packets waits for the
		// kernel to give up, minutes later.
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "hookflow"
	}
	db := stdlib.OpenDB(*cfg)
	// Enough for the group-committing writer, the forwarder, the leadership
	// session and concurrent reads, without letting a burst of requests
	// open hundreds of server processes.
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect to %s:%d/%s: %w", cfg.Host, cfg.Port, cfg.Database, err)
	}
	return db, nil
}

// Queryer is what LockKey needs: a *sql.DB, *sql.Conn or *sql.Tx.
type Queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// LockKey returns the advisory lock key for name in q's current schema, so
// that locks of deployments in different schemas do not collide.
func LockKey(ctx context.Context, q Queryer, name string) (int64, error) {
	var schema sql.NullString
	if err := q.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return 0, fmt.Errorf("postgres: current schema: %w", err)
	}
	if !schema.Valid {
		return 0, errors.New("postgres: no schema of search_path exists; create it or fix search_path")
	}
	h := fnv.New64a()
	h.Write([]byte("hookflow\x00" + schema.String + "\x00" + name))
	return int64(h.Sum64()), nil
}

// Migrate brings component's tables to the newest version: steps[i] is the
// SQL of version i+1 (several statements may be separated by semicolons).
// Applied versions are recorded in schema_versions, so each step runs
// once. The whole migration runs in one transaction under an advisory
// lock: replicas starting at once wait for each other, and a failed step
// leaves the schema as it was.
func Migrate(ctx context.Context, db *sql.DB, component string, steps []string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("postgres: migrate %s: %w", component, err)
	}
	defer tx.Rollback()
	key, err := LockKey(ctx, tx, "migrate")
	if err != nil {
		return fmt.Errorf("postgres: migrate %s: %w", component, err)
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, key); err != nil {
		return fmt.Errorf("postgres: migrate %s: lock: %w", component, err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("postgres: migrate %s: %w", component, err)
	}
	var version int
	err = tx.QueryRowContext(ctx, `SELECT version FROM schema_versions WHERE component = $1`, component).Scan(&version)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("postgres: migrate %s: %w", component, err)
	}
	if version > len(steps) {
		return fmt.Errorf("postgres: %s schema is version %d, newer than this binary knows (%d)", component, version, len(steps))
	}
	if version == len(steps) {
		return nil
	}
	for i := version; i < len(steps); i++ {
		if _, err := tx.ExecContext(ctx, steps[i]); err != nil {
			return fmt.Errorf("postgres: migrate %s to version %d: %w", component, i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_versions (component, version) VALUES ($1, $2)
		ON CONFLICT (component) DO UPDATE SET version = excluded.version`, component, len(steps)); err != nil {
		return fmt.Errorf("postgres: migrate %s: %w", component, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("postgres: migrate %s: commit: %w", component, err)
	}
	return nil
}

// Rebind rewrites q's ? placeholders as PostgreSQL's $1, $2, ... so that a
// store can keep one set of queries for SQLite and PostgreSQL; q must hold
// no other question marks.
func Rebind(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
