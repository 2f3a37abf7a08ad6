package journal

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hookflow/hookflow/workflows"
)

// dialect is what differs between the journals' SQL: placeholders and how
// a time is stored (Unix nanoseconds in SQLite, TIMESTAMPTZ in
// PostgreSQL). The route code is written once over it.
type dialect struct {
	// rebind rewrites ? placeholders; nil leaves them.
	rebind func(string) string
	// ts is the stored form of a time.
	ts func(time.Time) any
	// lockRoutes, when set, makes a transaction that changes the paused
	// set wait for appends in flight (see pauseTx).
	lockRoutes string
	// lockRows says the database has SELECT ... FOR UPDATE and several
	// writers (PostgreSQL); SQLite has one writer at a time.
	lockRows bool
}

func (d dialect) q(s string) string {
	if d.rebind == nil {
		return s
	}
	return d.rebind(s)
}

// dbTime scans a time stored either way.
type dbTime struct{ t time.Time }

func (d *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		d.t = time.Unix(0, v).UTC()
	case time.Time:
		d.t = v.UTC()
	case nil:
		d.t = time.Time{}
	default:
		return fmt.Errorf("journal: time column holds %T", src)
	}
	return nil
}

// routeStore is the route model both journals share.
type routeStore struct {
	db  *sql.DB
	d   dialect
	now func() time.Time
}

// RoutesOf converts a router's decision for an event into the routes an
// entry stores.
func RoutesOf(routes []workflows.Route) []Route {
	if len(routes) == 0 {
		return nil
	}
	out := make([]Route, len(routes))
	for i, r := range routes {
		out[i] = Route{Blueprint: r.Subscription.Blueprint, Workflow: r.Subscription.Workflow, WorkflowID: r.WorkflowID}
	}
	return out
}

// prepareRoutes fills the fields Append derives: route status, partition,
// and the entry's workflow IDs.
func prepareRoutes(e *Entry) {
	if len(e.Routes) == 0 {
		return
	}
	e.WorkflowIDs = e.WorkflowIDs[:0:0]
	for i := range e.Routes {
		r := &e.Routes[i]
		if r.Status == "" {
			r.Status = Accepted
		}
		r.Partition = PartitionOf(r.WorkflowID)
		e.WorkflowIDs = append(e.WorkflowIDs, r.WorkflowID)
	}
	if e.Status == Accepted {
		if st, _ := DeriveStatus(e.Routes); st != Accepted {
			e.Status = st
		}
	}
}

// insertRouteSQL stores a route; an accepted one whose workflow or
// integration is paused is stored held, decided in the append transaction
// (see Pauses).
const insertRouteSQL = `INSERT INTO routes (seq, ord, workflow_id, blueprint, workflow, part, status, reason, attempts, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, CASE WHEN ? = 'accepted' AND EXISTS (SELECT 1 FROM paused p WHERE (p.kind = 'workflow' AND p.id = ?)
		OR (p.kind = 'integration' AND p.id = (SELECT d.integration_id FROM deliveries d WHERE d.seq = ?))) THEN 'held' ELSE ? END,
	?, 0, ?) ON CONFLICT (seq, workflow_id) DO NOTHING`

// insertRoutes stores an entry's routes in its append transaction.
func (s *routeStore) insertRoutes(ctx context.Context, tx *sql.Tx, seq int64, routes []Route, now time.Time) error {
	return s.insertRoutesWith(ctx, tx, nil, seq, routes, now)
}

// insertRoutesWith is insertRoutes with stmt, when not nil, a prepared
// insertRouteSQL of tx (the group commit's hot path).
func (s *routeStore) insertRoutesWith(ctx context.Context, tx *sql.Tx, stmt *sql.Stmt, seq int64, routes []Route, now time.Time) error {
	for i, r := range routes {
		args := []any{seq, i, r.WorkflowID, r.Blueprint, r.Workflow, PartitionOf(r.WorkflowID), string(r.Status), r.WorkflowID, seq, string(r.Status), r.Reason, s.d.ts(now)}
		var err error
		if stmt != nil {
			_, err = stmt.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, s.d.q(insertRouteSQL), args...)
		}
		if err != nil {
			return fmt.Errorf("journal: insert route: %w", err)
		}
	}
	return nil
}

// Pending implements Journal.
func (s *routeStore) Pending(ctx context.Context, q PendingQuery) ([]Pending, error) {
	if q.Limit <= 0 {
		q.Limit = 500
	}
	if q.MaxBytes <= 0 {
		q.MaxBytes = 16 << 20
	}
	if q.Now.IsZero() {
		q.Now = s.now()
	}
	if q.Partitions != nil && len(q.Partitions) == 0 {
		return nil, nil
	}
	where, args := "", []any{s.d.ts(q.Now)}
	if q.Partitions != nil {
		where += ` AND r.part IN (` + placeholders(len(q.Partitions)) + `)`
		for _, p := range q.Partitions {
			args = append(args, p)
		}
	}
	if len(q.Exclude) > 0 {
		where += ` AND r.workflow_id NOT IN (` + placeholders(len(q.Exclude)) + `)`
		for _, id := range q.Exclude {
			args = append(args, id)
		}
	}
	rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT r.seq, r.workflow_id, r.blueprint, r.workflow, r.part, r.reason, r.attempts, r.updated_at, d.payload_size
		FROM routes r JOIN deliveries d ON d.seq = r.seq LEFT JOIN route_backoff b ON b.workflow_id = r.workflow_id
		WHERE r.status = 'accepted' AND (b.until IS NULL OR b.until <= ?)`+where+`
		ORDER BY r.seq, r.ord LIMIT ?`), append(args, q.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("journal: pending: %w", err)
	}
	var out []Pending
	var bytes int64
	for rows.Next() {
		var p Pending
		var updated dbTime
		var size int64
		if err := rows.Scan(&p.Event.Seq, &p.Route.WorkflowID, &p.Route.Blueprint, &p.Route.Workflow, &p.Route.Partition,
			&p.Route.Reason, &p.Route.Attempts, &updated, &size); err != nil {
			rows.Close()
			return nil, fmt.Errorf("journal: pending: %w", err)
		}
		p.Route.Status, p.Route.UpdatedAt = Accepted, updated.t
		if size <= InlinePayloadLimit {
			if len(out) > 0 && bytes+size > q.MaxBytes {
				break
			}
			bytes += size
		}
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal: pending: %w", err)
	}
	seqs := make([]int64, 0, len(out))
	for i, p := range out {
		if i == 0 || out[i-1].Event.Seq != p.Event.Seq {
			seqs = append(seqs, p.Event.Seq)
		}
	}
	events, err := s.events(ctx, seqs)
	if err != nil {
		return nil, err
	}
	for i := range out {
		ev, ok := events[out[i].Event.Seq]
		if !ok {
			return nil, fmt.Errorf("journal: route of entry %d has no entry", out[i].Event.Seq)
		}
		out[i].Event = ev
	}
	return out, nil
}

// events loads the events of seqs, with their payloads when inline.
func (s *routeStore) events(ctx context.Context, seqs []int64) (map[int64]workflows.Event, error) {
	out := make(map[int64]workflows.Event, len(seqs))
	for len(seqs) > 0 {
		chunk := seqs[:min(len(seqs), 500)]
		seqs = seqs[len(chunk):]
		args := []any{InlinePayloadLimit}
		for _, seq := range chunk {
			args = append(args, seq)
		}
		rows, err := s.db.QueryContext(ctx, s.d.q(`SELECT seq, integration_id, delivery_id, source, event, action, keys, meta, received_at,
			payload_size, CASE WHEN payload_size <= ? THEN payload END, payload_codec, trace_parent FROM deliveries WHERE seq IN (`+placeholders(len(chunk))+`)`), args...)
		if err != nil {
			return nil, fmt.Errorf("journal: load events: %w", err)
		}
		for rows.Next() {
			var ev workflows.Event
			var keys, meta, codec string
			var received dbTime
			var payload []byte
			if err := rows.Scan(&ev.Seq, &ev.Integration, &ev.DeliveryID, &ev.Source, &ev.Type, &ev.Action, &keys, &meta,
				&received, &ev.PayloadSize, &payload, &codec, &ev.TraceParent); err != nil {
				rows.Close()
				return nil, fmt.Errorf("journal: load events: %w", err)
			}
			ev.ReceivedAt = received.t
			if err := unmarshalAll(keys, &ev.Keys, meta, &ev.Meta); err != nil {
				rows.Close()
				return nil, err
			}
			if len(payload) > 0 {
				if ev.Payload, err = decodePayload(payload, codec); err != nil {
					rows.Close()
					return nil, fmt.Errorf("journal: entry %d: %w", ev.Seq, err)
				}
			}
			// The stored size of entries written before payload_size
			// existed may be their deflated size: the decoded length
			// decides.
			if len(ev.Payload) > InlinePayloadLimit || (len(ev.Payload) == 0 && ev.PayloadSize > 0) {
				ev.PayloadSize = max(ev.PayloadSize, len(ev.Payload))
				ev.Payload, ev.PayloadRef = nil, PayloadRef(ev.Seq)
			}
			out[ev.Seq] = ev
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("journal: load events: %w", err)
		}
	}
	return out, nil
}

// PayloadRef is the reference an event carries for a payload the journal
// holds: "journal/<seq>".
func PayloadRef(seq int64) string { return fmt.Sprintf("journal/%d", seq) }

// ParsePayloadRef returns the sequence number a PayloadRef names.
func ParsePayloadRef(ref string) (int64, error) {
	var seq int64
	rest, ok := strings.CutPrefix(ref, "journal/")
	if !ok {
		return 0, fmt.Errorf("journal: %q is not a payload reference", ref)
	}
	if _, err := fmt.Sscan(rest, &seq); err != nil || seq <= 0 || fmt.Sprint(seq) != rest {
		return 0, fmt.Errorf("journal: %q is not a payload reference", ref)
	}
	return seq, nil
}

// Payload implements Journal.
func (s *routeStore) Payload(ctx context.Context, seq int64) ([]byte, error) {
	var payload []byte
	var codec string
	err := s.db.QueryRowContext(ctx, s.d.q(`SELECT payload, payload_codec FROM deliveries WHERE seq = ?`), seq).Scan(&payload, &codec)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("journal: payload %d: %w", seq, err)
	}
	if len(payload) == 0 {
		return nil, fmt.Errorf("journal: entry %d: %w", seq, ErrNotReplayable)
	}
	return decodePayload(payload, codec)
}

// MarkRoutes implements Journal.
func (s *routeStore) MarkRoutes(ctx context.Context, marks ...RouteMark) error {
	if len(marks) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("journal: mark: %w", err)
	}
	defer tx.Rollback()
	now := s.d.ts(s.now())
	var seqs []int64
	seen := map[int64]bool{}
	for _, m := range marks {
		if m.Retry {
			_, err = tx.ExecContext(ctx, s.d.q(`UPDATE routes SET attempts = attempts + 1, reason = ?, updated_at = ? WHERE seq = ? AND workflow_id = ?`),
				m.Reason, now, m.Seq, m.WorkflowID)
			if err == nil {
				_, err = tx.ExecContext(ctx, s.d.q(`INSERT INTO route_backoff (workflow_id, until) VALUES (?, ?)
					ON CONFLICT (workflow_id) DO UPDATE SET until = excluded.until`), m.WorkflowID, s.d.ts(m.RetryAt))
			}
		} else {
			_, err = tx.ExecContext(ctx, s.d.q(`UPDATE routes SET status = ?, reason = ?, updated_at = ? WHERE seq = ? AND workflow_id = ?`),
				string(m.Status), m.Reason, now, m.Seq, m.WorkflowID)
			if err == nil && m.Status != Held {
				_, err = tx.ExecContext(ctx, s.d.q(`DELETE FROM route_backoff WHERE workflow_id = ?`), m.WorkflowID)
			}
		}
		if err != nil {
			return fmt.Errorf("journal: mark %d %s: %w", m.Seq, m.WorkflowID, err)
		}
		if !seen[m.Seq] {
			seen[m.Seq] = true
			seqs = append(seqs, m.Seq)
		}
	}
	if err := s.refreshEntries(ctx, tx, seqs, now); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("journal: mark: %w", err)
	}
	return nil
}

// refreshEntries stores the status derived from each entry's routes.
// Where routes of one entry can be marked by two replicas at once (routes
// in partitions leased by different replicas), the entries are locked
// first, in sequence order: the second replica then reads the routes the
// first one committed, instead of both deriving "accepted" from a
// snapshot that lacks the other's mark.
func (s *routeStore) refreshEntries(ctx context.Context, tx *sql.Tx, seqs []int64, now any) error {
	if s.d.lockRows {
		sorted := slices.Sorted(slices.Values(seqs))
		args := make([]any, len(sorted))
		for i, seq := range sorted {
			args[i] = seq
		}
		if _, err := tx.ExecContext(ctx, s.d.q(`SELECT seq FROM deliveries WHERE seq IN (`+placeholders(len(sorted))+`) ORDER BY seq FOR UPDATE`), args...); err != nil {
			return fmt.Errorf("journal: lock entries: %w", err)
		}
	}
	routes, err := s.routesOf(ctx, tx, seqs)
	if err != nil {
		return err
	}
	for _, seq := range seqs {
		rs := routes[seq]
		if len(rs) == 0 {
			continue
		}
		st, reason := DeriveStatus(rs)
		attempts := 0
		for _, r := range rs {
			attempts += r.Attempts
		}
		if _, err := tx.ExecContext(ctx, s.d.q(`UPDATE deliveries SET status = ?, reason = ?, attempts = ?, updated_at = ? WHERE seq = ?`),
			string(st), reason, attempts, now, seq); err != nil {
			return fmt.Errorf("journal: update entry %d: %w", seq, err)
		}
	}
	return nil
}

// queryer is a *sql.DB or a *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// routesOf returns the routes of seqs, in route order.
func (s *routeStore) routesOf(ctx context.Context, q queryer, seqs []int64) (map[int64][]Route, error) {
	out := make(map[int64][]Route, len(seqs))
	for len(seqs) > 0 {
		chunk := seqs[:min(len(seqs), 500)]
		seqs = seqs[len(chunk):]
		args := make([]any, len(chunk))
		for i, seq := range chunk {
			args[i] = seq
		}
		rows, err := q.QueryContext(ctx, s.d.q(`SELECT seq, workflow_id, blueprint, workflow, part, status, reason, attempts, updated_at
			FROM routes WHERE seq IN (`+placeholders(len(chunk))+`) ORDER BY seq, ord`), args...)
		if err != nil {
			return nil, fmt.Errorf("journal: routes: %w", err)
		}
		for rows.Next() {
			var seq int64
			var r Route
			var status string
			var updated dbTime
			if err := rows.Scan(&seq, &r.WorkflowID, &r.Blueprint, &r.Workflow, &r.Partition, &status, &r.Reason, &r.Attempts, &updated); err != nil {
				rows.Close()
				return nil, fmt.Errorf("journal: routes: %w", err)
			}
			r.Status, r.UpdatedAt = Status(status), updated.t
			out[seq] = append(out[seq], r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("journal: routes: %w", err)
		}
	}
	return out, nil
}

// withRoutes sets the routes of entries.
func (s *routeStore) withRoutes(ctx context.Context, entries []Entry) ([]Entry, error) {
	seqs := make([]int64, len(entries))
	for i, e := range entries {
		seqs[i] = e.Event.Seq
	}
	routes, err := s.routesOf(ctx, s.db, seqs)
	if err != nil {
		return nil, err
	}
	for i := range entries {
		entries[i].Routes = routes[entries[i].Event.Seq]
		if entries[i].Event.PayloadSize > InlinePayloadLimit {
			entries[i].Event.PayloadRef = PayloadRef(entries[i].Event.Seq)
		}
	}
	return entries, nil
}

// RouteUnrouted implements Journal.
func (s *routeStore) RouteUnrouted(ctx context.Context, route func(workflows.Event) []Route) (int, error) {
	total := 0
	for {
		rows, err := s.db.QueryContext(ctx, `SELECT seq FROM deliveries d WHERE status = 'accepted'
			AND NOT EXISTS (SELECT 1 FROM routes r WHERE r.seq = d.seq) ORDER BY seq LIMIT 200`)
		if err != nil {
			return total, fmt.Errorf("journal: unrouted: %w", err)
		}
		var seqs []int64
		for rows.Next() {
			var seq int64
			if err := rows.Scan(&seq); err != nil {
				rows.Close()
				return total, fmt.Errorf("journal: unrouted: %w", err)
			}
			seqs = append(seqs, seq)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return total, fmt.Errorf("journal: unrouted: %w", err)
		}
		if len(seqs) == 0 {
			return total, nil
		}
		events, err := s.events(ctx, seqs)
		if err != nil {
			return total, err
		}
		if err := s.routeEntries(ctx, seqs, events, route); err != nil {
			return total, err
		}
		total += len(seqs)
	}
}

// routeEntries stores routes for unrouted entries; the payload a route
// function sees is the whole one, as at the ingress.
func (s *routeStore) routeEntries(ctx context.Context, seqs []int64, events map[int64]workflows.Event, route func(workflows.Event) []Route) error {
	entries := make([]Entry, len(seqs))
	for i, seq := range seqs {
		ev := events[seq]
		if ev.PayloadRef != "" {
			p, err := s.Payload(ctx, seq)
			if err != nil {
				return err
			}
			ev.Payload, ev.PayloadRef = p, ""
		}
		entries[i] = Entry{Event: ev, Status: Accepted, Routes: route(ev)}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("journal: route: %w", err)
	}
	defer tx.Rollback()
	now := s.now()
	for _, e := range entries {
		seq := e.Event.Seq
		prepareRoutes(&e)
		if len(e.Routes) == 0 {
			_, err = tx.ExecContext(ctx, s.d.q(`UPDATE deliveries SET status = 'ignored', reason = ?, updated_at = ? WHERE seq = ? AND status = 'accepted'`),
				"no blueprint subscribes to it (routed when the journal was migrated)", s.d.ts(now), seq)
			if err != nil {
				return fmt.Errorf("journal: route %d: %w", seq, err)
			}
			continue
		}
		if err := s.insertRoutes(ctx, tx, seq, e.Routes, now); err != nil {
			return err
		}
		wf, _ := json.Marshal(e.WorkflowIDs)
		if _, err := tx.ExecContext(ctx, s.d.q(`UPDATE deliveries SET workflow_ids = ?, status = ?, updated_at = ? WHERE seq = ?`),
			string(wf), string(e.Status), s.d.ts(now), seq); err != nil {
			return fmt.Errorf("journal: route %d: %w", seq, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("journal: route: %w", err)
	}
	return nil
}

// deleteRoutesWhere deletes the routes of the entries cond selects, before
// the entries themselves are deleted.
func (s *routeStore) deleteRoutesWhere(ctx context.Context, tx *sql.Tx, cond string, args ...any) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM routes WHERE seq IN (SELECT seq FROM deliveries WHERE `+cond+`)`, args...); err != nil {
		return fmt.Errorf("journal: prune routes: %w", err)
	}
	return nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// holdPaused stores as held the new accepted routes of seqs whose workflow
// or integration is paused, in the append transaction (see Pauses); one
// cheap query when nothing is paused.
func (s *routeStore) holdPaused(ctx context.Context, tx *sql.Tx, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	var paused int
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM paused)`).Scan(&paused); err != nil {
		return fmt.Errorf("journal: paused: %w", err)
	}
	if paused == 0 {
		return nil
	}
	for len(seqs) > 0 {
		chunk := seqs[:min(len(seqs), 400)]
		seqs = seqs[len(chunk):]
		args := make([]any, len(chunk))
		for i, seq := range chunk {
			args[i] = seq
		}
		in := placeholders(len(chunk))
		if _, err := tx.ExecContext(ctx, s.d.q(`UPDATE routes SET status = 'held' WHERE status = 'accepted' AND seq IN (`+in+`)
			AND (workflow_id IN (SELECT id FROM paused WHERE kind = 'workflow')
			  OR seq IN (SELECT d.seq FROM deliveries d JOIN paused p ON p.kind = 'integration' AND p.id = d.integration_id WHERE d.seq IN (`+in+`)))`),
			append(args, args...)...); err != nil {
			return fmt.Errorf("journal: hold paused routes: %w", err)
		}
	}
	return nil
}
