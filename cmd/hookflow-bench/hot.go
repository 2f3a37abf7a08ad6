package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/ingress/forward"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/workflows"
)

// burstSignaler records every signal: when, to which workflow, which
// deliveries.
type burstSignaler struct {
	rtt time.Duration
	mu  sync.Mutex
	at  map[string][]time.Time
	ids map[string][]string
	got map[string]time.Time
}

func (s *burstSignaler) SignalWithStartWorkflow(ctx context.Context, id, _ string, arg any, _ client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	now := time.Now()
	select {
	case <-time.After(s.rtt):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.at[id] = append(s.at[id], now)
	for _, ev := range arg.(workflows.Batch).Events {
		s.ids[id] = append(s.ids[id], ev.DeliveryID)
		s.got[ev.DeliveryID] = time.Now()
	}
	return nil, nil
}

// hotRun is what one run of the hot-entity benchmark saw.
type hotRun struct {
	maxPerSecond int     // most signals to the hot workflow in any 1 s window
	perSignal    float64 // events per signal to the hot workflow
	inOrder      bool
	quiet        []time.Duration // latency of the quiet workflows' events
	hotLatency   []time.Duration
}

// hot: one entity receiving 100 events/s for --hot-duration while quiet
// entities get an event every 500 ms, with the forwarder's signal rate
// (5/s per workflow, its default) against the same run without a cap.
// In-process: a SQLite journal, the real forwarder, a stand-in for
// Temporal with a 2 ms round trip.
func (b *bench) hot(ctx context.Context) error {
	capped, err := b.hotRun(ctx, 0)
	if err != nil {
		return err
	}
	free, err := b.hotRun(ctx, -1)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("hot entity, 100 ev/s for %v (cap vs no cap)", b.opts.hotDuration)
	b.rep.add(name, "signals to it in its busiest second", fmt.Sprint(capped.maxPerSecond), fmt.Sprint(free.maxPerSecond), ratio(float64(capped.maxPerSecond), float64(free.maxPerSecond)))
	b.rep.add(name, "events per signal", fmt.Sprintf("%.1f", capped.perSignal), fmt.Sprintf("%.1f", free.perSignal), "")
	b.rep.add(name, "all its events, in order", yesNo(capped.inOrder), yesNo(free.inOrder), "")
	pct := func(l []time.Duration, p int) time.Duration { return l[min(len(l)-1, len(l)*p/100)] }
	b.rep.add(name, "its events: p50 / p99 latency", fmtMs(pct(capped.hotLatency, 50))+" / "+fmtMs(pct(capped.hotLatency, 99)),
		fmtMs(pct(free.hotLatency, 50))+" / "+fmtMs(pct(free.hotLatency, 99)), "")
	b.rep.add(name, "quiet entities' single events: p50 / max latency", fmtMs(pct(capped.quiet, 50))+" / "+fmtMs(capped.quiet[len(capped.quiet)-1]),
		fmtMs(pct(free.quiet, 50))+" / "+fmtMs(free.quiet[len(free.quiet)-1]), "")
	b.rep.note("**Hot entity.** In-process: a SQLite journal, the real forwarder and a stand-in for Temporal (2 ms per call). One "+
		"pull request gets 100 events/s (one every 10 ms) for %v while another 20 get one event each, every 500 ms in turn. "+
		"Hookflow: the forwarder's default signal rate (%d signals/s per workflow); baseline: the same forwarder with the cap "+
		"lifted (SignalRate -1). *Busiest second* is the most signals the hot workflow received in any 1 s window; latency is from "+
		"the append to the stand-in's receipt.", b.opts.hotDuration, forward.DefaultSignalRate)
	b.rep.goal(goal{name: "hot_entity_signals_per_s", got: float64(capped.maxPerSecond), target: forward.DefaultSignalRate,
		why: "the forwarder's per-workflow signal rate let more through"})
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func (b *bench) hotRun(ctx context.Context, rate float64) (hotRun, error) {
	var out hotRun
	dir, err := b.dir("hot")
	if err != nil {
		return out, err
	}
	db, err := sqlite.Open(filepath.Join(dir, "journal.db"))
	if err != nil {
		return out, err
	}
	defer db.Close()
	j, err := journal.OpenSQLite(ctx, db)
	if err != nil {
		return out, err
	}
	defer j.Close()
	sub := workflows.Subscription{Blueprint: "bench", Workflow: "bench.W", TaskQueue: "q", Route: func(workflows.Event) string { return "" }}
	sig := &burstSignaler{rtt: 2 * time.Millisecond, at: map[string][]time.Time{}, ids: map[string][]string{}, got: map[string]time.Time{}}
	f, err := forward.New(forward.Config{Journal: j, Temporal: sig, Router: workflows.NewRouter(sub), SignalRate: rate,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return out, err
	}
	fctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(fctx) }()
	defer func() { stop(); <-done }()

	appendTo := func(id, wf string) error {
		_, err := j.Append(ctx, journal.Entry{Status: journal.Accepted,
			Event:  workflows.Event{DeliveryID: id, Integration: "int", Source: "github", Type: "check_run", Payload: []byte(`{"n":1}`)},
			Routes: []journal.Route{{Blueprint: sub.Blueprint, Workflow: sub.Workflow, WorkflowID: wf}}})
		if err == nil {
			f.Wake()
		}
		return err
	}
	sent := map[string]time.Time{}
	var hotIDs, quietIDs []string
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	steps := int(b.opts.hotDuration / (10 * time.Millisecond))
	for i := range steps {
		<-tick.C
		id := fmt.Sprint("hot-", i)
		sent[id] = time.Now()
		if err := appendTo(id, "pr/hot"); err != nil {
			return out, err
		}
		hotIDs = append(hotIDs, id)
		if i%50 == 25 {
			id := fmt.Sprint("quiet-", i)
			sent[id] = time.Now()
			if err := appendTo(id, fmt.Sprint("pr/quiet-", (i/50)%20)); err != nil {
				return out, err
			}
			quietIDs = append(quietIDs, id)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for {
		sig.mu.Lock()
		n := len(sig.got)
		sig.mu.Unlock()
		if n >= len(hotIDs)+len(quietIDs) {
			break
		}
		if time.Now().After(deadline) {
			return out, fmt.Errorf("only %d of %d events forwarded a minute after the burst", n, len(hotIDs)+len(quietIDs))
		}
		time.Sleep(10 * time.Millisecond)
	}
	sig.mu.Lock()
	defer sig.mu.Unlock()
	at := sig.at["pr/hot"]
	for i := range at {
		n := 0
		for k := i; k < len(at) && at[k].Sub(at[i]) < time.Second; k++ {
			n++
		}
		out.maxPerSecond = max(out.maxPerSecond, n)
	}
	out.perSignal = float64(len(sig.ids["pr/hot"])) / float64(len(at))
	out.inOrder = slices.Equal(sig.ids["pr/hot"], hotIDs)
	for _, id := range hotIDs {
		out.hotLatency = append(out.hotLatency, sig.got[id].Sub(sent[id]))
	}
	for _, id := range quietIDs {
		out.quiet = append(out.quiet, sig.got[id].Sub(sent[id]))
	}
	slices.Sort(out.hotLatency)
	slices.Sort(out.quiet)
	return out, nil
}
