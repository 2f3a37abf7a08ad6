package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// openBoth opens a database with Open, creates table t, and opens a Conn
// on the same file.
func openBoth(t *testing.T) (*sql.DB, *Conn) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "conn.db")
	db, err := Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT UNIQUE, s TEXT, b BLOB, i INTEGER)`)
	require.NoError(t, err)
	c, err := OpenConn(path)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return db, c
}

// Every kind of argument reaches the row as database/sql reads it back:
// texts with NUL bytes and multi-byte runes, a text from bytes, blobs,
// an empty text and an empty blob (not NULL), and NULLs.
func TestConnBindsEveryKind(t *testing.T) {
	db, c := openBoth(t)
	ins, err := c.Prepare(`INSERT INTO t (k, s, b, i) VALUES (?, ?, ?, ?)`)
	require.NoError(t, err)
	rows := []struct {
		k, s  Arg
		b     Arg
		i     Arg
		wantS sql.NullString
		wantB []byte
		wantI sql.NullInt64
	}{
		{Text("a"), Text("żółw\x00tail"), Blob([]byte{0, 1, 2, 255}), Int(-1 << 62), sql.NullString{String: "żółw\x00tail", Valid: true}, []byte{0, 1, 2, 255}, sql.NullInt64{Int64: -1 << 62, Valid: true}},
		{Text("b"), Text(""), Blob([]byte{}), Int(0), sql.NullString{Valid: true}, []byte{}, sql.NullInt64{Valid: true}},
		{Text("c"), Null(), Blob(nil), Null(), sql.NullString{}, nil, sql.NullInt64{}},
		{Text("d"), TextBytes([]byte(`{"x":1}`)), Null(), Int(7), sql.NullString{String: `{"x":1}`, Valid: true}, nil, sql.NullInt64{Int64: 7, Valid: true}},
	}
	for _, r := range rows {
		n, err := ins.Exec(r.k, r.s, r.b, r.i)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
	}
	for _, r := range rows {
		var s sql.NullString
		var b []byte
		var i sql.NullInt64
		var typ string
		require.NoError(t, db.QueryRow(`SELECT s, b, i, typeof(b) FROM t WHERE k = ?`, r.k.s).Scan(&s, &b, &i, &typ))
		require.Equal(t, r.wantS, s, r.k.s)
		require.Equal(t, r.wantI, i, r.k.s)
		if r.wantB == nil {
			require.Equal(t, "null", typ, r.k.s)
		} else {
			require.Equal(t, "blob", typ, r.k.s)
			require.True(t, bytes.Equal(r.wantB, b), r.k.s)
		}
	}
	require.EqualValues(t, 4, c.LastInsertRowID())
}

// Arguments larger than the arena grow it, and a later small statement
// shrinks it again; the values are intact either way.
func TestConnArenaGrowsAndShrinks(t *testing.T) {
	db, c := openBoth(t)
	ins, err := c.Prepare(`INSERT INTO t (k, s, b) VALUES (?, ?, ?)`)
	require.NoError(t, err)
	big := strings.Repeat("x", 9<<20)
	_, err = ins.Exec(Text("big"), Text(big), Blob([]byte(big[:1<<20])))
	require.NoError(t, err)
	require.Greater(t, c.arenaLen, 10<<20)
	_, err = ins.Exec(Text("small"), Text("s"), Null())
	require.NoError(t, err)
	require.Equal(t, 64<<10, c.arenaLen, "given back after a small statement")
	var n int
	require.NoError(t, db.QueryRow(`SELECT length(s) + length(b) FROM t WHERE k = 'big'`).Scan(&n))
	require.Equal(t, 10<<20, n)
}

// QueryInt64 tells a missing row from a zero; a statement reports the
// rows it changed.
func TestConnQueryAndChanges(t *testing.T) {
	_, c := openBoth(t)
	require.NoError(t, c.Exec(`INSERT INTO t (k, i) VALUES ('a', 0), ('b', 5)`))
	q, err := c.Prepare(`SELECT i FROM t WHERE k = ?`)
	require.NoError(t, err)
	for k, want := range map[string]struct {
		v     int64
		found bool
	}{"a": {0, true}, "b": {5, true}, "zz": {0, false}} {
		v, found, err := q.QueryInt64(Text(k))
		require.NoError(t, err)
		require.Equal(t, want.found, found, k)
		require.Equal(t, want.v, v, k)
	}
	up, err := c.Prepare(`UPDATE t SET i = i + 1`)
	require.NoError(t, err)
	n, err := up.Exec()
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
}

// Bad input gives errors that say what went wrong, and the statement is
// usable after them.
func TestConnErrors(t *testing.T) {
	_, c := openBoth(t)
	_, err := c.Prepare(`INSERT INTO nope VALUES (1)`)
	require.ErrorContains(t, err, "no such table: nope")
	_, err = c.Prepare(`  `)
	require.ErrorContains(t, err, "no statement")

	ins, err := c.Prepare(`INSERT INTO t (k) VALUES (?)`)
	require.NoError(t, err)
	_, err = ins.Exec()
	require.ErrorContains(t, err, "0 arguments for 1 parameters")
	_, err = ins.Exec(Text("a"))
	require.NoError(t, err)
	_, err = ins.Exec(Text("a"))
	var se *Error
	require.True(t, errors.As(err, &se), "%v", err)
	require.Equal(t, 2067, se.Code, "SQLITE_CONSTRAINT_UNIQUE") // extended codes are on
	require.ErrorContains(t, err, "UNIQUE constraint failed: t.k")
	_, err = ins.Exec(Text("b"))
	require.NoError(t, err, "usable after an error")
}

// The Conn has Open's pragmas, and waits (busy_timeout) for a write lock
// another connection holds instead of failing at once.
func TestConnPragmasAndBusyWait(t *testing.T) {
	db, c := openBoth(t)
	for pragma, want := range map[string]int64{"synchronous": 2, "foreign_keys": 1, "busy_timeout": 10000} {
		st, err := c.Prepare(`PRAGMA ` + pragma)
		require.NoError(t, err)
		v, found, err := st.QueryInt64()
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, want, v, pragma)
	}
	mode, err := c.Prepare(`PRAGMA journal_mode`)
	require.NoError(t, err)
	_, found, err := mode.QueryInt64()
	require.NoError(t, err)
	require.True(t, found)

	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil) // _txlock=immediate: holds the write lock
	require.NoError(t, err)
	_, err = tx.Exec(`INSERT INTO t (k) VALUES ('pool')`)
	require.NoError(t, err)
	released := make(chan time.Time, 1)
	go func() {
		time.Sleep(200 * time.Millisecond)
		released <- time.Now()
		_ = tx.Commit()
	}()
	require.NoError(t, c.Exec(`INSERT INTO t (k) VALUES ('conn')`))
	require.False(t, time.Now().Before(<-released), "the Conn's insert waited for the pool's commit")
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM t`).Scan(&n))
	require.Equal(t, 2, n)
}

// A missing file is an error, not a new empty database.
func TestOpenConnMissingFile(t *testing.T) {
	_, err := OpenConn(filepath.Join(t.TempDir(), "missing.db"))
	require.ErrorContains(t, err, "unable to open")
}

// A Conn opens the file Open opened, whatever characters its name has
// (Open's are URIs, a Conn's plain names: '?' and '%' stay literal).
func TestOpenConnOddPaths(t *testing.T) {
	for _, name := range []string{"a?b.db", "a#b.db", "a%20b.db", "sp ace.db", "mode=memory?x=1#.db", "żółw.db"} {
		path := filepath.Join(t.TempDir(), name)
		db, err := Open(path)
		require.NoError(t, err)
		var file string
		require.NoError(t, db.QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file))
		require.Equal(t, path, file, "what the journal opens its writer on")
		_, err = db.Exec(`CREATE TABLE t (v TEXT)`)
		require.NoError(t, err)
		c, err := OpenConn(file)
		require.NoError(t, err, name)
		require.NoError(t, c.Exec(`INSERT INTO t VALUES ('from conn')`))
		require.NoError(t, c.Close())
		var v string
		require.NoError(t, db.QueryRow(`SELECT v FROM t`).Scan(&v), name)
		require.Equal(t, "from conn", v)
		require.NoError(t, db.Close())
	}
}
