package ingress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/workflows"
)

// Signaler is the part of the Temporal client the forwarder uses.
type Signaler interface {
	SignalWithStartWorkflow(ctx context.Context, workflowID, signalName string, signalArg any,
		options client.StartWorkflowOptions, workflow any, workflowArgs ...any) (client.WorkflowRun, error)
}

// ForwarderConfig configures a Forwarder.
type ForwarderConfig struct {
	// Journal is read for accepted entries. Required.
	Journal journal.Journal
	// Temporal receives the signals. Required.
	Temporal Signaler
	// Router maps events to workflows. Required.
	Router *workflows.Router
	// Logger: nil means slog.Default().
	Logger *slog.Logger
	// BatchSize is how many entries one round reads. Zero means 500.
	BatchSize int
	// Concurrency bounds how many workflows are signalled at once. Zero
	// means 16.
	Concurrency int
	// MaxSignalBytes bounds the payload bytes batched into one signal.
	// Zero means 512 KiB.
	MaxSignalBytes int
	// Idle is how long to wait for work when the journal is empty and no
	// wake-up comes. Zero means 1 s.
	Idle time.Duration
	// MaxBackoff caps the wait between rounds while Temporal fails. Zero
	// means 10 s.
	MaxBackoff time.Duration
	// Metrics, when set, count signals and forwarded events.
	Metrics *Metrics
}

// Forwarder turns accepted journal entries into SignalWithStart calls, in
// acceptance order per workflow, and records the outcome on each entry.
// Any number of Forwarders may share a journal only if the journal
// coordinates them (the SQLite journal has one process).
type Forwarder struct {
	cfg  ForwarderConfig
	log  *slog.Logger
	wake chan struct{}
}

// NewForwarder returns a Forwarder; Run starts it.
func NewForwarder(cfg ForwarderConfig) (*Forwarder, error) {
	if cfg.Journal == nil || cfg.Temporal == nil || cfg.Router == nil {
		return nil, errors.New("forwarder: Journal, Temporal and Router are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	if cfg.MaxSignalBytes <= 0 {
		cfg.MaxSignalBytes = 512 << 10
	}
	if cfg.Idle <= 0 {
		cfg.Idle = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Second
	}
	return &Forwarder{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1)}, nil
}

// Wake tells the forwarder there is new work; it never blocks.
func (f *Forwarder) Wake() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Run forwards until ctx is done. Temporal being unreachable is not an
// error: Run backs off and retries the same entries, in the same order.
// When the journal is shared by several processes (journal.Leader), Run
// forwards only while this process leads.
func (f *Forwarder) Run(ctx context.Context) error {
	leader, ok := f.cfg.Journal.(journal.Leader)
	if !ok {
		return f.forward(ctx)
	}
	for ctx.Err() == nil {
		lost, release, err := leader.Lead(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("forwarder: lead: %w", err)
		}
		f.log.Info("forwarder leads")
		leadCtx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-lost:
			case <-leadCtx.Done():
			}
			cancel()
		}()
		err = f.forward(leadCtx)
		cancel()
		release()
		if ctx.Err() == nil {
			f.log.Warn("forwarder lost leadership; waiting to lead again")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (f *Forwarder) forward(ctx context.Context) error {
	failures := 0
	for {
		n, transient, err := f.round(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var wait time.Duration
		switch {
		case err != nil || transient:
			failures++
			wait = backoff(failures, f.cfg.MaxBackoff)
			if err != nil {
				f.log.Warn("forwarder round failed", "error", err, "retry_in", wait)
			}
		case n == 0:
			failures = 0
			wait = f.cfg.Idle
		default:
			failures = 0
			continue // more may be pending
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-f.wake:
			if failures > 0 { // don't hammer a failing Temporal on every delivery
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return nil
				}
			}
		case <-t.C:
		}
		t.Stop()
	}
}

func backoff(failures int, maxWait time.Duration) time.Duration {
	d := 100 * time.Millisecond << min(failures-1, 10)
	d = min(d, maxWait)
	return d/2 + rand.N(d/2+1)
}

// group is the work of one round for one workflow.
type group struct {
	route   workflows.Route
	entries []int // indexes into the round's entries, in acceptance order
}

// round forwards one batch of pending entries. It reports how many entries
// it read and whether some failed transiently.
func (f *Forwarder) round(ctx context.Context) (int, bool, error) {
	entries, err := f.cfg.Journal.Pending(ctx, f.cfg.BatchSize)
	if err != nil || len(entries) == 0 {
		return 0, false, err
	}
	var groups []*group
	byID := map[string]*group{}
	routesOf := make([][]string, len(entries))
	var marks []journal.Mark
	for i, e := range entries {
		routes := f.cfg.Router.Routes(e.Event)
		if len(routes) == 0 {
			marks = append(marks, journal.Mark{Seq: e.Event.Seq, Status: journal.Ignored, Reason: "no blueprint subscribes to it"})
			continue
		}
		for _, rt := range routes {
			routesOf[i] = append(routesOf[i], rt.WorkflowID)
			g := byID[rt.WorkflowID]
			if g == nil {
				g = &group{route: rt}
				byID[rt.WorkflowID] = g
				groups = append(groups, g)
			}
			g.entries = append(g.entries, i)
		}
	}

	// failed[i] holds the first error entry i met on any of its routes.
	failed := make([]error, len(entries))
	var mu sync.Mutex
	sem := make(chan struct{}, f.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, g := range groups {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			sent, err := f.signalGroup(ctx, g, entries)
			if err == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, i := range g.entries[sent:] {
				if failed[i] == nil {
					failed[i] = err
				}
			}
		})
	}
	wg.Wait()

	transient := false
	for i, e := range entries {
		if routesOf[i] == nil {
			continue
		}
		switch err := failed[i]; {
		case err == nil:
			marks = append(marks, journal.Mark{Seq: e.Event.Seq, Status: journal.Forwarded, WorkflowIDs: routesOf[i]})
		case permanent(err):
			marks = append(marks, journal.Mark{Seq: e.Event.Seq, Status: journal.Failed, Reason: err.Error(), WorkflowIDs: routesOf[i]})
			f.log.Error("delivery failed", "delivery_id", e.Event.DeliveryID, "integration", e.Event.Integration, "error", err)
		default:
			transient = true
			marks = append(marks, journal.Mark{Seq: e.Event.Seq, Retry: true, Reason: "retrying: " + err.Error()})
		}
	}
	if err := f.cfg.Journal.Mark(context.WithoutCancel(ctx), marks...); err != nil {
		return len(entries), transient, err
	}
	return len(entries), transient, nil
}

// signalGroup sends a group's entries to its workflow in order, several per
// signal up to MaxSignalBytes. It returns how many entries were sent before
// the first error; later entries are not sent, so order is kept.
func (f *Forwarder) signalGroup(ctx context.Context, g *group, entries []journal.Entry) (int, error) {
	sub := g.route.Subscription
	opts := client.StartWorkflowOptions{ID: g.route.WorkflowID, TaskQueue: sub.TaskQueue}
	var args []any
	if sub.Input != nil {
		args = append(args, sub.Input(g.route.WorkflowID))
	}
	sent := 0
	for sent < len(g.entries) {
		batch := workflows.Batch{}
		size := 0
		for _, i := range g.entries[sent:] {
			ev := entries[i].Event
			if len(batch.Events) > 0 && size+len(ev.Payload) > f.cfg.MaxSignalBytes {
				break
			}
			batch.Events = append(batch.Events, ev)
			size += len(ev.Payload)
		}
		callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := f.cfg.Temporal.SignalWithStartWorkflow(callCtx, g.route.WorkflowID, workflows.SignalEvents, batch, opts, sub.Workflow, args...)
		cancel()
		if err != nil {
			if permanent(err) {
				f.cfg.Metrics.signal("failed", len(batch.Events))
			} else {
				f.cfg.Metrics.signal("retry", len(batch.Events))
			}
			return sent, fmt.Errorf("signal %s: %w", g.route.WorkflowID, err)
		}
		f.cfg.Metrics.signal("ok", len(batch.Events))
		sent += len(batch.Events)
	}
	return sent, nil
}

// permanent reports whether retrying the same signal cannot succeed.
func permanent(err error) bool {
	var invalid *serviceerror.InvalidArgument
	return errors.As(err, &invalid)
}
