package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// PauseKind says what a pause names.
type PauseKind string

// Pause kinds.
const (
	// PauseWorkflow pauses one workflow ID (one entity): every route to
	// it is held, whichever integration the delivery came through.
	PauseWorkflow PauseKind = "workflow"
	// PauseIntegration pauses an integration: every route of its
	// deliveries is held, whichever workflow it goes to.
	PauseIntegration PauseKind = "integration"
)

// Valid reports whether k is a known kind.
func (k PauseKind) Valid() bool { return k == PauseWorkflow || k == PauseIntegration }

// ErrNotPaused is returned by Resume for a workflow or integration that is
// not paused.
var ErrNotPaused = errors.New("journal: not paused")

// Pause is one paused workflow or integration.
type Pause struct {
	Kind PauseKind `json:"kind"`
	// ID is the workflow ID or the integration ID.
	ID string `json:"id"`
	// Reason is what the operator gave, for the people who look later.
	Reason   string    `json:"reason,omitempty"`
	PausedAt time.Time `json:"paused_at"`
	// Held counts the routes this pause holds now (set by Paused).
	Held int `json:"held"`
}

// Pauses is implemented by journals that can pause forwarding. A route
// whose workflow or whose entry's integration is paused is Held: Pending
// skips it, the sender still got its 2xx. The decision is taken in the
// append transaction itself, so no delivery accepted after Pause returns
// is forwarded, and none accepted after Resume returns is held.
type Pauses interface {
	// Pause adds p (Kind and ID; Reason optional) to the paused set and
	// holds the pending routes it covers; it returns how many it held.
	// Pausing what is paused already keeps the first pause and holds
	// what is pending again.
	Pause(ctx context.Context, p Pause) (held int, err error)
	// Resume removes a pause and releases, to be forwarded in acceptance
	// order, the held routes no other pause covers; it returns how many
	// it released, or ErrNotPaused.
	Resume(ctx context.Context, kind PauseKind, id string) (released int, err error)
	// Paused lists the paused set, oldest first, with the routes each
	// pause holds.
	Paused(ctx context.Context) ([]Pause, error)
	// HeldRoutes counts the routes that are held.
	HeldRoutes(ctx context.Context) (int, error)
}

var (
	_ Pauses = (*SQLite)(nil)
	_ Pauses = (*Postgres)(nil)
)

// pauseMigration is the step both journals append: the paused set, and an
// index that keeps counting and releasing held routes cheap.
func pauseMigration(ts string) string {
	return `CREATE TABLE paused (
		kind      TEXT NOT NULL,
		id        TEXT NOT NULL,
		reason    TEXT NOT NULL DEFAULT '',
		paused_at ` + ts + ` NOT NULL,
		PRIMARY KEY (kind, id)
	);
	CREATE INDEX routes_held ON routes (seq, ord) WHERE status = 'held';`
}

// pausedSQL is true for a route (of the routes table, aliased "routes")
// that a pause covers.
const pausedSQL = `EXISTS (SELECT 1 FROM paused p WHERE (p.kind = 'workflow' AND p.id = routes.workflow_id)
	OR (p.kind = 'integration' AND p.id = (SELECT d.integration_id FROM deliveries d WHERE d.seq = routes.seq)))`

// pauseTx begins a transaction that changes the paused set. In PostgreSQL
// it first waits for the appends in flight and holds off new ones until it
// commits (dialect.lockRoutes): otherwise an append that checked the
// paused set before a pause committed could commit an accepted route the
// pause's UPDATE never saw (or a held one a resume never releases).
// SQLite's writers are serialized already.
func (s *routeStore) pauseTx(ctx context.Context) (*sql.Tx, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if s.d.lockRoutes != "" {
		if _, err := tx.ExecContext(ctx, s.d.lockRoutes); err != nil {
			tx.Rollback()
			return nil, err
		}
	}
	return tx, nil
}

// Pause implements Pauses.
func (s *routeStore) Pause(ctx context.Context, p Pause) (int, error) {
	if !p.Kind.Valid() || p.ID == "" {
		return 0, fmt.Errorf("journal: pause %q %q: want a workflow or integration ID", p.Kind, p.ID)
	}
	tx, err := s.pauseTx(ctx)
	if err != nil {
		return 0, fmt.Errorf("journal: pause: %w", err)
	}
	defer tx.Rollback()
	now := s.d.ts(s.now())
	if _, err := tx.ExecContext(ctx, s.d.q(`INSERT INTO paused (kind, id, reason, paused_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (kind, id) DO NOTHING`), string(p.Kind), p.ID, p.Reason, now); err != nil {
		return 0, fmt.Errorf("journal: pause: %w", err)
	}
	match, arg := routeMatch(p.Kind, p.ID)
	res, err := tx.ExecContext(ctx, s.d.q(`UPDATE routes SET status = 'held', updated_at = ? WHERE status = 'accepted' AND `+match), now, arg)
	if err != nil {
		return 0, fmt.Errorf("journal: pause: hold routes: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("journal: pause: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Resume implements Pauses.
func (s *routeStore) Resume(ctx context.Context, kind PauseKind, id string) (int, error) {
	tx, err := s.pauseTx(ctx)
	if err != nil {
		return 0, fmt.Errorf("journal: resume: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.d.q(`DELETE FROM paused WHERE kind = ? AND id = ?`), string(kind), id)
	if err != nil {
		return 0, fmt.Errorf("journal: resume: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return 0, ErrNotPaused
	}
	match, arg := routeMatch(kind, id)
	// Released routes are pending again; Pending reads them in
	// acceptance order, before anything the workflow got later.
	res, err = tx.ExecContext(ctx, s.d.q(`UPDATE routes SET status = 'accepted', updated_at = ?
		WHERE status = 'held' AND `+match+` AND NOT `+pausedSQL), s.d.ts(s.now()), arg)
	if err != nil {
		return 0, fmt.Errorf("journal: resume: release routes: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("journal: resume: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// routeMatch is the condition on routes (aliased "routes") that a pause
// of kind and id covers, and its argument.
func routeMatch(kind PauseKind, id string) (string, any) {
	if kind == PauseIntegration {
		return `EXISTS (SELECT 1 FROM deliveries d WHERE d.seq = routes.seq AND d.integration_id = ?)`, id
	}
	return `routes.workflow_id = ?`, id
}

// Paused implements Pauses.
func (s *routeStore) Paused(ctx context.Context) ([]Pause, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT kind, id, reason, paused_at FROM paused ORDER BY paused_at, kind, id`)
	if err != nil {
		return nil, fmt.Errorf("journal: paused: %w", err)
	}
	var out []Pause
	for rows.Next() {
		var p Pause
		var kind string
		var at dbTime
		if err := rows.Scan(&kind, &p.ID, &p.Reason, &at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("journal: paused: %w", err)
		}
		p.Kind, p.PausedAt = PauseKind(kind), at.t
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal: paused: %w", err)
	}
	for i := range out {
		match, arg := routeMatch(out[i].Kind, out[i].ID)
		if err := s.db.QueryRowContext(ctx, s.d.q(`SELECT count(*) FROM routes WHERE status = 'held' AND `+match), arg).Scan(&out[i].Held); err != nil {
			return nil, fmt.Errorf("journal: paused: %w", err)
		}
	}
	return out, nil
}

// HeldRoutes implements Pauses.
func (s *routeStore) HeldRoutes(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM routes WHERE status = 'held'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("journal: held routes: %w", err)
	}
	return n, nil
}
