package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hookflow/hookflow/ingress/postgres"
)

// The JSON columns are TEXT rather than JSONB: jsonb refuses "\u0000",
// which a sender can put in a header or key, and a refused row would fail
// the whole group commit it shares.
var postgresMigrations = []string{
	`CREATE TABLE deliveries (
		seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		integration_id TEXT        NOT NULL,
		delivery_id    TEXT        NOT NULL,
		dedup_key      TEXT,
		source         TEXT        NOT NULL,
		event          TEXT        NOT NULL,
		action         TEXT        NOT NULL DEFAULT '',
		status         TEXT        NOT NULL,
		reason         TEXT        NOT NULL DEFAULT '',
		workflow_ids   TEXT        NOT NULL DEFAULT '[]',
		keys           TEXT        NOT NULL DEFAULT '{}',
		meta           TEXT        NOT NULL DEFAULT '{}',
		payload        BYTEA,
		received_at    TIMESTAMPTZ NOT NULL,
		updated_at     TIMESTAMPTZ NOT NULL,
		attempts       INTEGER     NOT NULL DEFAULT 0
	);
	CREATE UNIQUE INDEX deliveries_dedup ON deliveries (integration_id, dedup_key);
	CREATE INDEX deliveries_pending ON deliveries (seq) WHERE status = 'accepted';
	CREATE INDEX deliveries_status ON deliveries (status, seq);
	CREATE INDEX deliveries_received ON deliveries (received_at);`,
	// Routes, as in the SQLite journal (see sqliteMigrations); two
	// replicas starting at once are serialized by postgres.Migrate.
	`ALTER TABLE deliveries ADD COLUMN payload_size BIGINT NOT NULL DEFAULT 0;
	ALTER TABLE deliveries ADD COLUMN payload_codec TEXT NOT NULL DEFAULT '';
	UPDATE deliveries SET payload_size = length(payload) WHERE payload IS NOT NULL;
	CREATE TABLE routes (
		seq         BIGINT      NOT NULL,
		ord         INTEGER     NOT NULL,
		workflow_id TEXT        NOT NULL,
		blueprint   TEXT        NOT NULL,
		workflow    TEXT        NOT NULL DEFAULT '',
		part        INTEGER     NOT NULL,
		status      TEXT        NOT NULL,
		reason      TEXT        NOT NULL DEFAULT '',
		attempts    INTEGER     NOT NULL DEFAULT 0,
		updated_at  TIMESTAMPTZ NOT NULL,
		PRIMARY KEY (seq, workflow_id)
	);
	CREATE INDEX routes_pending ON routes (seq, ord) WHERE status = 'accepted';
	CREATE INDEX routes_workflow ON routes (workflow_id, seq);
	CREATE TABLE route_backoff (workflow_id TEXT PRIMARY KEY, until TIMESTAMPTZ NOT NULL);`,
	// The paused set (pause.go).
	pauseMigration("TIMESTAMPTZ"),
	// The trace each delivery was accepted in (Event.TraceParent).
	traceMigration,
	// The admin audit log (audit.go).
	auditMigration("BIGSERIAL PRIMARY KEY", "TIMESTAMPTZ"),
}

// Postgres is the journal several ingress replicas share. Appends are
// group-committed: concurrent callers in one process share one transaction
// and one WAL flush (see ingress/postgres.Open for synchronous_commit).
// Deduplication holds across replicas: the unique index makes a second
// replica appending the same delivery wait for the first one's commit.
//
// Sequence numbers are taken when a row is inserted, and replicas commit
// independently, so a smaller sequence number may become visible after a
// larger one. Pending therefore always reads every Accepted entry rather
// than resuming after the last one seen. Each partition is forwarded by one
// replica at a time: see LeasePartitions (and Lead, the older
// one-leader-for-all form).
//
// Timestamps are stored with microsecond precision.
type Postgres struct {
	routeStore
	db    *sql.DB
	group *committer
	now   func() time.Time

	leaderKey int64
	// leaderPoll is how often a waiting Lead retries the lock and a
	// leader checks its session.
	leaderPoll time.Duration
	mu         sync.Mutex
	closed     bool
	// leases are the held leadership and partition leases, released by
	// Close.
	leases map[releaser]struct{}
}

var _ Journal = (*Postgres)(nil)

// OpenPostgres opens the journal in db (see ingress/postgres.Open) and
// runs its migrations. Closing the journal leaves db open.
func OpenPostgres(ctx context.Context, db *sql.DB) (*Postgres, error) {
	if err := postgres.Migrate(ctx, db, "journal", postgresMigrations); err != nil {
		return nil, err
	}
	key, err := postgres.LockKey(ctx, db, "forwarder")
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	j := &Postgres{
		db: db, now: time.Now,
		leaderKey: key, leaderPoll: time.Second, leases: map[releaser]struct{}{},
	}
	j.routeStore = routeStore{db: db, now: func() time.Time { return j.now() }, d: dialect{rebind: postgres.Rebind, ts: func(t time.Time) any { return t }, lockRows: true,
		// SHARE ROW EXCLUSIVE waits for and blocks writers of routes, and
		// one pause for another (SHARE would let two deadlock).
		lockRoutes: `LOCK TABLE routes IN SHARE ROW EXCLUSIVE MODE`}}
	j.group = newCommitter(j.commitGroup)
	return j, nil
}

// Append implements Journal.
func (j *Postgres) Append(ctx context.Context, e Entry) (AppendResult, error) {
	prepareRoutes(&e)
	return j.group.append(ctx, &appendReq{entry: e})
}

// commitGroup commits batch, falling back to one commit per entry.
func (j *Postgres) commitGroup(batch []*appendReq) {
	err := j.commit(batch)
	if err != nil && len(batch) > 1 {
		// One entry PostgreSQL refuses (say, a NUL byte in a text
		// column), or a deadlock with another replica appending the same
		// deliveries in another order, must not fail the others: commit
		// each on its own. An entry whose first commit did go through is
		// found again as a duplicate.
		for _, r := range batch {
			r.err = j.commit([]*appendReq{r})
		}
		return
	}
	for _, r := range batch {
		r.err = err
	}
}

// commitTimeout bounds one group commit, so that appenders waiting on an
// unreachable server get an error (and senders a 5xx to retry) instead of
// hanging. A commit that timed out may still have gone through: the retry
// then finds the entry as a duplicate.
const commitTimeout = 30 * time.Second

func (j *Postgres) commit(batch []*appendReq) error {
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("journal: begin: %w", err)
	}
	defer tx.Rollback()
	now := j.now()
	if len(batch) == 1 {
		r := batch[0]
		if r.res, err = pgInsert(ctx, tx, r.entry, now); err != nil {
			return err
		}
		if !r.res.Duplicate {
			if err := j.insertRoutes(ctx, tx, r.res.Seq, r.entry.Routes, now); err != nil {
				return err
			}
		}
	} else if err := j.commitRows(ctx, tx, batch, now); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("journal: commit: %w", err)
	}
	return nil
}

// commitRows writes a group's entries with one multi-row INSERT per
// power-of-two slice of it, and their routes likewise, as the SQLite
// journal does; redeliveries go through pgInsert, which records them.
func (j *Postgres) commitRows(ctx context.Context, tx *sql.Tx, batch []*appendReq, now time.Time) error {
	for rest := batch; len(rest) > 0; {
		n := chunkLen(len(rest))
		chunk := rest[:n]
		rest = rest[n:]
		args := make([]any, 0, 16*n)
		for _, r := range chunk {
			r.res = AppendResult{}
			ev := r.entry.Event
			if ev.ReceivedAt.IsZero() {
				ev.ReceivedAt = now
			}
			wf, keys, meta := textColumns(r.entry)
			args = append(args, ev.Integration, ev.DeliveryID, dedupKey(r.entry), ev.Source, ev.Type, ev.Action, string(r.entry.Status), r.entry.Reason,
				wf, keys, meta, []byte(ev.Payload), ev.ReceivedAt, now, len(ev.Payload), ev.TraceParent)
		}
		q := multiRowSQL(pgInsertHead, pgInsertTail, 16, n)
		seqs, err := queryInts(ctx, tx, postgres.Rebind(q), args...)
		if err != nil {
			return fmt.Errorf("journal: insert: %w", err)
		}
		if err := assignSeqs(ctx, tx, chunk, seqs); err != nil {
			return err
		}
		for _, r := range chunk {
			if r.res.Seq == 0 {
				if r.res, err = pgInsert(ctx, tx, r.entry, now); err != nil {
					return err
				}
			}
		}
	}
	var routes []routeRow
	var seqs []int64
	for _, r := range batch {
		if r.res.Duplicate {
			continue
		}
		for i, rt := range r.entry.Routes {
			routes = append(routes, routeRow{seq: r.res.Seq, ord: i, r: rt})
		}
		seqs = append(seqs, r.res.Seq)
	}
	for len(routes) > 0 {
		n := chunkLen(len(routes))
		args := make([]any, 0, 10*n)
		for _, rr := range routes[:n] {
			r := rr.r
			args = append(args, rr.seq, rr.ord, r.WorkflowID, r.Blueprint, r.Workflow, PartitionOf(r.WorkflowID), string(r.Status), r.Reason, 0, now)
		}
		if _, err := tx.ExecContext(ctx, postgres.Rebind(multiRowSQL(routeHead, routeTail, 10, n)), args...); err != nil {
			return fmt.Errorf("journal: insert route: %w", err)
		}
		routes = routes[n:]
	}
	return j.holdPaused(ctx, tx, seqs)
}

const (
	pgInsertHead = `INSERT INTO deliveries (integration_id, delivery_id, dedup_key, source, event, action, status, reason,
	workflow_ids, keys, meta, payload, received_at, updated_at, payload_size, trace_parent) VALUES `
	pgInsertTail = ` ON CONFLICT (integration_id, dedup_key) DO NOTHING RETURNING seq`
)

const pgInsertSQL = `INSERT INTO deliveries (integration_id, delivery_id, dedup_key, source, event, action, status, reason,
	workflow_ids, keys, meta, payload, received_at, updated_at, payload_size, trace_parent)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`

func pgInsert(ctx context.Context, tx *sql.Tx, e Entry, now time.Time) (AppendResult, error) {
	ev := e.Event
	if ev.ReceivedAt.IsZero() {
		ev.ReceivedAt = now
	}
	dedup := dedupKey(e)
	wf, keys, meta := textColumns(e)
	args := []any{ev.Integration, ev.DeliveryID, dedup, ev.Source, ev.Type, ev.Action, string(e.Status), e.Reason,
		wf, keys, meta, []byte(ev.Payload), ev.ReceivedAt, now, len(ev.Payload), ev.TraceParent}
	// The original can vanish between the conflict and the look-up (a
	// prune); then the delivery is new again.
	for range 3 {
		var seq int64
		err := tx.QueryRowContext(ctx, pgInsertSQL+` ON CONFLICT (integration_id, dedup_key) DO NOTHING RETURNING seq`, args...).Scan(&seq)
		if err == nil {
			return AppendResult{Seq: seq}, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return AppendResult{}, fmt.Errorf("journal: insert: %w", err)
		}
		// A redelivery: record it, payload-less, for the console.
		var original int64
		err = tx.QueryRowContext(ctx, `SELECT seq FROM deliveries WHERE integration_id = $1 AND dedup_key = $2`,
			ev.Integration, ev.DeliveryID).Scan(&original)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return AppendResult{}, fmt.Errorf("journal: find original: %w", err)
		}
		dup := append([]any(nil), args...)
		dup[2], dup[6], dup[7], dup[8], dup[11], dup[14] = nil, string(Duplicate), fmt.Sprintf("redelivery of entry %d", original), "[]", nil, 0
		if err := tx.QueryRowContext(ctx, pgInsertSQL+` RETURNING seq`, dup...).Scan(&seq); err != nil {
			return AppendResult{}, fmt.Errorf("journal: insert duplicate: %w", err)
		}
		return AppendResult{Seq: seq, Duplicate: true, Original: original}, nil
	}
	return AppendResult{}, fmt.Errorf("journal: insert %s/%s: original keeps vanishing", ev.Integration, ev.DeliveryID)
}

// List implements Journal.
func (j *Postgres) List(ctx context.Context, f Filter) ([]Entry, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Status != "" {
		add("status = $%d", string(f.Status))
	}
	if f.Source != "" {
		add("source = $%d", f.Source)
	}
	if f.Integration != "" {
		add("integration_id = $%d", f.Integration)
	}
	if f.Event != "" {
		add("event = $%d", f.Event)
	}
	if f.Before > 0 {
		add("seq < $%d", f.Before)
	}
	if !f.Since.IsZero() {
		add("received_at >= $%d", f.Since)
	}
	if !f.Until.IsZero() {
		add("received_at < $%d", f.Until)
	}
	q := `SELECT ` + columns + ` FROM deliveries`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	es, err := j.query(ctx, false, q+fmt.Sprintf(` ORDER BY seq DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, err
	}
	return j.withRoutes(ctx, es)
}

// Get implements Journal.
func (j *Postgres) Get(ctx context.Context, seq int64) (Entry, error) {
	es, err := j.query(ctx, true, `SELECT `+columns+`, payload FROM deliveries WHERE seq = $1`, seq)
	if err != nil {
		return Entry{}, err
	}
	if len(es) == 0 {
		return Entry{}, ErrNotFound
	}
	if es, err = j.withRoutes(ctx, es); err != nil {
		return Entry{}, err
	}
	es[0].Event.PayloadRef = ""
	return es[0], nil
}

// Backlog implements Journal.
func (j *Postgres) Backlog(ctx context.Context) (int, error) {
	var n int
	if err := j.db.QueryRowContext(ctx, `SELECT count(*) FROM deliveries WHERE status = 'accepted'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("journal: backlog: %w", err)
	}
	return n, nil
}

// Close implements Journal. It waits for queued appends to commit and
// gives up forwarding leadership; the *sql.DB stays open.
func (j *Postgres) Close() error {
	j.mu.Lock()
	j.closed = true
	leases := make([]releaser, 0, len(j.leases))
	for l := range j.leases {
		leases = append(leases, l)
	}
	j.mu.Unlock()
	for _, l := range leases {
		l.release()
	}
	j.group.close()
	return nil
}

func (j *Postgres) query(ctx context.Context, withPayload bool, q string, args ...any) ([]Entry, error) {
	rows, err := j.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("journal: query: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var status, wf, keys, meta string
		var received, updated time.Time
		dest := []any{&e.Event.Seq, &e.Event.Integration, &e.Event.DeliveryID, &e.Event.Source, &e.Event.Type, &e.Event.Action,
			&status, &e.Reason, &wf, &keys, &meta, &received, &updated, &e.Attempts, &e.Event.PayloadSize}
		var payload []byte
		if withPayload {
			dest = append(dest, &payload)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("journal: scan: %w", err)
		}
		e.Status = Status(status)
		e.Event.ReceivedAt = received.UTC()
		e.UpdatedAt = updated.UTC()
		if err := unmarshalAll(wf, &e.WorkflowIDs, keys, &e.Event.Keys, meta, &e.Event.Meta); err != nil {
			return nil, err
		}
		if len(payload) > 0 {
			e.Event.Payload = payload
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// queryInts runs a query whose rows are one integer each and returns them
// ascending.
func queryInts(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

// assignSeqs sets the results of a chunk's inserted entries from the
// sequence numbers a multi-row insert returned (seqs, ascending); the
// others (redeliveries) keep a zero result. Both databases insert the rows
// in VALUES order, so the ascending numbers belong to the inserted entries
// in order (PostgreSQL; the SQLite journal gives the numbers itself, see
// sqliteWriter.insertChunk). Candidates are the entries that insert unless
// their delivery is already journaled: all but repeats within the chunk.
func assignSeqs(ctx context.Context, tx *sql.Tx, chunk []*appendReq, seqs []int64) error {
	var err error
	candidates := firstOfEachDelivery(make([]*appendReq, 0, len(chunk)), chunk)
	inserted := candidates
	if len(seqs) != len(candidates) {
		// Some were redeliveries of journaled entries: keep those whose
		// delivery's entry is one of the rows just inserted.
		if inserted, err = insertedOf(ctx, tx, candidates, seqs); err != nil {
			return err
		}
	}
	if len(inserted) != len(seqs) {
		return fmt.Errorf("journal: insert returned %d rows for %d new entries", len(seqs), len(inserted))
	}
	for i, r := range inserted {
		r.res = AppendResult{Seq: seqs[i]}
	}
	return nil
}

// insertedOf returns the candidates a multi-row insert inserted (seqs,
// ascending, are the numbers of the rows it wrote): those without a dedup
// key, and those whose dedup key's entry is one of seqs.
func insertedOf(ctx context.Context, tx *sql.Tx, candidates []*appendReq, seqs []int64) ([]*appendReq, error) {
	q := postgres.Rebind(findOriginalSQL)
	var out []*appendReq
	for _, r := range candidates {
		d, ok := dedupKey(r.entry).(string)
		if !ok {
			out = append(out, r)
			continue
		}
		var seq int64
		err := tx.QueryRowContext(ctx, q, r.entry.Event.Integration, d).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			continue // pruned meanwhile (PostgreSQL): recorded again by the one-row path
		}
		if err != nil {
			return nil, fmt.Errorf("journal: find entry: %w", err)
		}
		if _, found := slices.BinarySearch(seqs, seq); found {
			out = append(out, r)
		}
	}
	return out, nil
}

// chunkLen is the largest power of two that is at most n (and maxGroup).
func chunkLen(n int) int {
	c := 1
	for c*2 <= n && c*2 <= maxGroup {
		c *= 2
	}
	return c
}

// routeRow is one route of a group's entry.
type routeRow struct {
	seq int64
	ord int
	r   Route
}

// multiRowSQL is head, n rows of cols ? placeholders, then tail.
func multiRowSQL(head, tail string, cols, n int) string {
	row := "(" + placeholders(cols) + ")"
	var b strings.Builder
	b.Grow(len(head) + len(tail) + n*(len(row)+1))
	b.WriteString(head)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	b.WriteString(tail)
	return b.String()
}

// firstOfEachDelivery appends to out chunk without the repeats of a dedup
// key earlier in the chunk: the entries that insert unless already
// journaled.
func firstOfEachDelivery(out, chunk []*appendReq) []*appendReq {
	seen := make(map[[2]string]bool, len(chunk))
	for _, r := range chunk {
		if d, ok := dedupKey(r.entry).(string); ok {
			k := [2]string{r.entry.Event.Integration, d}
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		out = append(out, r)
	}
	return out
}
