package journal

import (
	"fmt"
	"strconv"
	"time"

	"github.com/hookflow/hookflow/ingress/sqlite"
)

// sqliteWriter is the SQLite journal's group commit: its own connection to
// the database file, driven through SQLite's C API rather than
// database/sql (see sqlite.Conn), with its statements prepared once and
// its argument and text buffers kept from group to group. Through
// database/sql a sequential delivery cost about 70 heap allocations here
// (boxing every column, binding, a Stmt, Rows and Result per statement, a
// Tx per group); through the Conn it costs none once the buffers have
// grown. Only the committer's goroutine uses it, until close.
//
// A group is one transaction of one-row statements: an INSERT per entry
// and per route, prepared once, stepped in process. SQLite has no round
// trip to save, and a multi-row INSERT into a table with a unique index
// (deliveries' dedup index, routes' primary key) makes it keep a
// statement journal, a copy of every page the statement touches, in case
// a row half-way fails (even as INSERT OR IGNORE). BenchmarkSQLiteAppend,
// three alternated runs: multi-row 94-98 us/op at 8 KiB and 63-72 at
// 1 KiB; one-row 85-88 and 55-59.
type sqliteWriter struct {
	conn                      *sqlite.Conn
	begin, commitTx, rollback *sqlite.Stmt
	insertOne, insertRoute    *sqlite.Stmt
	findOriginal, insertDup   *sqlite.Stmt
	anyPaused, holdIfPaused   *sqlite.Stmt
	now                       func() time.Time

	// Reused from group to group: the arguments of the statement being
	// run and the JSON text columns they point into.
	args []sqlite.Arg
	text []byte
	// routed is the range of sequence numbers of the group's new entries
	// with routes (first and last; zero when none).
	routed [2]int64
}

const (
	// holdIfPausedSQL holds the accepted routes of the entries numbered
	// ?1 to ?2 whose workflow or integration is paused. One statement per
	// group, not per entry: SQLite (built with STAT4) expires a statement
	// whose parameter it compared with a partial index's WHERE when that
	// parameter is bound anew, so a per-entry statement was parsed and
	// planned again for every entry (over a third of the writer's time
	// while anything was paused). The writer holds the write lock, so the
	// range holds this group's entries only.
	holdIfPausedSQL = `UPDATE routes SET status = 'held' WHERE status = 'accepted' AND seq BETWEEN ?1 AND ?2 AND ` + pausedSQL
	findOriginalSQL = `SELECT seq FROM deliveries WHERE integration_id = ? AND dedup_key = ?`
	// insertOneSQL inserts an entry unless its dedup key is journaled
	// (AUTOINCREMENT numbers it).
	insertOneSQL = insertSQL + ` ON CONFLICT (integration_id, dedup_key) DO NOTHING`
	// insertRouteRowSQL inserts a route; the one conflict a route can meet is
	// a repeat of its (entry, workflow).
	insertRouteRowSQL = routeHead + `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)` + routeTail
)

// openSQLiteWriter opens the writer's connection to the database at path.
func openSQLiteWriter(path string, now func() time.Time) (*sqliteWriter, error) {
	conn, err := sqlite.OpenConn(path)
	if err != nil {
		return nil, fmt.Errorf("journal: writer: %w", err)
	}
	w := &sqliteWriter{conn: conn, now: now}
	for _, p := range []struct {
		st **sqlite.Stmt
		q  string
	}{
		{&w.begin, `BEGIN IMMEDIATE`}, {&w.commitTx, `COMMIT`}, {&w.rollback, `ROLLBACK`},
		{&w.insertOne, insertOneSQL}, {&w.insertRoute, insertRouteRowSQL},
		{&w.findOriginal, findOriginalSQL}, {&w.insertDup, insertSQL},
		{&w.anyPaused, `SELECT EXISTS (SELECT 1 FROM paused)`}, {&w.holdIfPaused, holdIfPausedSQL},
	} {
		if *p.st, err = conn.Prepare(p.q); err != nil {
			conn.Close()
			return nil, fmt.Errorf("journal: writer: %w", err)
		}
	}
	return w, nil
}

func (w *sqliteWriter) close() error { return w.conn.Close() }

// commit writes a group in one transaction.
func (w *sqliteWriter) commit(batch []*appendReq) error {
	if _, err := w.begin.Exec(); err != nil {
		return fmt.Errorf("journal: begin: %w", err)
	}
	if err := w.write(batch); err != nil {
		_, _ = w.rollback.Exec() // fails only when SQLite rolled back itself
		return err
	}
	if _, err := w.commitTx.Exec(); err != nil {
		_, _ = w.rollback.Exec()
		return fmt.Errorf("journal: commit: %w", err)
	}
	return nil
}

// write inserts the group's entries in order, each then its routes; a
// redelivery (its dedup key journaled, earlier in the group too) is
// recorded as a Duplicate row without routes.
func (w *sqliteWriter) write(batch []*appendReq) error {
	now := w.now()
	w.routed = [2]int64{}
	for _, r := range batch {
		if err := w.insert(r, now); err != nil {
			return err
		}
		if r.res.Duplicate || len(r.entry.Routes) == 0 {
			continue
		}
		if w.routed[0] == 0 {
			w.routed[0] = r.res.Seq
		}
		w.routed[1] = r.res.Seq // numbers only grow within the group
		if err := w.insertRoutes(r, now); err != nil {
			return err
		}
	}
	return w.holdPaused()
}

// insert inserts r's entry and sets its result.
func (w *sqliteWriter) insert(r *appendReq, now time.Time) error {
	w.args, w.text = w.args[:0], w.text[:0]
	w.appendEntryArgs(r, now)
	n, err := w.insertOne.Exec(w.args...)
	if err != nil {
		return fmt.Errorf("journal: insert: %w", err)
	}
	if n == 1 {
		r.res = AppendResult{Seq: w.conn.LastInsertRowID()}
		return nil
	}
	return w.insertDuplicate(r, now)
}

// insertDuplicate records a redelivery, payload-less, for the console.
func (w *sqliteWriter) insertDuplicate(r *appendReq, now time.Time) error {
	ev := r.entry.Event
	original, found, err := w.findOriginal.QueryInt64(sqlite.Text(ev.Integration), sqlite.Text(ev.DeliveryID))
	if err == nil && !found {
		err = fmt.Errorf("no entry %q of integration %q", ev.DeliveryID, ev.Integration)
	}
	if err != nil {
		return fmt.Errorf("journal: find original: %w", err)
	}
	w.args, w.text = w.args[:0], w.text[:0]
	w.appendEntryArgs(r, now)
	a := w.args
	a[2], a[6], a[7], a[8], a[11], a[12], a[15] = sqlite.Null(), sqlite.Text(string(Duplicate)),
		sqlite.Text("redelivery of entry "+strconv.FormatInt(original, 10)), sqlite.Text("[]"), sqlite.Null(), sqlite.Text(""), sqlite.Int(0)
	if _, err := w.insertDup.Exec(a...); err != nil {
		return fmt.Errorf("journal: insert duplicate: %w", err)
	}
	r.res = AppendResult{Seq: w.conn.LastInsertRowID(), Duplicate: true, Original: original}
	return nil
}

// appendEntryArgs appends r's entry's insertSQL arguments to w.args, its
// JSON text columns written into w.text.
func (w *sqliteWriter) appendEntryArgs(r *appendReq, now time.Time) {
	e := r.entry
	ev := e.Event
	if ev.ReceivedAt.IsZero() {
		ev.ReceivedAt = now
	}
	var wf, keys, meta []byte
	w.text, wf, keys, meta = appendTextColumns(w.text, e)
	dedup := sqlite.Null()
	if d, ok := dedupKey(e).(string); ok {
		dedup = sqlite.Text(d)
	}
	w.args = append(w.args, sqlite.Text(ev.Integration), sqlite.Text(ev.DeliveryID), dedup, sqlite.Text(ev.Source),
		sqlite.Text(ev.Type), sqlite.Text(ev.Action), sqlite.Text(string(e.Status)), sqlite.Text(e.Reason),
		sqlite.TextBytes(wf), sqlite.TextBytes(keys), sqlite.TextBytes(meta), sqlite.Blob(r.payload), sqlite.Text(r.codec),
		sqlite.Int(ev.ReceivedAt.UnixNano()), sqlite.Int(now.UnixNano()), sqlite.Int(int64(len(ev.Payload))), sqlite.Text(ev.TraceParent))
}

// insertRoutes inserts the routes of r's entry.
func (w *sqliteWriter) insertRoutes(r *appendReq, now time.Time) error {
	ts := now.UnixNano()
	for i, rt := range r.entry.Routes {
		w.args = append(w.args[:0], sqlite.Int(r.res.Seq), sqlite.Int(int64(i)), sqlite.Text(rt.WorkflowID), sqlite.Text(rt.Blueprint),
			sqlite.Text(rt.Workflow), sqlite.Int(int64(PartitionOf(rt.WorkflowID))), sqlite.Text(string(rt.Status)), sqlite.Text(rt.Reason),
			sqlite.Int(0), sqlite.Int(ts))
		if _, err := w.insertRoute.Exec(w.args...); err != nil {
			return fmt.Errorf("journal: insert route: %w", err)
		}
	}
	return nil
}

// holdPaused stores as held the new accepted routes of the group whose
// workflow or integration is paused (see Pauses): one cheap query when
// nothing is, one statement over the group's entries when something is.
func (w *sqliteWriter) holdPaused() error {
	if w.routed[0] == 0 {
		return nil
	}
	paused, _, err := w.anyPaused.QueryInt64()
	if err != nil {
		return fmt.Errorf("journal: paused: %w", err)
	}
	if paused == 0 {
		return nil
	}
	if _, err := w.holdIfPaused.Exec(sqlite.Int(w.routed[0]), sqlite.Int(w.routed[1])); err != nil {
		return fmt.Errorf("journal: hold paused routes: %w", err)
	}
	return nil
}
