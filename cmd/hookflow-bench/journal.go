package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/workflows"
)

// journalEntry is an accepted 8 KiB pull_request delivery as the ingress
// journals it.
func journalEntry(body []byte, id string) journal.Entry {
	return journal.Entry{
		Status:      journal.Accepted,
		WorkflowIDs: []string{"github/bench/journal/pr/1"},
		Event: workflows.Event{
			DeliveryID: id, Source: "github", Type: "pull_request", Action: "synchronize", Integration: "int_bench",
			Keys: map[string]string{workflows.KeyHost: "github.com", workflows.KeyRepoPath: "bench/journal", workflows.KeyOwner: "bench",
				workflows.KeyRepoName: "journal", workflows.KeyPullRequest: "1"},
			Payload: body, ReceivedAt: time.Now().UTC(),
		},
	}
}

// journal: the ingress's SQLite journal (group commit) with --concurrency
// appenders, against a loop of single-row transactions on the same kind of
// database (WAL, synchronous=FULL, the same table), for --journal-duration
// each.
func (b *bench) journal(ctx context.Context) error {
	body, err := prBody("bench", "journal", 1)
	if err != nil {
		return err
	}
	dir, err := b.dir("journal")
	if err != nil {
		return err
	}

	// Group commit: the journal as the ingress uses it.
	db, err := sqlite.Open(filepath.Join(dir, "group.db"))
	if err != nil {
		return err
	}
	j, err := journal.OpenSQLite(ctx, db)
	if err != nil {
		db.Close()
		return err
	}
	var n atomic.Int64
	appendFor := func(d time.Duration, count bool) error {
		deadline := time.Now().Add(d)
		var wg sync.WaitGroup
		errs := make(chan error, b.opts.concurrency)
		for w := range b.opts.concurrency {
			wg.Go(func() {
				for i := 0; time.Now().Before(deadline); i++ {
					id := fmt.Sprintf("j-%t-%d-%d", count, w, i)
					if _, err := j.Append(ctx, journalEntry(body, id)); err != nil {
						errs <- err
						return
					}
					if count {
						n.Add(1)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		return <-errs
	}
	var groupErr error
	var groupElapsed time.Duration
	measure := func() {
		if groupErr = appendFor(500*time.Millisecond, false); groupErr != nil {
			return
		}
		t := time.Now()
		groupErr = appendFor(b.opts.journalDur, true)
		groupElapsed = time.Since(t)
	}
	if b.opts.profileDir != "" {
		err = withCPUProfile(filepath.Join(b.opts.profileDir, "journal.cpu.pprof"), measure)
	} else {
		measure()
	}
	j.Close()
	db.Close()
	if err != nil {
		return err
	}
	if groupErr != nil {
		return fmt.Errorf("group commit: %w", groupErr)
	}
	group := float64(n.Load()) / groupElapsed.Seconds()

	// Without group commit: one transaction, one fsync, per row.
	db, err = sqlite.Open(filepath.Join(dir, "single.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	if j, err = journal.OpenSQLite(ctx, db); err != nil { // creates the same table
		return err
	}
	j.Close()
	const q = `INSERT INTO deliveries (integration_id, delivery_id, dedup_key, source, event, action, status, reason,
		workflow_ids, keys, meta, payload, received_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (integration_id, dedup_key) DO NOTHING`
	insertOne := func(id string) error {
		e := journalEntry(body, id)
		keys, _ := json.Marshal(e.Event.Keys)
		wf, _ := json.Marshal(e.WorkflowIDs)
		now := time.Now().UnixNano()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, q, e.Event.Integration, id, id, e.Event.Source, e.Event.Type, e.Event.Action,
			string(e.Status), "", string(wf), string(keys), "{}", body, e.Event.ReceivedAt.UnixNano(), now); err != nil {
			return err
		}
		return tx.Commit()
	}
	for i := range 20 {
		if err := insertOne("warm-" + strconv.Itoa(i)); err != nil {
			return fmt.Errorf("single-row: %w", err)
		}
	}
	singles := 0
	t := time.Now()
	for deadline := t.Add(b.opts.journalDur); time.Now().Before(deadline); singles++ {
		if err := insertOne("s-" + strconv.Itoa(singles)); err != nil {
			return fmt.Errorf("single-row: %w", err)
		}
	}
	single := float64(singles) / time.Since(t).Seconds()

	name := fmt.Sprintf("journal append (8 KiB rows, %s)", b.opts.journalDur)
	b.rep.add(name, "appends/s", fmtRate(group, "/s"), fmtRate(single, "/s"), ratio(group, single))
	b.rep.note("**Journal.** In this process, on the disk of --work-dir: the ingress's SQLite journal "+
		"(`journal.OpenSQLite` over `ingress/sqlite.Open`: WAL, synchronous=FULL) with %d goroutines appending accepted "+
		"8 KiB deliveries (group commit: concurrent appends share one transaction and one fsync), against a loop of "+
		"single-row transactions (BEGIN IMMEDIATE, the same INSERT, COMMIT: one fsync per row) on a database opened the "+
		"same way with the same table. Each side runs %s after a warm-up.", b.opts.concurrency, b.opts.journalDur)
	b.log.Info("journal", "group/s", int(group), "single/s", int(single))
	return nil
}
