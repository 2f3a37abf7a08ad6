package servicenow

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/hookflow/hookflow/activities/activitytest"
	"github.com/hookflow/hookflow/activities/classify"
	"github.com/hookflow/hookflow/connectors/replaytest"
	snconn "github.com/hookflow/hookflow/connectors/servicenow"
	"github.com/hookflow/hookflow/connectors/tokens"
)

const (
	secret = "hookflow.integration:s3cr3t-P4ssw0rd"
	chgID  = "c83c5e5347c12200e0ef563dbb9a7190"
)

var fixtures = filepath.Join("..", "..", "connectors", "servicenow", "testdata")

// server answers "METHOD /path" with the recorded response named in routes.
func server(t *testing.T, routes map[string]string) string {
	return replaytest.Routes(t, fixtures, routes)
}

func env(t *testing.T, baseURL string, store tokens.Store) *testsuite.TestActivityEnvironment {
	t.Helper()
	c, err := snconn.New(snconn.Options{BaseURL: baseURL})
	require.NoError(t, err)
	e := activitytest.Env()
	Register(e, &Activities{Client: c, Tokens: store})
	return e
}

var inputs = map[string]any{
	CreateChangeRequest: CreateRecordInput{Installation: "acme", Fields: map[string]string{"short_description": "x"}, CorrelationID: "wf-1"},
	CreateIncident:      CreateRecordInput{Installation: "acme", Fields: map[string]string{"short_description": "x"}, CorrelationID: "wf-1"},
	GetChangeRequest:    GetChangeRequestInput{Installation: "acme", Ref: chgID},
	UpdateChangeRequest: UpdateChangeRequestInput{Installation: "acme", SysID: chgID, Fields: map[string]string{"state": "-4"}},
	AddWorkNote:         AddWorkNoteInput{Installation: "acme", SysID: chgID, Note: "n", Marker: "m"},
}

func TestActivitiesSucceed(t *testing.T) {
	t.Parallel()
	e := env(t, server(t, map[string]string{
		"GET /api/now/table/change_request":            "list_empty_200.http",
		"POST /api/now/table/change_request":           "create_change_201.http",
		"GET /api/now/table/incident":                  "list_change_200.http",
		"GET /api/now/table/change_request/" + chgID:   "get_change_200.http",
		"PATCH /api/now/table/change_request/" + chgID: "update_change_200.http",
		"GET /api/now/table/sys_journal_field":         "journal_hit_200.http",
	}), tokens.Static{"servicenow": secret})

	v, err := e.ExecuteActivity(CreateChangeRequest, inputs[CreateChangeRequest])
	require.NoError(t, err)
	var created CreateRecordOutput
	require.NoError(t, v.Get(&created))
	require.Equal(t, "CHG0030001", created.Number)
	require.True(t, created.Created)

	v, err = e.ExecuteActivity(CreateIncident, inputs[CreateIncident])
	require.NoError(t, err)
	require.NoError(t, v.Get(&created))
	require.False(t, created.Created, "an existing record with the correlation ID is returned")

	v, err = e.ExecuteActivity(GetChangeRequest, inputs[GetChangeRequest])
	require.NoError(t, err)
	var got GetChangeRequestOutput
	require.NoError(t, v.Get(&got))
	require.Equal(t, "-5", got.Record["state"])

	v, err = e.ExecuteActivity(UpdateChangeRequest, inputs[UpdateChangeRequest])
	require.NoError(t, err)
	var upd UpdateChangeRequestOutput
	require.NoError(t, v.Get(&upd))
	require.Equal(t, "-4", upd.Record["state"])

	v, err = e.ExecuteActivity(AddWorkNote, AddWorkNoteInput{SysID: chgID, Note: "n", Marker: "wf-1/delivery-9"})
	require.NoError(t, err)
	var note AddWorkNoteOutput
	require.NoError(t, v.Get(&note))
	require.False(t, note.Added)
}

func TestActivityErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture      string
		wantType     string
		nonRetryable bool
		delay        time.Duration
	}{
		{"error_400.http", classify.TypeValidation, true, 0},
		{"error_401.http", classify.TypeAuth, true, 0},
		{"error_403.http", classify.TypeAuth, true, 0},
		{"error_404.http", classify.TypeNotFound, true, 0},
		{"error_409.http", classify.TypeConflict, true, 0},
		{"error_422.http", classify.TypeValidation, true, 0},
		{"error_429.http", classify.TypeRateLimited, false, 42 * time.Second},
		{"error_500.http", classify.TypeUnavailable, false, 0},
		{"error_503.http", classify.TypeRateLimited, false, 120 * time.Second},
		{"malformed_200.http", classify.TypeUnavailable, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			e := env(t, server(t, map[string]string{"*": tt.fixture}), tokens.Static{"servicenow": secret})
			for name, in := range inputs {
				_, err := e.ExecuteActivity(name, in)
				appErr := activitytest.RequireAppError(t, err, tt.wantType, tt.nonRetryable, "s3cr3t")
				require.Equal(t, tt.delay, appErr.NextRetryDelay(), name)
			}
		})
	}
}

func TestActivityFinalErrors(t *testing.T) {
	t.Parallel()
	url := server(t, nil)
	tests := []struct {
		name     string
		store    tokens.Store
		activity string
		input    any
		wantType string
		wantMsg  string
	}{
		{"missing token", tokens.Static{}, GetChangeRequest, inputs[GetChangeRequest], classify.TypeAuth, `servicenow: no credential for instance "acme"`},
		{"no correlation id", tokens.Static{"servicenow": secret}, CreateIncident, CreateRecordInput{Fields: map[string]string{"a": "b"}}, classify.TypeValidation, "correlation ID are required"},
		{"not a sys_id", tokens.Static{"servicenow": secret}, UpdateChangeRequest, UpdateChangeRequestInput{SysID: "CHG0030001", Fields: map[string]string{"a": "b"}}, classify.TypeValidation, "sys_id"},
		{"credential not id:secret", tokens.Static{"servicenow": "s3cr3t"}, GetChangeRequest, inputs[GetChangeRequest], classify.TypeAuth, "not in the form id:secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := env(t, url, tt.store).ExecuteActivity(tt.activity, tt.input)
			activitytest.RequireAppError(t, err, tt.wantType, true, "s3cr3t")
			require.Contains(t, err.Error(), tt.wantMsg)
		})
	}
}
