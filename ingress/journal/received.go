package journal

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/hookflow/hookflow/ingress/postgres"
	"github.com/hookflow/hookflow/ingress/sqlite"
)

// receivedStatuses are the statuses of entries that took a delivery: it
// reached Hookflow and was kept (accepted, forwarded, ignored) or given up
// on by the forwarder (failed, which replay fixes, not a redelivery).
// Rejected records (refused at the door) and duplicate records (a
// redelivery's trace) do not hold a delivery.
var receivedStatuses = []Status{Accepted, Forwarded, Ignored, Failed}

// receivedMigrations: the lookup first had an index of its own on
// (integration_id, delivery_id); it now reads the journal's dedup index
// (see Received), and the second step drops the first's. Every append
// inserted into both, and with random delivery IDs (GitHub's are GUIDs)
// each insert dirtied its own leaf page: the writer wrote, checkpointed
// and fsynced one more 4 KiB page per delivery for a query that runs
// when recover does.
var receivedMigrations = []string{
	`CREATE INDEX IF NOT EXISTS deliveries_integration_delivery ON deliveries (integration_id, delivery_id)`,
	`DROP INDEX IF EXISTS deliveries_integration_delivery`,
}

// receivedBatch bounds the delivery IDs of one query: well under SQLite's
// and PostgreSQL's limits on bound parameters.
const receivedBatch = 500

// Received answers which of a sender's delivery IDs the journal holds for
// an integration, as recover needs to decide what to ask the sender for
// again. It reads the deliveries table's integration_id, dedup_key and
// status columns through the dedup index: an entry that took a delivery
// (accepted or ignored when it arrived) holds its delivery ID as its dedup
// key, and the records of refusals and redeliveries, which did not, hold
// none. A replay's copy holds none either; its original holds the key.
type Received struct {
	db *sql.DB
	pg bool
}

// OpenSQLiteReceived returns the lookup over the SQLite journal in db (see
// OpenSQLite, whose migrations must have run) and adds the index it reads.
func OpenSQLiteReceived(ctx context.Context, db *sql.DB) (*Received, error) {
	if err := sqlite.Migrate(ctx, db, "journal_received", receivedMigrations); err != nil {
		return nil, err
	}
	return &Received{db: db}, nil
}

// OpenPostgresReceived is OpenSQLiteReceived for the PostgreSQL journal in
// db (see OpenPostgres). The index is built once, at the first start of a
// version that has it, in the migration's transaction: appends wait for it.
func OpenPostgresReceived(ctx context.Context, db *sql.DB) (*Received, error) {
	if err := postgres.Migrate(ctx, db, "journal_received", receivedMigrations); err != nil {
		return nil, err
	}
	return &Received{db: db, pg: true}, nil
}

// Received returns the subset of ids that integration's entries hold with
// a status that took the delivery (accepted, forwarded, ignored, failed).
// An ID held only by rejected or duplicate records is not in it.
func (r *Received) Received(ctx context.Context, integration string, ids []string) (map[string]bool, error) {
	held := make(map[string]bool, len(ids))
	for start := 0; start < len(ids); start += receivedBatch {
		batch := ids[start:min(start+receivedBatch, len(ids))]
		args := make([]any, 0, 1+len(receivedStatuses)+len(batch))
		args = append(args, integration)
		for _, s := range receivedStatuses {
			args = append(args, string(s))
		}
		for _, id := range batch {
			args = append(args, id)
		}
		q := `SELECT dedup_key FROM deliveries WHERE integration_id = ? AND status IN (` +
			placeholders(len(receivedStatuses)) + `) AND dedup_key IN (` + placeholders(len(batch)) + `)`
		if r.pg {
			q = postgres.Rebind(q)
		}
		if err := r.collect(ctx, q, args, held); err != nil {
			return nil, err
		}
	}
	return held, nil
}

func (r *Received) collect(ctx context.Context, q string, args []any, held map[string]bool) error {
	rows, err := r.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("journal: received: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("journal: received: %w", err)
		}
		held[id] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("journal: received: %w", err)
	}
	return nil
}
