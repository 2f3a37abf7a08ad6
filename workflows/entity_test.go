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

// settledWorkflow records the events applied and, each time it settles,
// how many it had seen; it is done when it settles after a "stop".
func settledWorkflow(ctx workflow.Context, settle time.Duration) ([]int, error) {
	var applied, settles []int
	n, stop := 0, false
	e := NewEntity(EntityState{})
	e.Settle = settle
	e.Settled = func(workflow.Context) (bool, error) {
		settles = append(settles, n)
		return stop, nil
	}
	err := e.Run(ctx, func(_ workflow.Context, ev Event) (bool, error) {
		n++
		applied = append(applied, n)
		stop = stop || ev.Type == "stop"
		return false, nil
	}, func(EntityState) error { return fmt.Errorf("no continue-as-new here") })
	return settles, err
}

func TestEntitySettlesOncePerBurst(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		at      []time.Duration // when each one-event batch arrives
		want    []int           // events seen at each settle
		settle  time.Duration
		stopIdx int
	}{
		{"a burst settles once", []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}, []int{3}, 5 * time.Second, 2},
		{"two bursts settle twice", []time.Duration{time.Second, 2 * time.Second, time.Minute}, []int{2, 3}, 5 * time.Second, 2},
		{"a steady stream settles within 10×Settle", func() []time.Duration {
			var at []time.Duration
			for i := range 30 {
				at = append(at, time.Duration(i+1)*time.Second)
			}
			return at
		}(), []int{20, 30}, 2 * time.Second, 29},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			env.RegisterWorkflowWithOptions(settledWorkflow, workflow.RegisterOptions{Name: "settled"})
			for i, at := range tt.at {
				typ := "x"
				if i == tt.stopIdx {
					typ = "stop"
				}
				e := ev(fmt.Sprint(i), typ)
				env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalEvents, Batch{Events: []Event{e}}) }, at)
			}
			env.ExecuteWorkflow("settled", tt.settle)
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())
			var settles []int
			require.NoError(t, env.GetWorkflowResult(&settles))
			require.Equal(t, tt.want, settles)
		})
	}
}
