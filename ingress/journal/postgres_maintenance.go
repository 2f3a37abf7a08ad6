package journal

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

var _ Maintenance = (*Postgres)(nil)

// Replay implements Maintenance.
func (j *Postgres) Replay(ctx context.Context, seq int64, asNew bool) (Entry, error) {
	orig, err := j.Get(ctx, seq)
	if err != nil {
		return Entry{}, err
	}
	now := j.now()
	e, dedup, err := replayCopy(orig, asNew, now)
	if err != nil {
		return Entry{}, err
	}
	ev := e.Event
	wf, keys, meta := textColumns(e)
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return Entry{}, fmt.Errorf("journal: replay %d: %w", seq, err)
	}
	defer tx.Rollback()
	var newSeq int64
	err = tx.QueryRowContext(ctx, pgInsertSQL+` RETURNING seq`,
		ev.Integration, ev.DeliveryID, dedup, ev.Source, ev.Type, ev.Action, string(e.Status), e.Reason,
		wf, keys, meta, []byte(ev.Payload), ev.ReceivedAt, now, len(ev.Payload), ev.TraceParent).Scan(&newSeq)
	if err != nil {
		return Entry{}, fmt.Errorf("journal: replay %d: %w", seq, err)
	}
	if err := j.insertRoutes(ctx, tx, newSeq, e.Routes, now); err != nil {
		return Entry{}, err
	}
	if err := tx.Commit(); err != nil {
		return Entry{}, fmt.Errorf("journal: replay %d: %w", seq, err)
	}
	return j.Get(ctx, newSeq)
}

// Prune implements Maintenance.
func (j *Postgres) Prune(ctx context.Context, f PruneFilter, dryRun bool) (int, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if !f.Before.IsZero() {
		add("received_at < $%d", f.Before)
	}
	if f.Integration != "" {
		add("integration_id = $%d", f.Integration)
	}
	if len(f.Seqs) > 0 {
		add("seq = ANY($%d)", f.Seqs)
	}
	if len(where) == 0 {
		return 0, errors.New("journal: prune needs a filter")
	}
	args = append(args, InlinePayloadLimit, j.now().Add(-PayloadGrace))
	cond := strings.Join(where, " AND ") + fmt.Sprintf(" AND status <> 'accepted' AND NOT (payload_size > $%d AND updated_at > $%d)", len(args)-1, len(args))
	if dryRun {
		var n int
		if err := j.db.QueryRowContext(ctx, `SELECT count(*) FROM deliveries WHERE `+cond, args...).Scan(&n); err != nil {
			return 0, fmt.Errorf("journal: prune: %w", err)
		}
		return n, nil
	}
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("journal: prune: %w", err)
	}
	defer tx.Rollback()
	if err := j.deleteRoutesWhere(ctx, tx, cond, args...); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE `+cond, args...)
	if err != nil {
		return 0, fmt.Errorf("journal: prune: %w", err)
	}
	n, _ := res.RowsAffected()
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("journal: prune: %w", err)
	}
	return int(n), nil
}
