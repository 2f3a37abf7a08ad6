package journal

import (
	"fmt"
	"slices"
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
type sqliteWriter struct {
	conn                               *sqlite.Conn
	begin, commitTx, rollback          *sqlite.Stmt
	nextSeq, insertOne, findOriginal   *sqlite.Stmt
	insertDup, anyPaused, holdIfPaused *sqlite.Stmt
	// seqInserts and routeInserts are the multi-row statements by row
	// count, prepared on first use (parsing was a fifth of the writer's
	// CPU).
	seqInserts, routeInserts map[int]*sqlite.Stmt
	now                      func() time.Time

	// Reused from group to group: the arguments of the statement being
	// built, the JSON text columns they point into, a chunk's new
	// deliveries, the group's routes and their entries' sequence numbers.
	args       []sqlite.Arg
	text       []byte
	candidates []*appendReq
	routes     []routeRow
	seqs       []int64
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
)

const (
	insertHead = `INSERT INTO deliveries (integration_id, delivery_id, dedup_key, source, event, action, status, reason,
		workflow_ids, keys, meta, payload, payload_codec, received_at, updated_at, payload_size, trace_parent) VALUES `
	// insertCols is the number of columns insertHead names.
	insertCols = 17
)

// seqInsertHead is insertHead with the sequence number given.
const seqInsertHead = `INSERT OR IGNORE INTO deliveries (seq, integration_id, delivery_id, dedup_key, source, event, action, status, reason,
		workflow_ids, keys, meta, payload, payload_codec, received_at, updated_at, payload_size, trace_parent) VALUES `

// nextSeqSQL is the sequence number AUTOINCREMENT would give the next
// row: past the largest ever used, which sqlite_sequence keeps when the
// newest rows are pruned.
const nextSeqSQL = `SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'deliveries'), 0),
		coalesce((SELECT max(seq) FROM deliveries), 0)) + 1`

// oneTail ends the one-row entry insert.
const oneTail = ` ON CONFLICT (integration_id, dedup_key) DO NOTHING`

// sqliteRouteHead is routeHead as an INSERT OR IGNORE rather than ON
// CONFLICT DO NOTHING, for the reason insertChunk gives (no statement
// journal). The one conflict a route can meet is a repeat of its (entry,
// workflow).
const sqliteRouteHead = `INSERT OR IGNORE INTO routes (seq, ord, workflow_id, blueprint, workflow, part, status, reason, attempts, updated_at) VALUES `

// openSQLiteWriter opens the writer's connection to the database at path.
func openSQLiteWriter(path string, now func() time.Time) (*sqliteWriter, error) {
	conn, err := sqlite.OpenConn(path)
	if err != nil {
		return nil, fmt.Errorf("journal: writer: %w", err)
	}
	w := &sqliteWriter{conn: conn, now: now, seqInserts: map[int]*sqlite.Stmt{}, routeInserts: map[int]*sqlite.Stmt{}}
	for _, p := range []struct {
		st **sqlite.Stmt
		q  string
	}{
		{&w.begin, `BEGIN IMMEDIATE`}, {&w.commitTx, `COMMIT`}, {&w.rollback, `ROLLBACK`},
		{&w.nextSeq, nextSeqSQL}, {&w.insertOne, multiRowSQL(insertHead, oneTail, insertCols, 1)},
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

// commit writes a group in one transaction: its entries with one
// multi-row INSERT per power-of-two slice of the group (a group of 50 is
// three statements), then their routes likewise, instead of two
// statements per entry.
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

func (w *sqliteWriter) write(batch []*appendReq) error {
	now := w.now()
	for rest := batch; len(rest) > 0; {
		n := chunkLen(len(rest))
		if err := w.insertChunk(rest[:n], now); err != nil {
			return err
		}
		rest = rest[n:]
	}
	w.routes, w.seqs = w.routes[:0], w.seqs[:0]
	for _, r := range batch {
		if r.res.Duplicate || len(r.entry.Routes) == 0 {
			continue
		}
		w.seqs = append(w.seqs, r.res.Seq)
		for i, rt := range r.entry.Routes {
			w.routes = append(w.routes, routeRow{seq: r.res.Seq, ord: i, r: rt})
		}
	}
	for routes := w.routes; len(routes) > 0; {
		n := chunkLen(len(routes))
		if err := w.insertRouteChunk(routes[:n], now); err != nil {
			return err
		}
		routes = routes[n:]
	}
	return w.holdPaused()
}

// insertChunk inserts chunk's entries in one statement and sets each
// request's result; a redelivery (its dedup key already journaled, or
// earlier in the chunk) is recorded as a Duplicate row after.
//
// The statement is an INSERT OR IGNORE that gives each row its sequence
// number: the writer holds the write lock from BEGIN IMMEDIATE, so the
// next numbers are known, and a row the dedup index turns away shows as a
// shortfall in the rows changed. ON CONFLICT DO NOTHING RETURNING seq,
// its first form, made SQLite keep a statement journal of every page the
// statement touched (a multi-row insert that may abort half-way needs one)
// and gather the returned rows in an ephemeral table: a third of the
// writer's CPU, most of it modernc.org/libc mapping and unmapping memory.
func (w *sqliteWriter) insertChunk(chunk []*appendReq, now time.Time) error {
	if len(chunk) == 1 {
		return w.insertLone(chunk[0], now)
	}
	next, _, err := w.nextSeq.QueryInt64()
	if err != nil {
		return fmt.Errorf("journal: next sequence number: %w", err)
	}
	w.candidates = firstOfEachDelivery(w.candidates[:0], chunk)
	candidates := w.candidates
	st, err := w.stmtFor(w.seqInserts, seqInsertHead, insertCols+1, len(candidates))
	if err != nil {
		return err
	}
	for _, r := range chunk {
		r.res = AppendResult{}
	}
	w.args, w.text = w.args[:0], w.text[:0]
	for i, r := range candidates {
		r.res.Seq = next + int64(i)
		w.args = append(w.args, sqlite.Int(r.res.Seq))
		w.appendEntryArgs(r, now)
	}
	// Not kept past the chunk: the requests hold their bodies.
	defer clear(w.candidates)
	n, err := st.Exec(w.args...)
	if err != nil {
		return fmt.Errorf("journal: insert: %w", err)
	}
	if n != int64(len(candidates)) {
		// Some were redeliveries of journaled entries, turned away: their
		// dedup keys name rows with other numbers than the ones given.
		inserted, err := w.inserted(candidates, next)
		if err != nil {
			return err
		}
		if inserted != n {
			return fmt.Errorf("journal: insert wrote %d rows for %d new entries", n, inserted)
		}
	}
	for _, r := range chunk {
		if r.res.Seq == 0 {
			if err := w.insertDuplicate(r, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// inserted clears the results of the candidates the insert turned away
// (given the numbers from next on) and counts the others: those without a
// dedup key, and those whose dedup key's entry has the number given.
func (w *sqliteWriter) inserted(candidates []*appendReq, next int64) (int64, error) {
	var n int64
	for i, r := range candidates {
		d, ok := dedupKey(r.entry).(string)
		if !ok {
			n++
			continue
		}
		seq, found, err := w.findOriginal.QueryInt64(sqlite.Text(r.entry.Event.Integration), sqlite.Text(d))
		if err != nil {
			return 0, fmt.Errorf("journal: find entry: %w", err)
		}
		if found && seq == next+int64(i) {
			n++
		} else {
			r.res = AppendResult{}
		}
	}
	return n, nil
}

// insertLone inserts a group's one entry without naming its sequence
// number (AUTOINCREMENT gives it): one statement, no look-up first.
func (w *sqliteWriter) insertLone(r *appendReq, now time.Time) error {
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

// insertRouteChunk inserts routes in one statement.
func (w *sqliteWriter) insertRouteChunk(routes []routeRow, now time.Time) error {
	st, err := w.stmtFor(w.routeInserts, sqliteRouteHead, 10, len(routes))
	if err != nil {
		return err
	}
	w.args = w.args[:0]
	ts := now.UnixNano()
	for _, rr := range routes {
		r := rr.r
		w.args = append(w.args, sqlite.Int(rr.seq), sqlite.Int(int64(rr.ord)), sqlite.Text(r.WorkflowID), sqlite.Text(r.Blueprint),
			sqlite.Text(r.Workflow), sqlite.Int(int64(PartitionOf(r.WorkflowID))), sqlite.Text(string(r.Status)), sqlite.Text(r.Reason),
			sqlite.Int(0), sqlite.Int(ts))
	}
	if _, err := st.Exec(w.args...); err != nil {
		return fmt.Errorf("journal: insert route: %w", err)
	}
	return nil
}

// holdPaused stores as held the new accepted routes of the group whose
// workflow or integration is paused (see Pauses): one cheap query when
// nothing is, one statement over the group's entries when something is.
func (w *sqliteWriter) holdPaused() error {
	if len(w.seqs) == 0 {
		return nil
	}
	paused, _, err := w.anyPaused.QueryInt64()
	if err != nil {
		return fmt.Errorf("journal: paused: %w", err)
	}
	if paused == 0 {
		return nil
	}
	if _, err := w.holdIfPaused.Exec(sqlite.Int(slices.Min(w.seqs)), sqlite.Int(slices.Max(w.seqs))); err != nil {
		return fmt.Errorf("journal: hold paused routes: %w", err)
	}
	return nil
}

// stmtFor returns the prepared statement of n rows of values (cols
// placeholders each) after head, preparing it the first time.
func (w *sqliteWriter) stmtFor(cache map[int]*sqlite.Stmt, head string, cols, n int) (*sqlite.Stmt, error) {
	if st := cache[n]; st != nil {
		return st, nil
	}
	st, err := w.conn.Prepare(multiRowSQL(head, "", cols, n))
	if err != nil {
		return nil, fmt.Errorf("journal: prepare %d-row insert: %w", n, err)
	}
	cache[n] = st
	return st, nil
}
