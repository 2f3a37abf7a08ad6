// Package forward turns the journal's pending routes into Temporal
// SignalWithStart calls: in acceptance order per workflow, several events
// per signal, each route's outcome recorded on the route. It never routes:
// the ingress decided each entry's routes when it accepted it.
package forward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	enumspb "go.temporal.io/api/enums/v1"
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

// Config configures a Forwarder.
type Config struct {
	// Journal is read for pending routes. Required.
	Journal journal.Journal
	// Temporal receives the signals. Required.
	Temporal Signaler
	// Router knows how to start each stored route's workflow (its
	// subscription's task queue and input); it routes only entries that
	// an older journal holds without routes, once. Required.
	Router *workflows.Router
	// Logger: nil means slog.Default().
	Logger *slog.Logger
	// BatchSize is how many routes one round reads. Zero means 500.
	BatchSize int
	// MaxRoundBytes bounds the inline payload bytes one round reads. Zero
	// means 16 MiB.
	MaxRoundBytes int64
	// Concurrency bounds how many workflows are signalled at once. Zero
	// means 16.
	Concurrency int
	// MaxSignalBytes bounds the payload bytes batched into one signal.
	// Zero means 512 KiB.
	MaxSignalBytes int
	// Idle is how long to wait for work when nothing is pending and no
	// wake-up comes. Zero means 1 s.
	Idle time.Duration
	// MaxBackoff caps how long one workflow waits between attempts while
	// Temporal fails for it. Zero means 10 s.
	MaxBackoff time.Duration
	// CallTimeout bounds one SignalWithStart call. Zero means 30 s.
	CallTimeout time.Duration
	// Metrics, when set, count signals and forwarded events.
	Metrics *Metrics
	// Tracer traces each signal as a child of its first delivery's trace
	// (trace.go). Nil means no tracing.
	Tracer trace.Tracer
	// SignalRate caps the signals per second sent to one workflow: Temporal
	// advises about 5 sustained per workflow, since each signal schedules
	// a workflow task. Events that arrive for a workflow faster wait for
	// its next slot and go out together in one batch; an event for a
	// workflow that had no signal for 1/SignalRate goes out at once. Zero
	// means 5; negative means no cap.
	SignalRate float64
	// Now is the clock the signal rate is measured with. Nil means
	// time.Now (tests set a fake one).
	Now func() time.Time
}

// Forwarder forwards pending routes until its context ends.
// Any number of Forwarders may share a journal only if the journal
// coordinates them (journal.Partitioner or journal.Leader); the SQLite
// journal has one process.
type Forwarder struct {
	cfg  Config
	log  *slog.Logger
	wake chan struct{}
	// interval is the least time between two signals to one workflow
	// (zero: no cap).
	interval time.Duration
	// lease, while set, is the partition lease Run forwards under;
	// heldCount is how many partitions it held at the last round.
	lease     journal.PartitionLease
	heldCount int

	// last and held are only touched by the goroutine running rounds:
	// when each workflow was last signalled (within interval), and until
	// when each workflow with events waiting for its next slot is held.
	last map[string]time.Time
	held map[string]time.Time
}

// maxExclude bounds the held workflows one round's Pending skips; beyond
// it, the others are read and put back, which costs a read but keeps the
// order.
const maxExclude = 1000

// New returns a Forwarder; Run starts it.
func New(cfg Config) (*Forwarder, error) {
	if cfg.Journal == nil || cfg.Temporal == nil || cfg.Router == nil {
		return nil, errors.New("forward: Journal, Temporal and Router are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.MaxRoundBytes <= 0 {
		cfg.MaxRoundBytes = 16 << 20
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
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 30 * time.Second
	}
	if cfg.Tracer == nil {
		cfg.Tracer = noop.NewTracerProvider().Tracer("")
	}
	if cfg.SignalRate == 0 {
		cfg.SignalRate = DefaultSignalRate
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	f := &Forwarder{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1), last: map[string]time.Time{}, held: map[string]time.Time{}}
	if cfg.SignalRate > 0 {
		f.interval = time.Duration(float64(time.Second) / cfg.SignalRate)
	}
	return f, nil
}

// DefaultSignalRate is Config.SignalRate's default: signals per second per
// workflow.
const DefaultSignalRate = 5

// Wake tells the forwarder there is new work; it never blocks.
func (f *Forwarder) Wake() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Run forwards until ctx is done. Temporal being unreachable is not an
// error: each workflow backs off on its own and is retried in order.
// When the journal is shared by several processes, Run forwards only the
// partitions this process leases (journal.Partitioner), or everything
// while it leads (journal.Leader).
func (f *Forwarder) Run(ctx context.Context) error {
	if p, ok := f.cfg.Journal.(journal.Partitioner); ok {
		return f.runPartitions(ctx, p)
	}
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
			return fmt.Errorf("forward: lead: %w", err)
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

// runPartitions forwards the partitions this process leases, taking a new
// lease whenever one is lost.
func (f *Forwarder) runPartitions(ctx context.Context, p journal.Partitioner) error {
	for ctx.Err() == nil {
		lease, err := p.LeasePartitions(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("forward: lease partitions: %w", err)
		}
		f.log.Info("forwarder leases partitions")
		leaseCtx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-lease.Lost():
			case <-leaseCtx.Done():
			}
			cancel()
		}()
		f.lease = lease
		err = f.forward(leaseCtx)
		f.lease, f.heldCount = nil, 0
		cancel()
		lease.Release()
		if ctx.Err() == nil {
			f.log.Warn("forwarder lost its partition lease; leasing again")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// route is the routing of entries an older journal holds without routes.
func (f *Forwarder) route(ev workflows.Event) []journal.Route {
	return journal.RoutesOf(f.cfg.Router.Routes(ev))
}

func (f *Forwarder) forward(ctx context.Context) error {
	failures := 0
	migrated := false
	for {
		var n int
		var err error
		// Entries without routes are routed once, by the process that
		// forwards partition 0 (any one process, never two at once).
		if !migrated && (f.lease == nil || slices.Contains(f.lease.Partitions(), 0)) {
			var routed int
			if routed, err = f.cfg.Journal.RouteUnrouted(ctx, f.route); err == nil {
				migrated = true
				if routed > 0 {
					f.log.Info("routed entries journaled without routes", "entries", routed)
				}
			}
		}
		if err == nil {
			n, err = f.round(ctx)
		}
		if ctx.Err() != nil {
			return nil
		}
		var wait time.Duration
		switch {
		case err != nil:
			failures++
			wait = backoff(failures, f.cfg.MaxBackoff)
			f.log.Warn("forwarder round failed", "error", err, "retry_in", wait)
		case n == 0:
			failures = 0
			wait = f.cfg.Idle
			if next, ok := f.nextRelease(); ok {
				wait = max(0, min(wait, next.Sub(f.cfg.Now())))
			}
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

// group is one round's pending routes of one workflow, in order.
type group struct {
	workflowID string
	routes     []journal.Pending
}

// round forwards one bounded batch of pending routes and reports how many
// it read. Only journal errors are returned: Temporal's are recorded on
// the routes they concern.
func (f *Forwarder) round(ctx context.Context) (int, error) {
	q := journal.PendingQuery{Limit: f.cfg.BatchSize, MaxBytes: f.cfg.MaxRoundBytes}
	if f.lease != nil {
		q.Partitions = f.lease.Partitions()
		if len(q.Partitions) != f.heldCount {
			f.heldCount = len(q.Partitions)
			f.log.Info("forwarder partitions", "held", len(q.Partitions), "of", journal.Partitions)
		}
		if len(q.Partitions) == 0 {
			return 0, nil
		}
	}
	now := f.cfg.Now()
	q.Exclude = f.heldBack(now)
	pending, err := f.cfg.Journal.Pending(ctx, q)
	if err != nil || len(pending) == 0 {
		return 0, err
	}
	var groups []*group
	byID := map[string]*group{}
	for _, p := range pending {
		g := byID[p.Route.WorkflowID]
		if g == nil && f.waiting(p.Route.WorkflowID, now) {
			continue
		}
		if g == nil {
			g = &group{workflowID: p.Route.WorkflowID}
			byID[p.Route.WorkflowID] = g
			groups = append(groups, g)
		}
		g.routes = append(g.routes, p)
	}

	var marks []journal.RouteMark
	var mu sync.Mutex
	sem := make(chan struct{}, f.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, g := range groups {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			m, at, more := f.signalGroup(ctx, g)
			mu.Lock()
			marks = append(marks, m...)
			if !at.IsZero() {
				f.last[g.workflowID] = at
				if more {
					f.held[g.workflowID] = at.Add(f.interval)
				}
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := f.cfg.Journal.MarkRoutes(context.WithoutCancel(ctx), marks...); err != nil {
		return len(pending), err
	}
	return len(pending), nil
}

// waiting reports whether workflowID had a signal less than interval ago:
// its events wait for its next slot, and it is held back until then.
func (f *Forwarder) waiting(workflowID string, now time.Time) bool {
	last, ok := f.last[workflowID]
	if !ok || f.interval <= 0 || now.Sub(last) >= f.interval {
		return false
	}
	f.held[workflowID] = last.Add(f.interval)
	return true
}

// heldBack forgets what no longer limits (signals older than interval,
// holds that ended) and returns the workflows still held at now.
func (f *Forwarder) heldBack(now time.Time) []string {
	for id, last := range f.last {
		if now.Sub(last) >= f.interval {
			delete(f.last, id)
		}
	}
	var out []string
	for id, until := range f.held {
		if !now.Before(until) {
			delete(f.held, id)
		} else if len(out) < maxExclude {
			out = append(out, id)
		}
	}
	return out
}

// nextRelease is when the first held workflow's next slot comes.
func (f *Forwarder) nextRelease() (time.Time, bool) {
	var next time.Time
	for _, until := range f.held {
		if next.IsZero() || until.Before(next) {
			next = until
		}
	}
	return next, !next.IsZero()
}

// outcome is what became of one signal.
type outcome int

const (
	sent outcome = iota
	retry
	refused
	finished
)

// signalGroup sends a group's routes to its workflow in order, several
// per signal up to MaxSignalBytes, and returns the marks to record. A
// transient failure stops the group (later routes must not overtake it)
// and backs off its workflow; a permanent one fails the events it
// concerns and the rest go on. Under a signal rate, the group stops after
// one signal: at is when it was sent and more says routes are left for
// the workflow's next slot.
func (f *Forwarder) signalGroup(ctx context.Context, g *group) (marks []journal.RouteMark, at time.Time, more bool) {
	head := g.routes[0].Route
	marks = make([]journal.RouteMark, 0, len(g.routes))
	mark := func(rs []journal.Pending, st journal.Status, reason string) {
		for _, p := range rs {
			marks = append(marks, journal.RouteMark{Seq: p.Event.Seq, WorkflowID: g.workflowID, Status: st, Reason: reason})
		}
	}
	sub, ok := f.cfg.Router.Subscription(head.Blueprint, head.Workflow)
	if !ok {
		mark(g.routes, journal.Failed, fmt.Sprintf("blueprint %q (workflow %q) is not in this binary", head.Blueprint, head.Workflow))
		return marks, at, false
	}
	rest := g.routes
	oneByOne := false
	for len(rest) > 0 {
		if !at.IsZero() && f.interval > 0 {
			return marks, at, true
		}
		n := 1
		if !oneByOne {
			n = f.batchLen(rest)
		}
		callAt := f.cfg.Now()
		out, err := f.signal(ctx, sub, g.workflowID, rest[:n])
		switch out {
		case sent:
			at = callAt
			mark(rest[:n], journal.Forwarded, "")
		case finished:
			// The entity completed and these events may not start it
			// again: only the leading ones that may not start are
			// ignored; an event that may start goes next, in its own
			// signal, and restarts it.
			k := 1
			for k < n && !sub.MayStart(rest[k].Event) {
				k++
			}
			mark(rest[:k], journal.Ignored, "entity finished: "+g.workflowID+" has completed and this event does not start it again")
			n = k
		case refused:
			if n > 1 {
				// Find the event Temporal refuses: send the rest of
				// this round one at a time.
				oneByOne = true
				continue
			}
			mark(rest[:1], journal.Failed, err.Error())
			f.log.Error("delivery failed", "delivery_id", rest[0].Event.DeliveryID, "integration", rest[0].Event.Integration,
				"workflow_id", g.workflowID, "trace_id", traceIDOf(rest[0].Event.TraceParent), "error", err)
		case retry:
			wait := backoff(rest[0].Route.Attempts+1, f.cfg.MaxBackoff)
			marks = append(marks, journal.RouteMark{Seq: rest[0].Event.Seq, WorkflowID: g.workflowID, Retry: true,
				Reason: "retrying: " + err.Error(), RetryAt: time.Now().Add(wait)})
			return marks, at, false
		}
		rest = rest[n:]
	}
	return marks, at, false
}

// batchLen is how many of routes go in the next signal.
func (f *Forwarder) batchLen(routes []journal.Pending) int {
	size := 0
	for i, p := range routes {
		if i > 0 && size+len(p.Event.Payload) > f.cfg.MaxSignalBytes {
			return i
		}
		size += len(p.Event.Payload)
	}
	return len(routes)
}

// signal sends one batch. An entity that may be started again by the
// batch's first event is started whatever its last run did; otherwise only
// one that did not complete is.
func (f *Forwarder) signal(ctx context.Context, sub *workflows.Subscription, workflowID string, routes []journal.Pending) (outcome, error) {
	batch := workflows.Batch{Events: make([]workflows.Event, len(routes))}
	for i, p := range routes {
		batch.Events[i] = p.Event
	}
	reuse := enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
	if sub.MayStart(batch.Events[0]) {
		reuse = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	}
	opts := client.StartWorkflowOptions{ID: workflowID, TaskQueue: sub.TaskQueue,
		WorkflowIDReusePolicy: reuse, WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING}
	var args []any
	if sub.Input != nil {
		args = append(args, sub.Input(workflowID))
	}
	ctx, span := f.traceSignal(ctx, workflowID, routes)
	callCtx, cancel := context.WithTimeout(ctx, f.cfg.CallTimeout)
	_, err := f.cfg.Temporal.SignalWithStartWorkflow(callCtx, workflowID, workflows.SignalEvents, batch, opts, sub.Workflow, args...)
	cancel()
	endSignal(span, err)
	if err == nil {
		f.cfg.Metrics.signal("ok", len(batch.Events))
		f.cfg.Metrics.delivered(batch.Events, time.Now())
		return sent, nil
	}
	err = fmt.Errorf("signal %s: %w", workflowID, err)
	switch {
	case errors.As(err, new(*serviceerror.WorkflowExecutionAlreadyStarted)):
		f.cfg.Metrics.signal("finished", len(batch.Events))
		return finished, err
	case permanent(err):
		f.cfg.Metrics.signal("failed", len(batch.Events))
		return refused, err
	}
	f.cfg.Metrics.signal("retry", len(batch.Events))
	return retry, err
}

// permanent reports whether retrying the same signal cannot succeed: an
// invalid argument, or a payload over Temporal's blob or message limits.
func permanent(err error) bool {
	if errors.As(err, new(*serviceerror.InvalidArgument)) {
		return true
	}
	// gRPC refuses a message over its limit before Temporal sees it, with
	// ResourceExhausted, the code Temporal's rate limits use too: the
	// message tells them apart.
	msg := err.Error()
	return strings.Contains(msg, "larger than max") || strings.Contains(msg, "size exceeds limit")
}
