package payload_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/hookflow/hookflow/activities/payload"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/workflows"
)

func TestProjectPayloadReadsTheJournal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "j.db"))
	require.NoError(t, err)
	j, err := journal.OpenSQLite(ctx, db)
	require.NoError(t, err)
	t.Cleanup(func() { j.Close(); db.Close() })
	body := `{"pull_request":{"number":7,"body":"` + strings.Repeat("y", 3<<20) + `"},"sender":{"login":"octocat"}}`
	r, err := j.Append(ctx, journal.Entry{Status: journal.Ignored, Event: workflows.Event{DeliveryID: "d", Integration: "i", Source: "github", Type: "pull_request", Payload: []byte(body)}})
	require.NoError(t, err)

	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	payload.Register(env, &payload.Activities{Store: j, ParseRef: journal.ParsePayloadRef})
	val, err := env.ExecuteActivity(payload.ProjectPayload, payload.ProjectInput{Ref: journal.PayloadRef(r.Seq), Paths: []string{"sender.login", "pull_request.number", "nope"}})
	require.NoError(t, err)
	var out payload.ProjectOutput
	require.NoError(t, val.Get(&out))
	require.Equal(t, "octocat", out.Projection.String("sender.login"))
	require.Equal(t, "7", string(out.Projection.Values["pull_request.number"]))
	require.Equal(t, []string{"nope"}, out.Projection.Missing)

	for name, in := range map[string]payload.ProjectInput{
		"a bad reference":   {Ref: "elsewhere/1", Paths: []string{"a"}},
		"too large a value": {Ref: journal.PayloadRef(r.Seq), Paths: []string{"pull_request.body"}},
	} {
		_, err := env.ExecuteActivity(payload.ProjectPayload, in)
		var app *temporal.ApplicationError
		require.True(t, errors.As(err, &app), name)
		require.True(t, app.NonRetryable(), name)
		require.Equal(t, payload.TypeProjection, app.Type(), name)
	}
	env2 := s.NewTestActivityEnvironment()
	payload.Register(env2, &payload.Activities{})
	_, err = env2.ExecuteActivity(payload.ProjectPayload, payload.ProjectInput{Ref: "journal/1", Paths: []string{"a"}})
	require.ErrorContains(t, err, "--payload-url")
}
