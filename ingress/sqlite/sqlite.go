// Package sqlite opens the embedded SQLite database the ingress keeps its
// journal and integrations in, with the pragmas durability needs, and runs
// versioned migrations.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver (pure Go, no cgo).
)

// Open opens (creating when missing) the database at path in WAL mode with
// synchronous=FULL: a commit is fsync'd before it returns, so an answer
// given after a commit survives a crash of the process or the machine.
func Open(path string) (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create dir: %w", err)
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(wal)", "synchronous(full)", "busy_timeout(10000)", "foreign_keys(on)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

// Migrate brings component's tables to the newest version: steps[i] is
// the SQL of version i+1. Applied versions are recorded in
// schema_versions, so each step runs once.
func Migrate(ctx context.Context, db *sql.DB, component string, steps []string) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: migrate %s: %w", component, err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migrate %s: %w", component, err)
	}
	defer tx.Rollback()
	var version int
	err = tx.QueryRowContext(ctx, `SELECT version FROM schema_versions WHERE component = ?`, component).Scan(&version)
	if err != nil && err != sql.ErrNoRows {
		return fmt.Errorf("sqlite: migrate %s: %w", component, err)
	}
	if version > len(steps) {
		return fmt.Errorf("sqlite: %s schema is version %d, newer than this binary knows (%d)", component, version, len(steps))
	}
	for i := version; i < len(steps); i++ {
		if _, err := tx.ExecContext(ctx, steps[i]); err != nil {
			return fmt.Errorf("sqlite: migrate %s to version %d: %w", component, i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_versions (component, version) VALUES (?, ?)
		ON CONFLICT(component) DO UPDATE SET version = excluded.version`, component, len(steps)); err != nil {
		return fmt.Errorf("sqlite: migrate %s: %w", component, err)
	}
	return tx.Commit()
}
