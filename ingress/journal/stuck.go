package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Stuck detection defaults.
const (
	// DefaultStuckBacklog is the pending routes one workflow may have
	// before it is listed as backlogged.
	DefaultStuckBacklog = 100
	// DefaultStuckAttempts is the failed forwarding attempts in a row
	// after which a pending route is listed as failing.
	DefaultStuckAttempts = 5
)

// StuckQuery bounds a Stuck report. Zero fields take the defaults.
type StuckQuery struct {
	// BacklogAbove lists workflows with more pending routes than this.
	// Zero means DefaultStuckBacklog.
	BacklogAbove int
	// MinAttempts lists pending routes that failed at least this many
	// times. Zero means DefaultStuckAttempts.
	MinAttempts int
	// Since, when set, lists the workflows routed to by deliveries
	// received since then (RecentWorkflows), for a caller that asks
	// Temporal how they ended.
	Since time.Time
	// Limit caps each list. Zero means 100.
	Limit int
}

// StuckRoute is a pending route the forwarder keeps failing to signal.
type StuckRoute struct {
	Seq         int64     `json:"seq"`
	DeliveryID  string    `json:"delivery_id"`
	Integration string    `json:"integration"`
	WorkflowID  string    `json:"workflow_id"`
	Attempts    int       `json:"attempts"`
	Reason      string    `json:"reason,omitempty"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// EntityBacklog is one workflow's pending routes.
type EntityBacklog struct {
	WorkflowID string `json:"workflow_id"`
	Pending    int    `json:"pending"`
	// OldestSeq is its first pending route's entry.
	OldestSeq int64 `json:"oldest_seq"`
}

// StuckReport is what may be stuck in the journal. Held routes (paused on
// purpose) are left out of all of it.
type StuckReport struct {
	// OldestPending is the oldest pending route, nil when none is.
	OldestPending *OldestPending `json:"oldest_pending,omitempty"`
	// MaxEntityBacklog is the most pending routes of one workflow.
	MaxEntityBacklog int `json:"max_entity_backlog"`
	// Backlogged are the workflows over StuckQuery.BacklogAbove, most
	// pending first, up to Limit; BackloggedTotal counts all of them.
	Backlogged      []EntityBacklog `json:"backlogged"`
	BackloggedTotal int             `json:"backlogged_total"`
	// Failing are the pending routes with at least MinAttempts failed
	// attempts, most attempts first, up to Limit; FailingTotal counts
	// all of them.
	Failing      []StuckRoute `json:"failing"`
	FailingTotal int          `json:"failing_total"`
	// RecentWorkflows are the workflows deliveries received since
	// StuckQuery.Since route to, up to Limit (nil without Since).
	RecentWorkflows []string `json:"recent_workflows,omitempty"`
}

// OldestPending is the oldest route waiting to be forwarded.
type OldestPending struct {
	Seq        int64     `json:"seq"`
	WorkflowID string    `json:"workflow_id"`
	ReceivedAt time.Time `json:"received_at"`
}

// Stuckness is implemented by journals that can report what is stuck.
type Stuckness interface {
	// Stuck reports the oldest pending route, the workflows with the
	// largest backlogs and the routes that keep failing.
	Stuck(ctx context.Context, q StuckQuery) (StuckReport, error)
}

var (
	_ Stuckness = (*SQLite)(nil)
	_ Stuckness = (*Postgres)(nil)
)

// Stuck implements Stuckness.
func (s *routeStore) Stuck(ctx context.Context, q StuckQuery) (StuckReport, error) {
	if q.BacklogAbove <= 0 {
		q.BacklogAbove = DefaultStuckBacklog
	}
	if q.MinAttempts <= 0 {
		q.MinAttempts = DefaultStuckAttempts
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	rep := StuckReport{Backlogged: []EntityBacklog{}, Failing: []StuckRoute{}}
	var o OldestPending
	var received dbTime
	err := s.db.QueryRowContext(ctx, `SELECT r.seq, r.workflow_id, d.received_at FROM routes r JOIN deliveries d ON d.seq = r.seq
		WHERE r.status = 'accepted' ORDER BY r.seq, r.ord LIMIT 1`).Scan(&o.Seq, &o.WorkflowID, &received)
	switch {
	case err == nil:
		o.ReceivedAt = received.t
		rep.OldestPending = &o
	case isNoRows(err):
	default:
		return rep, fmt.Errorf("journal: stuck: oldest: %w", err)
	}

	rows, err := s.db.QueryContext(ctx, `SELECT workflow_id, count(*) AS n, min(seq) FROM routes WHERE status = 'accepted'
		GROUP BY workflow_id ORDER BY n DESC, min(seq)`)
	if err != nil {
		return rep, fmt.Errorf("journal: stuck: backlog: %w", err)
	}
	for rows.Next() {
		var b EntityBacklog
		if err := rows.Scan(&b.WorkflowID, &b.Pending, &b.OldestSeq); err != nil {
			rows.Close()
			return rep, fmt.Errorf("journal: stuck: backlog: %w", err)
		}
		rep.MaxEntityBacklog = max(rep.MaxEntityBacklog, b.Pending)
		if b.Pending <= q.BacklogAbove {
			break // largest first: none of the rest is over
		}
		rep.BackloggedTotal++
		if len(rep.Backlogged) < q.Limit {
			rep.Backlogged = append(rep.Backlogged, b)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("journal: stuck: backlog: %w", err)
	}

	if err := s.db.QueryRowContext(ctx, s.d.q(`SELECT count(*) FROM routes WHERE status = 'accepted' AND attempts >= ?`), q.MinAttempts).
		Scan(&rep.FailingTotal); err != nil {
		return rep, fmt.Errorf("journal: stuck: failing: %w", err)
	}
	if rep.FailingTotal > 0 {
		rows, err = s.db.QueryContext(ctx, s.d.q(`SELECT r.seq, d.delivery_id, d.integration_id, r.workflow_id, r.attempts, r.reason, r.updated_at
			FROM routes r JOIN deliveries d ON d.seq = r.seq WHERE r.status = 'accepted' AND r.attempts >= ?
			ORDER BY r.attempts DESC, r.seq LIMIT ?`), q.MinAttempts, q.Limit)
		if err != nil {
			return rep, fmt.Errorf("journal: stuck: failing: %w", err)
		}
		for rows.Next() {
			var f StuckRoute
			var updated dbTime
			if err := rows.Scan(&f.Seq, &f.DeliveryID, &f.Integration, &f.WorkflowID, &f.Attempts, &f.Reason, &updated); err != nil {
				rows.Close()
				return rep, fmt.Errorf("journal: stuck: failing: %w", err)
			}
			f.UpdatedAt = updated.t
			rep.Failing = append(rep.Failing, f)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return rep, fmt.Errorf("journal: stuck: failing: %w", err)
		}
	}

	if !q.Since.IsZero() {
		rows, err = s.db.QueryContext(ctx, s.d.q(`SELECT r.workflow_id, max(d.seq) AS last FROM deliveries d JOIN routes r ON r.seq = d.seq
			WHERE d.received_at >= ? GROUP BY r.workflow_id ORDER BY last DESC LIMIT ?`), s.d.ts(q.Since), q.Limit)
		if err != nil {
			return rep, fmt.Errorf("journal: stuck: recent: %w", err)
		}
		rep.RecentWorkflows = []string{}
		for rows.Next() {
			var wf string
			var last int64
			if err := rows.Scan(&wf, &last); err != nil {
				rows.Close()
				return rep, fmt.Errorf("journal: stuck: recent: %w", err)
			}
			rep.RecentWorkflows = append(rep.RecentWorkflows, wf)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return rep, fmt.Errorf("journal: stuck: recent: %w", err)
		}
	}
	return rep, nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
