package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// SeenLimit is how many delivery keys an entity remembers to drop
// redeliveries. Far more than any sender retries; the journal deduplicates
// at the door as well.
const SeenLimit = 2000

// HistoryLimit is the history length after which an entity continues as
// new, well before Temporal's own limits (51,200 events, 50 MB).
const HistoryLimit = 10000

// EventsPerRun is how many events one run takes before it continues as
// new, whatever the history length says: each applied event costs a
// signal and its activities' events, so a run stays well under
// HistoryLimit even when Temporal does not report the history length.
const EventsPerRun = 1000

// EntityState is what an entity workflow carries across continue-as-new.
type EntityState struct {
	// Seen are the dedup keys of the most recent events applied, oldest
	// first, at most SeenLimit.
	Seen []string `json:"seen,omitempty"`
	// Applied counts events applied over the entity's whole life.
	Applied int `json:"applied"`
	// Dropped counts redelivered events dropped.
	Dropped int `json:"dropped"`
	// Pending are events that reached the previous run after it finished
	// its work; the next run applies them first, so none is lost.
	Pending []Event `json:"pending,omitempty"`
	// Unsettled says that events were applied since the last Settle, for
	// entities with Quiet and Settle.
	Unsettled bool `json:"unsettled,omitempty"`
}

// Apply handles one new event. It returns done=true when the entity's
// work is finished and the workflow should complete.
type Apply func(ctx workflow.Context, ev Event) (done bool, err error)

// Entity is the signal loop at the heart of every blueprint: it receives
// Batches on SignalEvents, drops events it has already applied, applies the
// rest in order, and continues as new before the history grows too large.
type Entity struct {
	// EventsPerRun overrides the package's EventsPerRun (tests use a small
	// one). Zero means EventsPerRun.
	EventsPerRun int
	// Quiet and Settle debounce an entity's work: when both are set, once
	// events were applied the loop waits at most Quiet for the next one,
	// and when none comes it calls Settle, once for the whole burst (the
	// catalog blueprint refreshes Backstage once however many pushes came
	// within the window). Apply then only records what Settle must do.
	// Settle returns done=true when the entity's work is finished (the
	// loop then ends as when apply says so). Nil Settle means no
	// settling: the loop just waits; zero Quiet settles as soon as no
	// signal is buffered.
	Quiet  time.Duration
	Settle func(ctx workflow.Context) (done bool, err error)
	// Wait, when set, replaces the loop's wait for the next batch on ch:
	// a blueprint with timers of its own (an SLA, a periodic read) selects
	// over ch and them. It returns the batch received (empty when a timer
	// fired instead), or done=true when the entity's work is finished. Nil
	// means ch.Receive.
	Wait func(ctx workflow.Context, ch workflow.ReceiveChannel) (b Batch, done bool, err error)

	state EntityState
	seen  map[string]bool
	// handled counts the events this run received.
	handled int
	// attrs says whether this run upserts search attributes: false when
	// replaying a history recorded before the entity loop did.
	attrs bool
}

// NewEntity resumes an entity from state (the zero state for a new one).
func NewEntity(state EntityState) *Entity {
	e := &Entity{state: state, seen: make(map[string]bool, len(state.Seen))}
	for _, k := range state.Seen {
		e.seen[k] = true
	}
	return e
}

// State returns the state to carry into the next run.
func (e *Entity) State() EntityState { return e.state }

// Run applies the events left pending by the previous run, then loops on
// the signal channel until apply reports done or fails. Before applying an
// event it upserts the entity's search attributes (search.go). It returns nil when
// the entity is done and nothing else arrived; otherwise, and when the run
// has taken EventsPerRun events, the history passes HistoryLimit or
// Temporal suggests it, it returns what
// continueAsNew builds from the state (normally a continue-as-new error),
// with buffered events carried in State.Pending.
func (e *Entity) Run(ctx workflow.Context, apply Apply, continueAsNew func(EntityState) error) error {
	ch := workflow.GetSignalChannel(ctx, SignalEvents)
	e.attrs = workflow.GetVersion(ctx, searchAttributesVersion, workflow.DefaultVersion, 1) >= 1
	pending := Batch{Events: e.state.Pending}
	e.state.Pending = nil
	for {
		done, err := e.applyBatch(ctx, pending, apply)
		if err != nil {
			return err
		}
		if done {
			// Events that arrived after the work was done belong to the
			// entity's next life: hand them to a new run instead of
			// completing over them.
			e.drain(ch)
			if len(e.state.Pending) == 0 {
				return nil
			}
			return continueAsNew(e.state)
		}
		perRun := e.EventsPerRun
		if perRun <= 0 {
			perRun = EventsPerRun
		}
		if info := workflow.GetInfo(ctx); e.handled >= perRun || info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > HistoryLimit {
			e.drain(ch)
			return continueAsNew(e.state)
		}
		var b Batch
		if e.Wait != nil {
			b, done, err = e.Wait(ctx, ch)
		} else {
			done, err = e.receive(ctx, ch, &b)
		}
		if err != nil {
			return err
		}
		if done {
			e.keep(b.Events)
			e.drain(ch)
			if len(e.state.Pending) == 0 {
				return nil
			}
			return continueAsNew(e.state)
		}
		pending = b
	}
}

// settles reports whether the entity debounces its work.
func (e *Entity) settles() bool { return e.Settle != nil }

// receive waits for the next batch. With events unsettled, it waits at
// most Quiet first and settles when nothing came; done is Settle's.
func (e *Entity) receive(ctx workflow.Context, ch workflow.ReceiveChannel, b *Batch) (bool, error) {
	if !e.settles() || !e.state.Unsettled {
		ch.Receive(ctx, b)
		return false, nil
	}
	if ch.ReceiveAsync(b) {
		return false, nil
	}
	if e.Quiet > 0 {
		timerCtx, cancel := workflow.WithCancel(ctx)
		defer cancel() // a timer outrun by a signal is cancelled, not left to fire
		got := false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(ch, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, b); got = true })
		sel.AddFuture(workflow.NewTimer(timerCtx, e.Quiet), func(workflow.Future) {})
		sel.Select(ctx)
		if got {
			return false, nil
		}
	}
	e.state.Unsettled = false
	done, err := e.Settle(ctx)
	if done || err != nil {
		return done, err
	}
	ch.Receive(ctx, b)
	return false, nil
}

// drain moves buffered signals into State.Pending, dropping redeliveries.
func (e *Entity) drain(ch workflow.ReceiveChannel) {
	var b Batch
	for ch.ReceiveAsync(&b) {
		e.keep(b.Events)
		b = Batch{}
	}
}

// keep adds events to State.Pending, dropping redeliveries.
func (e *Entity) keep(events []Event) {
	for _, ev := range events {
		if e.seen[ev.DedupKey()] {
			e.state.Dropped++
			continue
		}
		e.state.Pending = append(e.state.Pending, ev)
	}
}

func (e *Entity) applyBatch(ctx workflow.Context, b Batch, apply Apply) (bool, error) {
	logger := workflow.GetLogger(ctx)
	for i, ev := range b.Events {
		e.handled++
		key := ev.DedupKey()
		if e.seen[key] {
			e.state.Dropped++
			logger.Info("duplicate delivery dropped", "delivery_id", ev.DeliveryID, "integration", ev.Integration)
			continue
		}
		e.remember(key)
		e.state.Applied++
		if e.settles() {
			e.state.Unsettled = true
		}
		if e.attrs {
			if err := upsertSearchAttributes(ctx, ev); err != nil {
				// Finding the entity is worth less than acting on it.
				logger.Warn("search attributes not upserted", "delivery_id", ev.DeliveryID, "error", err)
			}
		}
		done, err := apply(ctx, ev)
		if done {
			e.keep(b.Events[i+1:]) // the rest of the batch is the next run's
		}
		if done || err != nil {
			return done, err
		}
	}
	return false, nil
}

func (e *Entity) remember(key string) {
	e.seen[key] = true
	e.state.Seen = append(e.state.Seen, key)
	if len(e.state.Seen) > SeenLimit {
		delete(e.seen, e.state.Seen[0])
		e.state.Seen = e.state.Seen[1:]
	}
}
