package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The database, its -wal and its -shm are readable by the owner only,
// wherever the file is, even under a umask that would allow more.
func TestOpenCreatesPrivateFiles(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "elsewhere", "hookflow.db")
	db, err := Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = db.ExecContext(context.Background(), `CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('x')`)
	require.NoError(t, err)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		require.NoError(t, err, "WAL mode keeps %s while open", p)
		require.Equal(t, FileMode, st.Mode().Perm(), p)
	}
}

// A database created 0644 by an older version is narrowed on open.
func TestOpenNarrowsAnExistingFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hookflow.db")
	db, err := Open(path)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if _, err := os.Stat(p); err == nil {
			require.NoError(t, os.Chmod(p, 0o644))
		}
	}
	db, err = Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.PingContext(context.Background()))
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if st, err := os.Stat(p); err == nil {
			require.Equal(t, FileMode, st.Mode().Perm(), p)
		}
	}
}

// A path with the characters a URI gives meaning to keeps its name, WAL
// and synchronous=FULL: with string concatenation the '?' started the
// query and the pragmas were lost.
func TestOpenOddPathsKeepPragmas(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"plain.db", "a?b.db", "a#b.db", "a%20b.db", "a%b.db", "sp ace.db", "mode=memory?x=1#.db", "żółw.db"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, name)
			db, err := Open(path)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			ctx := context.Background()
			var mode string
			require.NoError(t, db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode))
			require.Equal(t, "wal", mode)
			var sync int
			require.NoError(t, db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync))
			require.Equal(t, 2, sync, "synchronous=FULL")
			var fk int
			require.NoError(t, db.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk))
			require.Equal(t, 1, fk)
			_, err = db.ExecContext(ctx, `CREATE TABLE t (v TEXT)`)
			require.NoError(t, err)
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			require.Contains(t, names, name, "the database is at the path given, not at a prefix of it")
			st, err := os.Stat(path)
			require.NoError(t, err)
			require.Equal(t, FileMode, st.Mode().Perm())
		})
	}
}

// A relative path opens the same file as its absolute form.
func TestOpenRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	db, err := Open(filepath.Join("sub", "rel.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.PingContext(context.Background()))
	_, err = os.Stat(filepath.Join(dir, "sub", "rel.db"))
	require.NoError(t, err)
}

func TestRestrict(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name       string
		mode, want os.FileMode
	}{
		{"world readable", 0o644, 0o600},
		{"group writable", 0o660, 0o600},
		{"already private", 0o600, 0o600},
		{"read only stays read only", 0o400, 0o400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(dir, tt.name)
			require.NoError(t, os.WriteFile(p, nil, tt.mode))
			require.NoError(t, os.Chmod(p, tt.mode))
			require.NoError(t, Restrict(p))
			st, err := os.Stat(p)
			require.NoError(t, err)
			require.Equal(t, tt.want, st.Mode().Perm())
		})
	}
	require.NoError(t, Restrict(filepath.Join(dir, "missing")))
}
