package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/ingress/forward"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/workflows"
)

// poisonSignaler stands in for Temporal's frontend: every call takes
// rtt; it refuses the workflows named poison/… (as it refuses an
// oversized blob), is unavailable for those named down/…, and records when
// each delivery of the others arrived.
type poisonSignaler struct {
	rtt time.Duration
	mu  sync.Mutex
	got map[string]time.Time
}

func (p *poisonSignaler) SignalWithStartWorkflow(ctx context.Context, id, _ string, arg any, _ client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	select {
	case <-time.After(p.rtt):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	switch {
	case strings.HasPrefix(id, "poison/"):
		return nil, serviceerror.NewInvalidArgument("Blob data size exceeds limit.")
	case strings.HasPrefix(id, "down/"):
		return nil, serviceerror.NewUnavailable("shard unavailable")
	}
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ev := range arg.(workflows.Batch).Events {
		p.got[ev.DeliveryID] = now
	}
	return nil, nil
}

// poison: how long unrelated deliveries take from the journal to their
// workflow while 1,000 poison routes (500 Temporal refuses, 500 on 100
// workflows it never answers for) sit in the same journal, against the
// same run without them. In-process: a SQLite journal, the real
// forwarder, and a stand-in for Temporal with a 2 ms round trip.
func (b *bench) poison(ctx context.Context) error {
	const normal, poisoned = 500, 1000
	// The unrelated deliveries (250/s) are spread over enough workflows
	// that each gets half the forwarder's signal rate: at the rate
	// itself, every event would wait for its workflow's next slot, and
	// each latency would carry the one before it, so the phase would
	// measure the rate's hold instead of the poison.
	const unrelatedWorkflows = 250 * 2 / forward.DefaultSignalRate
	run := func(withPoison bool) ([]time.Duration, error) {
		dir, err := b.dir("poison")
		if err != nil {
			return nil, err
		}
		db, err := sqlite.Open(filepath.Join(dir, "journal.db"))
		if err != nil {
			return nil, err
		}
		defer db.Close()
		j, err := journal.OpenSQLite(ctx, db)
		if err != nil {
			return nil, err
		}
		defer j.Close()
		sub := workflows.Subscription{Blueprint: "bench", Workflow: "bench.W", TaskQueue: "q", Route: func(workflows.Event) string { return "" }}
		appendRoute := func(id, wf string) error {
			_, err := j.Append(ctx, journal.Entry{Status: journal.Accepted,
				Event:  workflows.Event{DeliveryID: id, Integration: "int", Source: "github", Type: "pull_request", Payload: []byte(`{"n":1}`)},
				Routes: []journal.Route{{Blueprint: sub.Blueprint, Workflow: sub.Workflow, WorkflowID: wf}}})
			return err
		}
		sig := &poisonSignaler{rtt: 2 * time.Millisecond, got: map[string]time.Time{}}
		f, err := forward.New(forward.Config{Journal: j, Temporal: sig, Router: workflows.NewRouter(sub), Idle: 20 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			return nil, err
		}
		fctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = f.Run(fctx) }()
		defer func() { stop(); <-done }()

		// Normal deliveries arrive at a steady 250/s over 100 workflows,
		// with two poison routes beside each (500 Temporal refuses, 500 on
		// 100 workflows it never answers for).
		sent := make(map[string]time.Time, normal)
		tick := time.NewTicker(4 * time.Millisecond)
		defer tick.Stop()
		for i := range normal {
			<-tick.C
			// The tick's deliveries arrive together, as concurrent
			// requests do: they share one group commit.
			var wg sync.WaitGroup
			errs := make(chan error, 1+poisoned/normal)
			if withPoison {
				for k := range poisoned / normal {
					p := i*(poisoned/normal) + k
					wf := fmt.Sprintf("poison/%d", p)
					if k%2 == 1 {
						wf = fmt.Sprintf("down/%d", p%100)
					}
					wg.Go(func() { errs <- appendRoute(fmt.Sprintf("p-%d", p), wf) })
				}
			}
			id := fmt.Sprintf("n-%d", i)
			sent[id] = time.Now()
			wg.Go(func() { errs <- appendRoute(id, fmt.Sprintf("pr/%d", i%unrelatedWorkflows)) })
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					return nil, err
				}
			}
			f.Wake()
		}
		deadline := time.Now().Add(2 * time.Minute)
		for {
			sig.mu.Lock()
			n := len(sig.got)
			sig.mu.Unlock()
			if n == normal {
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("only %d of %d unrelated deliveries forwarded within 2 minutes (poison: %t)", n, normal, withPoison)
			}
			time.Sleep(10 * time.Millisecond)
		}
		sig.mu.Lock()
		defer sig.mu.Unlock()
		lat := make([]time.Duration, 0, normal)
		for id, at := range sent {
			lat = append(lat, sig.got[id].Sub(at))
		}
		slices.Sort(lat)
		return lat, nil
	}
	base, err := run(false)
	if err != nil {
		return err
	}
	with, err := run(true)
	if err != nil {
		return err
	}
	pct := func(l []time.Duration, p int) time.Duration { return l[min(len(l)-1, len(l)*p/100)] }
	name := "forward with 1,000 poison routes"
	b.rep.add(name, "unrelated p50", fmtMs(pct(with, 50)), fmtMs(pct(base, 50)), ratio(ms(pct(with, 50)), ms(pct(base, 50))))
	b.rep.add(name, "unrelated p99", fmtMs(pct(with, 99)), fmtMs(pct(base, 99)), ratio(ms(pct(with, 99)), ms(pct(base, 99))))
	b.rep.note("**Poison routes.** In-process: a SQLite journal, the real forwarder and a stand-in for Temporal's frontend "+
		"(2 ms per call) that refuses workflows poison/… (InvalidArgument, as for an oversized blob) and is unavailable for "+
		"down/…. %d unrelated deliveries arrive at 250/s over %d workflows (half the default signal rate each); the baseline run has nothing else in the journal, "+
		"the other %d poison routes mixed in, two beside each (500 refused, 500 on 100 workflows that never answer). Latency is from the "+
		"append to the stand-in's receipt. Refused routes are failed at once; unavailable workflows back off on their own.", normal, unrelatedWorkflows, poisoned)
	b.rep.goal(goal{name: "forward_unrelated_p50_with_poison", ratio: true, got: ms(pct(with, 50)) / ms(pct(base, 50)), target: 2,
		why: "each refused route costs one call before it is failed, and each unavailable workflow one call per back-off: rounds carry them beside the unrelated routes, and their marks share the journal's writer with the appends"})
	return nil
}
