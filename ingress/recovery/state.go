package recovery

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hookflow/hookflow/ingress/postgres"
	"github.com/hookflow/hookflow/ingress/sqlite"
)

// One table for both databases: times are Unix nanoseconds, zero for
// never.
var stateMigrations = []string{
	`CREATE TABLE recovery_state (
		integration_id TEXT   PRIMARY KEY,
		high_water     BIGINT NOT NULL DEFAULT 0,
		last_started   BIGINT NOT NULL DEFAULT 0,
		last_success   BIGINT NOT NULL DEFAULT 0,
		last_error     TEXT   NOT NULL DEFAULT '',
		lease_holder   TEXT   NOT NULL DEFAULT '',
		lease_expires  BIGINT NOT NULL DEFAULT 0
	)`,
}

// ErrLeaseLost is returned by Renew and Finish when another replica holds
// the integration's lease: its lease expired while this one was working.
var ErrLeaseLost = errors.New("recovery: the lease passed to another replica")

// State is where an integration's automatic recovery stands.
type State struct {
	// HighWater: every delivery the sender recorded before it was
	// recovered (or found in the journal). Zero before the first
	// successful pass.
	HighWater time.Time
	// LastStarted and LastSuccess are when a pass last began and last
	// succeeded.
	LastStarted, LastSuccess time.Time
	// LastError is the last failed pass's error, "" after a success.
	LastError string
}

// Store keeps each integration's recovery state and its lease in the
// database the ingress replicas share, so that one replica at a time
// recovers an integration and the next one starts where it stopped.
type Store struct {
	db *sql.DB
	pg bool
}

// OpenSQLiteStore runs the store's migrations in the SQLite database db
// (see ingress/sqlite.Open).
func OpenSQLiteStore(ctx context.Context, db *sql.DB) (*Store, error) {
	if err := sqlite.Migrate(ctx, db, "recovery", stateMigrations); err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// OpenPostgresStore runs the store's migrations in the PostgreSQL
// database db (see ingress/postgres.Open).
func OpenPostgresStore(ctx context.Context, db *sql.DB) (*Store, error) {
	if err := postgres.Migrate(ctx, db, "recovery", stateMigrations); err != nil {
		return nil, err
	}
	return &Store{db: db, pg: true}, nil
}

func (s *Store) sql(q string) string {
	if s.pg {
		return postgres.Rebind(q)
	}
	return q
}

// Acquire takes integration's lease for holder until now+ttl when it is
// free (expired, or holder's own) and no pass started after now-gap; it
// reports whether it did and returns the state. The condition and the
// update are one statement, so two replicas cannot both succeed.
func (s *Store) Acquire(ctx context.Context, integration, holder string, now time.Time, ttl, gap time.Duration) (State, bool, error) {
	if _, err := s.db.ExecContext(ctx, s.sql(`INSERT INTO recovery_state (integration_id) VALUES (?) ON CONFLICT (integration_id) DO NOTHING`), integration); err != nil {
		return State{}, false, fmt.Errorf("recovery: acquire %s: %w", integration, err)
	}
	res, err := s.db.ExecContext(ctx, s.sql(`UPDATE recovery_state SET lease_holder = ?, lease_expires = ?, last_started = ?
		WHERE integration_id = ? AND (lease_holder = ? OR lease_expires < ?) AND last_started <= ?`),
		holder, now.Add(ttl).UnixNano(), now.UnixNano(), integration, holder, now.UnixNano(), now.Add(-gap).UnixNano())
	if err != nil {
		return State{}, false, fmt.Errorf("recovery: acquire %s: %w", integration, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return State{}, false, fmt.Errorf("recovery: acquire %s: %w", integration, err)
	}
	st, err := s.Get(ctx, integration)
	return st, n == 1 && err == nil, err
}

// Renew extends holder's lease to now+ttl.
func (s *Store) Renew(ctx context.Context, integration, holder string, now time.Time, ttl time.Duration) error {
	res, err := s.db.ExecContext(ctx, s.sql(`UPDATE recovery_state SET lease_expires = ? WHERE integration_id = ? AND lease_holder = ?`),
		now.Add(ttl).UnixNano(), integration, holder)
	if err != nil {
		return fmt.Errorf("recovery: renew %s: %w", integration, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrLeaseLost
	}
	return nil
}

// Finish records the end of holder's pass and releases the lease: with
// passErr nil, highWater becomes the high-water mark and now the last
// success; otherwise the error is kept and highWater, when not zero,
// still moves the mark (the part of the window before the first failure
// was recovered).
func (s *Store) Finish(ctx context.Context, integration, holder string, now, highWater time.Time, passErr error) error {
	var hw int64
	if !highWater.IsZero() {
		hw = highWater.UnixNano()
	}
	q := `UPDATE recovery_state SET high_water = CASE WHEN ? > high_water THEN ? ELSE high_water END,
		last_success = ?, last_error = '', lease_holder = '', lease_expires = 0 WHERE integration_id = ? AND lease_holder = ?`
	args := []any{hw, hw, now.UnixNano(), integration, holder}
	if passErr != nil {
		q = `UPDATE recovery_state SET high_water = CASE WHEN ? > high_water THEN ? ELSE high_water END,
			last_error = ?, lease_holder = '', lease_expires = 0 WHERE integration_id = ? AND lease_holder = ?`
		msg := passErr.Error()
		if len(msg) > 1000 {
			msg = msg[:1000]
		}
		args = []any{hw, hw, msg, integration, holder}
	}
	res, err := s.db.ExecContext(ctx, s.sql(q), args...)
	if err != nil {
		return fmt.Errorf("recovery: finish %s: %w", integration, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrLeaseLost
	}
	return nil
}

// Get returns integration's state; the zero State when it has none.
func (s *Store) Get(ctx context.Context, integration string) (State, error) {
	var hw, started, success int64
	var st State
	err := s.db.QueryRowContext(ctx, s.sql(`SELECT high_water, last_started, last_success, last_error FROM recovery_state WHERE integration_id = ?`),
		integration).Scan(&hw, &started, &success, &st.LastError)
	if errors.Is(err, sql.ErrNoRows) {
		return State{}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("recovery: state of %s: %w", integration, err)
	}
	st.HighWater, st.LastStarted, st.LastSuccess = unixNano(hw), unixNano(started), unixNano(success)
	return st, nil
}

func unixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
