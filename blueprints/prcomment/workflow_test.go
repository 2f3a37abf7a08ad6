package prcomment

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	ghact "github.com/hookflow/hookflow/activities/github"
	"github.com/hookflow/hookflow/workflows"
)

func prEvent(id, action, state string) workflows.Event {
	return workflows.Event{DeliveryID: id, Source: "github", Type: "pull_request", Action: action, Integration: "int_1",
		Keys: map[string]string{"repo": "octo/hello", "owner": "octo", "name": "hello", "pr": "7", "state": state, "installation": "42"}}
}

func send(env *testsuite.TestWorkflowEnvironment, after time.Duration, evs ...workflows.Event) {
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalEvents, workflows.Batch{Events: evs}) }, after)
}

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	Register(env)
	env.RegisterActivityWithOptions(func(context.Context, ghact.CreateCommentInput) (ghact.CreateCommentOutput, error) {
		panic("mocked")
	}, activityOptions(ghact.CreateComment))
	return env
}

func TestCommentsOnceAndCompletesOnClose(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	var got []ghact.CreateCommentInput
	env.OnActivity(ghact.CreateComment, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in ghact.CreateCommentInput) (ghact.CreateCommentOutput, error) {
			got = append(got, in)
			return ghact.CreateCommentOutput{CommentID: 1, Created: true}, nil
		})
	opened := prEvent("d1", "opened", "open")
	send(env, time.Second, opened)
	send(env, 2*time.Second, opened, prEvent("d2", "labeled", "open")) // a redelivery and a new event in one batch
	send(env, 3*time.Second, prEvent("d3", "closed", "closed"))
	env.ExecuteWorkflow(WorkflowName, Input{})

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var out Output
	require.NoError(t, env.GetWorkflowResult(&out))
	require.Equal(t, Output{Applied: 3, Dropped: 1, Comments: 1}, out)
	require.Len(t, got, 1)
	require.Equal(t, ghact.CreateCommentInput{Installation: "42", Owner: "octo", Repo: "hello", Number: 7,
		Body: got[0].Body, Marker: "hookflow:prcomment:d1"}, got[0])
	require.Contains(t, got[0].Body, "d1")
}

func TestFailedCommentKeepsTheWorkflowAlive(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnActivity(ghact.CreateComment, mock.Anything, mock.Anything).Return(ghact.CreateCommentOutput{}, errors.New("boom")).Maybe()
	env.SetTestTimeout(time.Minute)
	send(env, time.Second, prEvent("d1", "opened", "open"))
	send(env, 48*time.Hour, prEvent("d2", "closed", "closed"))
	env.ExecuteWorkflow(WorkflowName, Input{})
	require.True(t, env.IsWorkflowCompleted())
	var out Output
	require.NoError(t, env.GetWorkflowResult(&out))
	require.Equal(t, Output{Applied: 2, Comments: 0}, out)
}

func TestEventsAfterCloseGoToTheNextRun(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.OnActivity(ghact.CreateComment, mock.Anything, mock.Anything).Return(ghact.CreateCommentOutput{Created: true}, nil)
	send(env, time.Second, prEvent("d1", "closed", "closed"), prEvent("d2", "reopened", "open"), prEvent("d1", "closed", "closed"))
	env.ExecuteWorkflow(WorkflowName, Input{})
	require.True(t, env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, env.GetWorkflowError(), &can)
	require.Equal(t, WorkflowName, can.WorkflowType.Name)
}

func TestWorkflowID(t *testing.T) {
	t.Parallel()
	require.Equal(t, "github/octo/hello/pr/7", WorkflowID(prEvent("d", "opened", "open")))
	push := prEvent("d", "", "")
	push.Type = "push"
	require.Empty(t, WorkflowID(push))
	noPR := prEvent("d", "opened", "open")
	delete(noPR.Keys, "pr")
	require.Empty(t, WorkflowID(noPR))
	gl := prEvent("d", "opened", "open")
	gl.Source = "gitlab"
	require.Empty(t, WorkflowID(gl))
}

func activityOptions(name string) activity.RegisterOptions {
	return activity.RegisterOptions{Name: name}
}
