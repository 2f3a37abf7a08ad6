// Package sqlite opens the embedded SQLite database the ingress keeps its
// journal and integrations in, with the pragmas durability needs, and runs
// versioned migrations. Open gives a database/sql pool; OpenConn one
// connection on SQLite's C API for the journal's group commit.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver (pure Go, no cgo).
)

// FileMode is the mode of the database file and of its -wal and -shm
// companions: they hold webhook payloads and encrypted secrets, so only
// the owner may read them, wherever the file is (--journal sqlite://PATH
// need not be in the data directory).
const FileMode os.FileMode = 0o600

// Open opens (creating when missing) the database at path in WAL mode with
// synchronous=FULL: a commit is fsync'd before it returns, so an answer
// given after a commit survives a crash of the process or the machine.
// The file is created with FileMode, and an existing file and its -wal
// and -shm are narrowed to it; SQLite gives new -wal and -shm files the
// database file's mode.
func Open(path string) (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create dir: %w", err)
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", dsn(path))
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

// pragmas are what every connection to the database is opened with.
var pragmas = []struct{ name, value string }{
	{"journal_mode", "wal"}, {"synchronous", "full"}, {"busy_timeout", "10000"}, {"foreign_keys", "on"},
}

// dsn is the driver's file: URI for path with the pragmas. The path is
// percent-encoded by net/url, so a '?', '#' or '%' in it stays part of the
// name instead of starting the query (which would silently drop WAL and
// synchronous=FULL) or being decoded by SQLite.
func dsn(path string) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p.name+"("+p.value+")")
	}
	q.Set("_txlock", "immediate")
	if abs, err := filepath.Abs(path); err == nil {
		path = abs // file:///abs/path: a relative path's first segment could read as a scheme or host
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	if !strings.HasPrefix(u.Path, "/") {
		u.Path = "/" + u.Path // a Windows drive: file:///C:/...
	}
	return u.String()
}

// createPrivate creates path with FileMode when missing (an empty file is
// an empty SQLite database) and narrows an existing database and its
// -wal and -shm files to FileMode.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, FileMode)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		if err := Restrict(p); err != nil {
			return err
		}
	}
	return nil
}

// Restrict narrows file's mode to FileMode when it exists and allows more;
// a missing file is no error. `hookflow dev` uses it for the embedded
// Temporal server's database as well.
func Restrict(file string) error {
	st, err := os.Stat(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Mode().Perm()&^FileMode == 0 {
		return nil
	}
	return os.Chmod(file, st.Mode().Perm()&FileMode)
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
