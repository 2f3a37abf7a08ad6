package sqlite

import (
	"errors"
	"fmt"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// Conn is one connection to a database file driven through SQLite's own C
// API (modernc.org/sqlite/lib, the same pure-Go SQLite the database/sql
// driver runs), for a hot path that database/sql makes allocate: a
// statement is prepared once and run with arguments bound from a typed
// slice, with no boxing into interfaces, no per-call statement or result
// objects and no per-argument C allocation. It opens the file with the
// pragmas Open gives its pool, beside that pool.
//
// A Conn is not safe for concurrent use: one goroutine at a time.
type Conn struct {
	tls *libc.TLS
	db  uintptr
	// arena is C memory (SQLite's allocator, outside the Go heap) that
	// text and blob arguments are copied into for the statement being
	// run, bound SQLITE_STATIC (SQLite reads them where they are), grown
	// as needed; out is C memory that open and prepare write the handle
	// they return to. The transpiled C code may only be given addresses
	// outside the Go heap (checkptr enforces it).
	arena    uintptr
	arenaLen int
	out      uintptr
	stmts    []*Stmt
}

// Stmt is a statement prepared on a Conn, finalized when the Conn closes.
type Stmt struct {
	c *Conn
	p uintptr
}

// Arg is one statement argument: an integer, a text, a blob or NULL.
type Arg struct {
	kind argKind
	i    int64
	s    string
	b    []byte
}

type argKind uint8

const (
	argNull argKind = iota
	argInt
	argText
	argBlob
)

// Int is an integer argument.
func Int(i int64) Arg { return Arg{kind: argInt, i: i} }

// Text is a text argument.
func Text(s string) Arg { return Arg{kind: argText, s: s} }

// TextBytes is a text argument held in b.
func TextBytes(b []byte) Arg { return Arg{kind: argText, b: b} }

// Blob is a blob argument; a nil b is NULL, as database/sql binds it.
func Blob(b []byte) Arg {
	if b == nil {
		return Arg{}
	}
	return Arg{kind: argBlob, b: b}
}

// Null is a NULL argument.
func Null() Arg { return Arg{} }

// OpenConn opens the database file at path (which Open has created) with
// Open's pragmas.
func OpenConn(path string) (*Conn, error) {
	c := &Conn{tls: libc.NewTLS()}
	if c.out = libc.Xmalloc(c.tls, 8); c.out == 0 {
		c.tls.Close()
		return nil, errors.New("sqlite: out of memory")
	}
	name, err := libc.CString(path)
	if err != nil {
		c.Close()
		return nil, err
	}
	defer libc.Xfree(c.tls, name)
	rc := sqlite3.Xsqlite3_open_v2(c.tls, name, c.out, sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	c.db = *(*uintptr)(cPointer(c.out))
	if rc != sqlite3.SQLITE_OK {
		err := c.error(rc)
		c.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	sqlite3.Xsqlite3_extended_result_codes(c.tls, c.db, 1)
	for _, p := range pragmas {
		if err := c.Exec("PRAGMA " + p.name + " = " + p.value); err != nil {
			c.Close()
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
	}
	return c, nil
}

// Exec prepares and runs query once, without arguments.
func (c *Conn) Exec(query string) error {
	st, err := c.prepare(query)
	if err != nil {
		return err
	}
	defer sqlite3.Xsqlite3_finalize(c.tls, st.p)
	_, err = st.Exec()
	return err
}

// Prepare prepares query for running many times.
func (c *Conn) Prepare(query string) (*Stmt, error) {
	st, err := c.prepare(query)
	if err != nil {
		return nil, err
	}
	c.stmts = append(c.stmts, st)
	return st, nil
}

func (c *Conn) prepare(query string) (*Stmt, error) {
	z, err := libc.CString(query)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(c.tls, z)
	*(*uintptr)(cPointer(c.out)) = 0
	if rc := sqlite3.Xsqlite3_prepare_v2(c.tls, c.db, z, -1, c.out, 0); rc != sqlite3.SQLITE_OK {
		return nil, fmt.Errorf("sqlite: prepare: %w", c.error(rc))
	}
	p := *(*uintptr)(cPointer(c.out))
	if p == 0 {
		return nil, errors.New("sqlite: prepare: no statement in the query")
	}
	return &Stmt{c: c, p: p}, nil
}

// LastInsertRowID is the rowid of the last row an INSERT on c wrote.
func (c *Conn) LastInsertRowID() int64 { return sqlite3.Xsqlite3_last_insert_rowid(c.tls, c.db) }

// Close finalizes c's statements and closes it.
func (c *Conn) Close() error {
	for _, st := range c.stmts {
		sqlite3.Xsqlite3_finalize(c.tls, st.p)
	}
	c.stmts = nil
	var err error
	if c.db != 0 {
		if rc := sqlite3.Xsqlite3_close_v2(c.tls, c.db); rc != sqlite3.SQLITE_OK {
			err = c.error(rc)
		}
		c.db = 0
	}
	libc.Xfree(c.tls, c.arena)
	libc.Xfree(c.tls, c.out)
	c.arena, c.arenaLen, c.out = 0, 0, 0
	c.tls.Close()
	return err
}

// Error is an error SQLite returned, with its extended result code.
type Error struct {
	Code int
	msg  string
}

func (e *Error) Error() string { return e.msg }

func (c *Conn) error(rc int32) error {
	msg := libc.GoString(sqlite3.Xsqlite3_errstr(c.tls, rc))
	if c.db != 0 {
		if ext := sqlite3.Xsqlite3_extended_errcode(c.tls, c.db); ext == rc || ext&0xff == rc&0xff {
			msg += ": " + libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db))
		}
	}
	return &Error{Code: int(rc), msg: fmt.Sprintf("%s (%d)", msg, rc)}
}

// Exec runs st with args, to completion, and returns the rows it changed.
func (st *Stmt) Exec(args ...Arg) (int64, error) {
	if err := st.run(args, func() error { return nil }); err != nil {
		return 0, err
	}
	return sqlite3.Xsqlite3_changes64(st.c.tls, st.c.db), nil
}

// QueryInt64 runs st with args and returns the first column of its first
// row; found is false when there is none.
func (st *Stmt) QueryInt64(args ...Arg) (v int64, found bool, err error) {
	err = st.run(args, func() error {
		if !found {
			found = true
			v = sqlite3.Xsqlite3_column_int64(st.c.tls, st.p, 0)
		}
		return nil
	})
	return v, found, err
}

// run binds args, steps st until it is done, calling row at each row, and
// resets it.
func (st *Stmt) run(args []Arg, row func() error) error {
	c := st.c
	defer func() {
		sqlite3.Xsqlite3_reset(c.tls, st.p)
		sqlite3.Xsqlite3_clear_bindings(c.tls, st.p)
	}()
	if err := st.bind(args); err != nil {
		return err
	}
	for {
		switch rc := sqlite3.Xsqlite3_step(c.tls, st.p); rc {
		case sqlite3.SQLITE_DONE:
			return nil
		case sqlite3.SQLITE_ROW:
			if err := row(); err != nil {
				return err
			}
		default:
			return c.error(rc)
		}
	}
}

// bind binds args to st's parameters 1..len(args), copying texts and
// blobs into c's arena (valid until the next run: SQLITE_STATIC).
func (st *Stmt) bind(args []Arg) error {
	c := st.c
	if n := int(sqlite3.Xsqlite3_bind_parameter_count(c.tls, st.p)); n != len(args) {
		return fmt.Errorf("sqlite: %d arguments for %d parameters", len(args), n)
	}
	size := 0
	for i := range args {
		size += len(args[i].s) + len(args[i].b)
	}
	if err := c.reserve(size); err != nil {
		return err
	}
	arena := unsafe.Slice((*byte)(cPointer(c.arena)), c.arenaLen)
	base := c.arena
	off := 0
	for i := range args {
		a := &args[i]
		idx := int32(i + 1)
		var rc int32
		switch a.kind {
		case argInt:
			rc = sqlite3.Xsqlite3_bind_int64(c.tls, st.p, idx, a.i)
		case argText:
			n := copy(arena[off:], a.s)
			n += copy(arena[off+n:], a.b)
			rc = sqlite3.Xsqlite3_bind_text(c.tls, st.p, idx, base+uintptr(off), int32(n), 0)
			off += n
		case argBlob:
			n := copy(arena[off:], a.b)
			rc = sqlite3.Xsqlite3_bind_blob(c.tls, st.p, idx, base+uintptr(off), int32(n), 0)
			off += n
		default:
			rc = sqlite3.Xsqlite3_bind_null(c.tls, st.p, idx)
		}
		if rc != sqlite3.SQLITE_OK {
			return fmt.Errorf("sqlite: bind argument %d: %w", idx, c.error(rc))
		}
	}
	return nil
}

// reserve makes the arena hold more than size bytes, so that even an empty
// text binds a pointer into it (SQLite reads a NULL pointer as NULL). An
// arena grown for one large statement is given back once a statement a
// quarter its size follows.
func (c *Conn) reserve(size int) error {
	const least, large = 64 << 10, 4 << 20
	n := c.arenaLen
	switch {
	case size >= n:
		n = max(size+1, 2*n, least)
	case n > large && size < n/4:
		n = max(size+1, least)
	default:
		return nil
	}
	p := libc.Xrealloc(c.tls, c.arena, types.Size_t(n))
	if p == 0 {
		return errors.New("sqlite: out of memory")
	}
	c.arena, c.arenaLen = p, n
	return nil
}

// cPointer is the C address p as a pointer. C memory is outside the Go
// heap, so the collector neither moves nor frees it; the conversion goes
// through p's own storage because go vet cannot tell C addresses from
// stale Go ones.
func cPointer(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }
