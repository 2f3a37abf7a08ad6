package workflows

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// entityWorkflow records what it applies; it is done on a "stop" event.
func entityWorkflow(limit int) func(ctx workflow.Context, st EntityState, applied []string) ([]string, error) {
	var wf func(ctx workflow.Context, st EntityState, applied []string) ([]string, error)
	wf = func(ctx workflow.Context, st EntityState, applied []string) ([]string, error) {
		e := NewEntity(st)
		e.EventsPerRun = limit
		err := e.Run(ctx, func(_ workflow.Context, ev Event) (bool, error) {
			applied = append(applied, ev.DeliveryID)
			return ev.Type == "stop", nil
		}, func(next EntityState) error {
			return workflow.NewContinueAsNewError(ctx, "entity", next, applied)
		})
		return applied, err
	}
	return wf
}

func ev(id, typ string) Event { return Event{DeliveryID: id, Integration: "i", Type: typ} }

func run(t *testing.T, limit int, st EntityState, batches ...[]Event) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(entityWorkflow(limit), workflow.RegisterOptions{Name: "entity"})
	for i, b := range batches {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalEvents, Batch{Events: b}) }, time.Duration(i+1)*time.Second)
	}
	env.ExecuteWorkflow("entity", st, []string(nil))
	require.True(t, env.IsWorkflowCompleted())
	return env
}

func TestEntityAppliesInOrderAndDropsRedeliveries(t *testing.T) {
	t.Parallel()
	env := run(t, 0, EntityState{Seen: []string{"i/old"}},
		[]Event{ev("a", "x"), ev("b", "x"), ev("a", "x")},
		[]Event{ev("old", "x"), ev("c", "x")},
		[]Event{ev("stop", "stop")})
	require.NoError(t, env.GetWorkflowError())
	var applied []string
	require.NoError(t, env.GetWorkflowResult(&applied))
	require.Equal(t, []string{"a", "b", "c", "stop"}, applied, "in order; the redelivery and the one seen by an earlier run dropped")
}

func TestEntityContinuesAsNewCarryingTheSeenSet(t *testing.T) {
	t.Parallel()
	var batches [][]Event
	for i := range 30 {
		batches = append(batches, []Event{ev(fmt.Sprint("d", i), "x")})
	}
	env := run(t, 20, EntityState{}, batches...)
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, env.GetWorkflowError(), &can, "a run past its event budget continues as new")
	var next EntityState
	var applied []string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next, &applied))
	require.Len(t, applied, 20)
	require.Equal(t, len(applied), next.Applied)
	require.Len(t, next.Seen, len(applied), "the seen set goes to the next run")
	require.Equal(t, "i/d0", next.Seen[0])
}

func TestEntityHandsLateEventsToTheNextRun(t *testing.T) {
	t.Parallel()
	env := run(t, 0, EntityState{}, []Event{ev("a", "x"), ev("stop", "stop"), ev("late", "x"), ev("a", "x")})
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, env.GetWorkflowError(), &can, "events after the work is done start the next run")
	var next EntityState
	var applied []string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next, &applied))
	require.Equal(t, []string{"a", "stop"}, applied)
	require.Len(t, next.Pending, 1, "the redelivery of a is dropped, late is kept")
	require.Equal(t, "late", next.Pending[0].DeliveryID)
	require.Equal(t, 1, next.Dropped)

	// The next run applies the pending event first.
	env = run(t, 0, next, []Event{ev("stop2", "stop")})
	require.NoError(t, env.GetWorkflowResult(&applied))
	require.Equal(t, []string{"late", "stop2"}, applied)
}

func TestSeenSetIsBounded(t *testing.T) {
	t.Parallel()
	e := NewEntity(EntityState{})
	for i := range SeenLimit + 10 {
		e.remember(fmt.Sprint(i))
	}
	require.Len(t, e.State().Seen, SeenLimit)
	require.Len(t, e.seen, SeenLimit)
	require.False(t, e.seen["0"])
	require.True(t, e.seen[fmt.Sprint(SeenLimit+9)])
}

// settleWorkflow counts settles and records, at each, the events applied
// so far; it is done on "stop".
func settleWorkflow(ctx workflow.Context) ([]int, error) {
	var settled []int
	applied := 0
	e := NewEntity(EntityState{})
	e.Quiet = 30 * time.Second
	e.Settle = func(workflow.Context) (bool, error) { settled = append(settled, applied); return false, nil }
	err := e.Run(ctx, func(_ workflow.Context, ev Event) (bool, error) {
		applied++
		return ev.Type == "stop", nil
	}, func(EntityState) error { return nil })
	return settled, err
}

func TestEntitySettlesOncePerBurst(t *testing.T) {
	t.Parallel()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(settleWorkflow, workflow.RegisterOptions{Name: "settle"})
	at := func(d time.Duration, evs ...Event) {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalEvents, Batch{Events: evs}) }, d)
	}
	// A burst of three within the window, one redelivered; then a quiet
	// minute; then one more; then the end.
	at(1*time.Second, ev("a", "x"))
	at(11*time.Second, ev("b", "x"), ev("a", "x"))
	at(21*time.Second, ev("c", "x"))
	at(2*time.Minute, ev("d", "x"))
	at(10*time.Minute, ev("stop", "stop"))
	env.ExecuteWorkflow("settle")
	require.NoError(t, env.GetWorkflowError())
	var settled []int
	require.NoError(t, env.GetWorkflowResult(&settled))
	require.Equal(t, []int{3, 4}, settled, "one settle after the burst of three, one after d; none after the redelivery or the stop")
}

// A blueprint's own Wait: its timer ends the entity when no event came in
// time, and a batch that arrives meanwhile is applied as usual.
func TestEntityWaitEndsOnTheBlueprintsTimer(t *testing.T) {
	t.Parallel()
	wf := func(ctx workflow.Context) ([]string, error) {
		var applied []string
		e := NewEntity(EntityState{})
		e.Wait = func(ctx workflow.Context, ch workflow.ReceiveChannel) (Batch, bool, error) {
			var b Batch
			got := false
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(ch, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &b); got = true })
			sel.AddFuture(workflow.NewTimer(ctx, time.Hour), func(workflow.Future) {})
			sel.Select(ctx)
			return b, !got, nil
		}
		err := e.Run(ctx, func(_ workflow.Context, ev Event) (bool, error) {
			applied = append(applied, ev.DeliveryID)
			return false, nil
		}, func(EntityState) error { return fmt.Errorf("no continue-as-new expected") })
		return applied, err
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "waiting"})
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalEvents, Batch{Events: []Event{ev("a", "x"), ev("a", "x")}}) }, time.Minute)
	env.ExecuteWorkflow("waiting")
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var applied []string
	require.NoError(t, env.GetWorkflowResult(&applied))
	require.Equal(t, []string{"a"}, applied)
}
