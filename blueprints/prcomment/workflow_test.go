package prcomment

import (
	"context"
	"errors"
	"strings"
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
	with := func(f func(*workflows.Event)) workflows.Event {
		ev := prEvent("d", "opened", "open")
		f(&ev)
		return ev
	}
	ghes := with(func(e *workflows.Event) { e.Meta = map[string]string{"x-github-enterprise-host": "GHE.Example.com"} })
	tests := []struct {
		name       string
		ev         workflows.Event
		id, legacy string
	}{
		{"github.com", prEvent("d", "opened", "open"), "prcomment/github.com/octo/hello/pr/7", "github/octo/hello/pr/7"},
		{"GHES names its host, old scheme or not", ghes, "prcomment/ghe.example.com/octo/hello/pr/7", "prcomment/ghe.example.com/octo/hello/pr/7"},
		{"push", with(func(e *workflows.Event) { e.Type = "push" }), "", ""},
		{"no pull request number", with(func(e *workflows.Event) { delete(e.Keys, "pr") }), "", ""},
		{"gitlab", with(func(e *workflows.Event) { e.Source = "gitlab" }), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.id, WorkflowID(tt.ev))
			require.Equal(t, tt.legacy, LegacyWorkflowID(tt.ev))
			legacy := Subscription("q", &Settings{Greeting: "hi", LegacyWorkflowIDs: true})
			require.Equal(t, tt.legacy, legacy.Route(tt.ev))
		})
	}
}

func TestSettingsAreCapturedAtStart(t *testing.T) {
	t.Parallel()
	sub := Subscription("q", &Settings{Greeting: "Welcome aboard."})
	in, ok := sub.Input("prcomment/github.com/octo/hello/pr/7").(Input)
	require.True(t, ok)
	require.Equal(t, "Welcome aboard.", in.Settings.Greeting)

	env := newEnv(t)
	var body string
	env.OnActivity(ghact.CreateComment, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in ghact.CreateCommentInput) (ghact.CreateCommentOutput, error) {
			body = in.Body
			return ghact.CreateCommentOutput{CommentID: 1, Created: true}, nil
		})
	send(env, time.Second, prEvent("d1", "opened", "open"))
	send(env, 2*time.Second, prEvent("d2", "closed", "closed"))
	env.ExecuteWorkflow(WorkflowName, in)
	require.NoError(t, env.GetWorkflowError())
	require.True(t, strings.HasPrefix(body, "Welcome aboard. Hookflow is tracking"), body)
}

func TestSettingsValidate(t *testing.T) {
	t.Parallel()
	require.NoError(t, DefaultSettings().Validate())
	require.ErrorContains(t, (&Settings{Greeting: "  "}).Validate(), "greeting")
	require.ErrorContains(t, (&Settings{Greeting: strings.Repeat("x", 1001)}).Validate(), "greeting")
	require.NoError(t, Blueprint.Check())
}

func activityOptions(name string) activity.RegisterOptions {
	return activity.RegisterOptions{Name: name}
}
