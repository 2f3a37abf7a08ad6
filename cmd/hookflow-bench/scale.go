package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/ingress/forward"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/postgres"
	"github.com/hookflow/hookflow/workflows"
)

// remoteSignaler stands in for a remote Temporal cluster: every call takes
// rtt, and it counts the events each workflow received.
type remoteSignaler struct {
	rtt time.Duration
	mu  sync.Mutex
	got map[string]int // delivery ID -> times received
	n   int
}

func (r *remoteSignaler) SignalWithStartWorkflow(ctx context.Context, _, _ string, arg any, _ client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	select {
	case <-time.After(r.rtt):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range arg.(workflows.Batch).Events {
		if r.got[ev.DeliveryID] == 0 {
			r.n++
		}
		r.got[ev.DeliveryID]++
	}
	return nil, nil
}

func (r *remoteSignaler) received() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// scale: forwarding throughput of one and of two replicas sharing a
// PostgreSQL journal, each forwarding the partitions it leases, against a
// Temporal stand-in that takes a fixed latency per call (a remote cluster).
func (b *bench) scale(ctx context.Context) error {
	const name = "forwarding, PostgreSQL, Temporal %v away"
	bench := fmt.Sprintf(name, b.opts.scaleRTT)
	if b.opts.postgres == "" {
		b.rep.add(bench, "events/s", "skipped: no PostgreSQL (--postgres or HOOKFLOW_TEST_POSTGRES)", "", "")
		return nil
	}
	var rates [3]float64
	var doubled [3]int
	for _, k := range []int{1, 2} {
		rate, dup, err := b.scaleRun(ctx, k)
		if err != nil {
			return fmt.Errorf("%d replica(s): %w", k, err)
		}
		rates[k], doubled[k] = rate, dup
		b.log.Info("scale run", "replicas", k, "events_per_s", fmt.Sprintf("%.0f", rate), "doubled", dup)
	}
	b.rep.add(bench, "events/s to the stand-in (2 replicas vs 1)", fmtRate(rates[2], "ev/s"), fmtRate(rates[1], "ev/s"), ratio(rates[2], rates[1]))
	b.rep.add(bench, "events signalled twice", fmt.Sprint(doubled[2]), fmt.Sprint(doubled[1]), "")
	b.rep.note("**Partitioned forwarding.** In-process: %d accepted entries, one per workflow (1 KiB payloads), appended by 64 "+
		"goroutines to a PostgreSQL journal in a fresh schema, forwarded by K replicas (K journals on pools of their own, one "+
		"forwarder each with its defaults: rounds of 500 routes, 16 concurrent calls) to a stand-in for a remote Temporal "+
		"frontend that takes %v per SignalWithStart. The replicas are started first and the run waits until they share the 64 "+
		"partition leases (32 each for K = 2); events/s is the entries divided by the time from the first append until the "+
		"stand-in has received every one. *Signalled twice* counts deliveries the stand-in received more than once.",
		b.opts.scaleEvents, b.opts.scaleRTT)
	b.rep.goal(goal{name: "forward_two_replicas", ratio: true, got: rates[2] / rates[1], target: 1.6, atLeast: true,
		why: "both replicas share the journal's PostgreSQL server (Pending reads, marks) and the machine's 2 cores with the stand-in and the appenders"})
	return nil
}

// scaleRun measures k replicas on a fresh schema; it returns events/s and
// how many deliveries were received more than once.
func (b *bench) scaleRun(ctx context.Context, k int) (float64, int, error) {
	admin, err := postgres.Open(ctx, b.opts.postgres)
	if err != nil {
		return 0, 0, err
	}
	defer admin.Close()
	rnd := make([]byte, 6)
	_, _ = rand.Read(rnd)
	schema := "hookflow_bench_" + hex.EncodeToString(rnd)
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		return 0, 0, err
	}
	defer admin.ExecContext(context.WithoutCancel(ctx), `DROP SCHEMA `+schema+` CASCADE`)
	dsn := withParam(b.opts.postgres, "search_path", schema)

	sub := workflows.Subscription{Blueprint: "bench", Workflow: "bench.W", TaskQueue: "q", Route: func(workflows.Event) string { return "" }}
	sig := &remoteSignaler{rtt: b.opts.scaleRTT, got: map[string]int{}}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var journals []*journal.Postgres
	var dbs []*sql.DB
	var fwds []*forward.Forwarder
	fctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stop()
		wg.Wait()
		for _, j := range journals {
			j.Close()
		}
		for _, db := range dbs {
			db.Close()
		}
	}()
	for range k {
		db, err := postgres.Open(ctx, dsn)
		if err != nil {
			return 0, 0, err
		}
		dbs = append(dbs, db)
		j, err := journal.OpenPostgres(ctx, db)
		if err != nil {
			return 0, 0, err
		}
		journals = append(journals, j)
		f, err := forward.New(forward.Config{Journal: j, Temporal: sig, Router: workflows.NewRouter(sub), Logger: quiet})
		if err != nil {
			return 0, 0, err
		}
		fwds = append(fwds, f)
		wg.Go(func() { _ = f.Run(fctx) })
	}
	if err := waitForShares(ctx, admin, dsn, k); err != nil {
		return 0, 0, err
	}

	n := b.opts.scaleEvents
	payload := []byte(`{"pad":"` + strings.Repeat("x", 1000) + `"}`)
	start := time.Now()
	jobs := make(chan int)
	errs := make(chan error, 64)
	var appenders sync.WaitGroup
	for range 64 {
		appenders.Go(func() {
			for i := range jobs {
				_, err := journals[0].Append(ctx, journal.Entry{Status: journal.Accepted,
					Event:  workflows.Event{DeliveryID: fmt.Sprint("s-", i), Integration: "int", Source: "github", Type: "pull_request", Payload: payload},
					Routes: []journal.Route{{Blueprint: sub.Blueprint, Workflow: sub.Workflow, WorkflowID: fmt.Sprint("pr/", i)}}})
				if err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for i := range n {
		jobs <- i
		if i%500 == 0 {
			for _, f := range fwds {
				f.Wake()
			}
		}
	}
	close(jobs)
	appenders.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, 0, err
	}
	for _, f := range fwds {
		f.Wake()
	}
	deadline := time.Now().Add(5 * time.Minute)
	for sig.received() < n {
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("only %d of %d entries forwarded within 5 minutes", sig.received(), n)
		}
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	sig.mu.Lock()
	dup := 0
	for _, c := range sig.got {
		if c > 1 {
			dup++
		}
	}
	sig.mu.Unlock()
	return float64(n) / took.Seconds(), dup, nil
}

// waitForShares waits until k sessions hold the schema's 64 partition
// leases, as evenly as the fair share allows.
func waitForShares(ctx context.Context, admin *sql.DB, dsn string, k int) error {
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	key, err := postgres.LockKey(ctx, db, "partitions")
	if err != nil {
		return err
	}
	classid := int64(uint32(key) & 0x7fffffff)
	share := (journal.Partitions + k - 1) / k
	deadline := time.Now().Add(30 * time.Second)
	for {
		rows, err := admin.QueryContext(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
			AND objsubid = 2 AND classid = $1 AND objid < $2 GROUP BY pid`, classid, journal.Partitions)
		if err != nil {
			return err
		}
		var counts []int
		for rows.Next() {
			var c int
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return err
			}
			counts = append(counts, c)
		}
		rows.Close()
		total, fair := 0, len(counts) == k
		for _, c := range counts {
			total += c
			fair = fair && c >= journal.Partitions-share*(k-1) && c <= share
		}
		if fair && total == journal.Partitions {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("the replicas did not share the partitions within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// withParam returns a postgres:// dsn with a run-time parameter set.
func withParam(dsn, key, value string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return strings.TrimSpace(dsn) + " " + key + "=" + value
}
