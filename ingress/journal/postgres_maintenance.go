package journal

import (
	"context"
	"encoding/json"
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
	if len(orig.Event.Payload) == 0 {
		return Entry{}, fmt.Errorf("entry %d (%s): %w", seq, orig.Status, ErrNotReplayable)
	}
	ev := orig.Event
	now := j.now()
	ev.ReceivedAt = now.UTC()
	// The copy of a delivery keeps its ID but takes no part in
	// deduplication: the original holds the key. A new ID does.
	var dedup any
	if asNew {
		ev.DeliveryID = fmt.Sprintf("%s.replay-%d", orig.Event.DeliveryID, now.UnixNano())
		dedup = ev.DeliveryID
	}
	keys, _ := json.Marshal(nonNil(ev.Keys))
	meta, _ := json.Marshal(nonNil(ev.Meta))
	wf, _ := json.Marshal(nonNilSlice(orig.WorkflowIDs))
	var newSeq int64
	err = j.db.QueryRowContext(ctx, pgInsertSQL+` RETURNING seq`,
		ev.Integration, ev.DeliveryID, dedup, ev.Source, ev.Type, ev.Action, string(Accepted), fmt.Sprintf("replay of entry %d", seq),
		string(wf), string(keys), string(meta), []byte(ev.Payload), ev.ReceivedAt, now).Scan(&newSeq)
	if err != nil {
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
	cond := strings.Join(where, " AND ") + " AND status <> 'accepted'"
	if dryRun {
		var n int
		if err := j.db.QueryRowContext(ctx, `SELECT count(*) FROM deliveries WHERE `+cond, args...).Scan(&n); err != nil {
			return 0, fmt.Errorf("journal: prune: %w", err)
		}
		return n, nil
	}
	res, err := j.db.ExecContext(ctx, `DELETE FROM deliveries WHERE `+cond, args...)
	if err != nil {
		return 0, fmt.Errorf("journal: prune: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
