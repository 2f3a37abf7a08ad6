package relay

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"

	fnact "github.com/hookflow/hookflow/activities/httpfunc"
	"github.com/hookflow/hookflow/workflows"
)

func ev(id, entity string) workflows.Event {
	return workflows.Event{DeliveryID: id, Source: "generic", Type: "build", Integration: "int_1", Keys: map[string]string{EntityKey: entity}, Payload: json.RawMessage(`{"n":1}`)}
}

func TestRelaysEachDeliveryOnceInOrder(t *testing.T) {
	t.Parallel()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	Register(env)
	env.RegisterActivityWithOptions(func(context.Context, fnact.CallInput) (fnact.CallOutput, error) { panic("mocked") }, activity.RegisterOptions{Name: fnact.Call})
	var got []Message
	var keys []string
	env.OnActivity(fnact.Call, mock.Anything, mock.Anything).Return(func(_ context.Context, in fnact.CallInput) (fnact.CallOutput, error) {
		var m Message
		require.NoError(t, json.Unmarshal(in.Input, &m))
		require.Equal(t, Function, in.Function)
		require.Empty(t, in.URL, "URLs are worker configuration")
		got = append(got, m)
		keys = append(keys, in.IdempotencyKey)
		return fnact.CallOutput{Status: 200}, nil
	})
	send := func(after time.Duration, evs ...workflows.Event) {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalEvents, workflows.Batch{Events: evs}) }, after)
	}
	send(time.Second, ev("a", "x"), ev("b", "x"))
	send(2*time.Second, ev("a", "x"), ev("c", "x"))
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Hour)
	env.ExecuteWorkflow(WorkflowName, Input{})
	require.True(t, env.IsWorkflowCompleted())
	require.Len(t, got, 3)
	for i, id := range []string{"a", "b", "c"} {
		require.Equal(t, id, got[i].DeliveryID)
		require.Equal(t, i+1, got[i].Applied)
	}
	require.Equal(t, []string{"int_1/a", "int_1/b", "int_1/c"}, keys)
}

func TestWorkflowID(t *testing.T) {
	t.Parallel()
	require.Equal(t, "relay/int_1/x", WorkflowID(ev("a", "x")))
	require.Empty(t, WorkflowID(ev("a", "")))
	gh := ev("a", "x")
	gh.Source = "github"
	require.Empty(t, WorkflowID(gh))
}
