package prcomment

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	ghact "github.com/hookflow/hookflow/activities/github"
	"github.com/hookflow/hookflow/activities/payload"
	"github.com/hookflow/hookflow/ingress/github"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/workflows"
)

// prEvent is a pull_request event on octo/hello#7 as the GitHub sender
// builds it: routing keys, and the payload the workflow reads the pull
// request from.
func prEvent(id, action, state string) workflows.Event {
	payload := fmt.Sprintf(`{"action":%q,"number":7,"pull_request":{"number":7,"state":%q,"title":"t","head":{"ref":"b","sha":"abc"},"base":{"ref":"main"}},`+
		`"repository":{"name":"hello","full_name":"octo/hello","owner":{"login":"octo"}},"installation":{"id":42}}`, action, state)
	return workflows.Event{DeliveryID: id, Source: "github", Type: "pull_request", Action: action, Integration: "int_1",
		Keys: map[string]string{
			workflows.KeyHost: "github.com", workflows.KeyRepoPath: "octo/hello", workflows.KeyOwner: "octo", workflows.KeyRepoName: "hello",
			workflows.KeyPullRequest: "7", workflows.KeyInstallation: "42", workflows.KeySHA: "abc",
		},
		Payload: json.RawMessage(payload)}
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
	ghes := with(func(e *workflows.Event) { e.Keys[workflows.KeyHost] = "ghe.example.com" }) // as the sender sets it from X-GitHub-Enterprise-Host
	tests := []struct {
		name       string
		ev         workflows.Event
		id, legacy string
	}{
		{"github.com", prEvent("d", "opened", "open"), "prcomment/github.com/octo/hello/pr/7", "github/octo/hello/pr/7"},
		{"GHES names its host, old scheme or not", ghes, "prcomment/ghe.example.com/octo/hello/pr/7", "prcomment/ghe.example.com/octo/hello/pr/7"},
		{"push", with(func(e *workflows.Event) { e.Type = "push" }), "", ""},
		{"no pull request number", with(func(e *workflows.Event) { delete(e.Keys, workflows.KeyPullRequest) }), "", ""},
		{"journaled before the key vocabulary", with(func(e *workflows.Event) {
			e.Keys = map[string]string{"repo": "octo/hello", "owner": "octo", "name": "hello", "pr": "7"}
		}), "prcomment/github.com/octo/hello/pr/7", "github/octo/hello/pr/7"},
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

// recorded parses a delivery recorded by the GitHub sender's tests, as the
// ingress does.
func recorded(t *testing.T, file string) workflows.Event {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "ingress", "github", "testdata", file))
	require.NoError(t, err)
	head, body, ok := bytes.Cut(raw, []byte("\n\n"))
	require.True(t, ok)
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(append(head, "\n\n"...))))
	require.NoError(t, err)
	ev, err := github.Source{}.Parse(&hook.Request{Header: r.Header, Body: body, ContentType: "application/json"})
	require.NoError(t, err)
	ev.Integration = "int_1"
	return ev
}

func TestRecordedDeliveryRoutesAndComments(t *testing.T) {
	t.Parallel()
	opened := recorded(t, "pull_request.opened.http")
	require.Equal(t, "prcomment/github.com/Codertocat/Hello-World/pr/2", WorkflowID(opened))
	closed := recorded(t, "pull_request.synchronize.http")
	closed.DeliveryID, closed.Action = "closed-by-state", "edited"
	closed.Payload = bytes.Replace(closed.Payload, []byte(`"state":"open"`), []byte(`"state":"closed"`), 1)
	require.Equal(t, WorkflowID(opened), WorkflowID(closed))

	env := newEnv(t)
	var got []ghact.CreateCommentInput
	env.OnActivity(ghact.CreateComment, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in ghact.CreateCommentInput) (ghact.CreateCommentOutput, error) {
			got = append(got, in)
			return ghact.CreateCommentOutput{CommentID: 1, Created: true}, nil
		})
	send(env, time.Second, opened)
	send(env, 2*time.Second, closed) // not a close action, but the payload shows it closed
	env.ExecuteWorkflow(WorkflowName, Input{})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, got, 1)
	require.Equal(t, "2311213", got[0].Installation)
	require.Equal(t, "Codertocat", got[0].Owner)
	require.Equal(t, "Hello-World", got[0].Repo)
	require.Equal(t, 2, got[0].Number)
}

func TestEventWithoutPayloadDoesNotComment(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	calls := 0
	env.OnActivity(ghact.CreateComment, mock.Anything, mock.Anything).Return(
		func(context.Context, ghact.CreateCommentInput) (ghact.CreateCommentOutput, error) {
			calls++
			return ghact.CreateCommentOutput{}, nil
		}).Maybe()
	bare := prEvent("d1", "opened", "open")
	bare.Payload = nil // held by reference: the number is not guessed from the keys
	send(env, time.Second, bare)
	send(env, 2*time.Second, prEvent("d2", "closed", "closed"))
	env.ExecuteWorkflow(WorkflowName, Input{})
	require.True(t, env.IsWorkflowCompleted())
	var out Output
	require.NoError(t, env.GetWorkflowResult(&out))
	require.Equal(t, Output{Applied: 2}, out)
	require.Zero(t, calls)
}

// TestLargePayloadByReference: an event whose payload the journal holds
// (over 256 KiB) is read through the projection activity, which returns
// only the fields the comment needs; the history never holds the payload.
func TestLargePayloadByReference(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.RegisterActivityWithOptions(func(context.Context, payload.ProjectInput) (payload.ProjectOutput, error) {
		panic("mocked")
	}, activityOptions(payload.ProjectPayload))
	var asked []payload.ProjectInput
	env.OnActivity(payload.ProjectPayload, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in payload.ProjectInput) (payload.ProjectOutput, error) {
			asked = append(asked, in)
			p, err := workflows.Project(prEvent("x", "opened", "open").Payload, in.Paths)
			p.Values["sender.login"] = json.RawMessage(`"octocat"`)
			return payload.ProjectOutput{Projection: p}, err
		})
	var got []ghact.CreateCommentInput
	env.OnActivity(ghact.CreateComment, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in ghact.CreateCommentInput) (ghact.CreateCommentOutput, error) {
			got = append(got, in)
			return ghact.CreateCommentOutput{CommentID: 1, Created: true}, nil
		})
	big := prEvent("big", "opened", "open")
	big.Payload, big.PayloadRef, big.PayloadSize = nil, "journal/12", 3<<20
	send(env, time.Second, big)
	send(env, 2*time.Second, prEvent("d3", "closed", "closed"))
	env.ExecuteWorkflow(WorkflowName, Input{})
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, asked, 1)
	require.Equal(t, "journal/12", asked[0].Ref)
	require.Contains(t, asked[0].Paths, "sender.login")
	require.Len(t, got, 1)
	require.Equal(t, 7, got[0].Number)
	require.Equal(t, "octo", got[0].Owner)
	require.Equal(t, "hello", got[0].Repo)
	require.Contains(t, got[0].Body, "@octocat", "the sender, the last field of the payload, is greeted")
}
