package httpfunc

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/hookflow/hookflow/activities/activitytest"
	"github.com/hookflow/hookflow/activities/classify"
	fnconn "github.com/hookflow/hookflow/connectors/httpfunc"
	"github.com/hookflow/hookflow/connectors/replaytest"
	"github.com/hookflow/hookflow/connectors/tokens"
)

const secret = "s3cr3t-function-signing-key"

var fixtures = filepath.Join("..", "..", "connectors", "httpfunc", "testdata")

func fixtureServer(t *testing.T, name string, delay time.Duration, seen func(*http.Request, []byte)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if seen != nil {
			seen(r, body)
		}
		time.Sleep(delay)
		replaytest.WriteResponse(t, w, filepath.Join(fixtures, name))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func env(t *testing.T, store tokens.Store, heartbeat time.Duration) *testsuite.TestActivityEnvironment {
	t.Helper()
	e := activitytest.Env()
	Register(e, &Activities{Client: fnconn.New(fnconn.Options{}), Tokens: store, HeartbeatInterval: heartbeat})
	return e
}

var store = tokens.Static{"httpfunc": secret}

func TestCall(t *testing.T) {
	t.Parallel()
	var got http.Header
	var body []byte
	url := fixtureServer(t, "ok_200.http", 60*time.Millisecond, func(r *http.Request, b []byte) { got, body = r.Header.Clone(), b })
	e := env(t, store, 10*time.Millisecond)
	var beats atomic.Int32
	e.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) { beats.Add(1) })
	v, err := e.ExecuteActivity(Call, CallInput{Function: "greet", URL: url, Input: json.RawMessage(`{"name":"Ada"}`)})
	require.NoError(t, err)
	var out CallOutput
	require.NoError(t, v.Get(&out))
	require.Equal(t, 200, out.Status)
	require.JSONEq(t, `{"greeting":"Hello, Ada!","idempotency_key":""}`, string(out.Output))
	require.Positive(t, beats.Load(), "heartbeats while waiting")
	require.Equal(t, "default-test-workflow-id/default-test-run-id/0", got.Get(fnconn.HeaderIdempotencyKey))
	require.NoError(t, fnconn.Verify(secret, got.Get(fnconn.HeaderTimestamp), got.Get(fnconn.HeaderSignature), body, time.Now(), time.Minute))
}

func TestCallErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture      string
		wantType     string
		nonRetryable bool
		delay        time.Duration
	}{
		{"error_400.http", classify.TypeValidation, true, 0},
		{"error_401.http", classify.TypeAuth, true, 0},
		{"error_403_lambda.http", classify.TypeAuth, true, 0},
		{"error_404_knative.http", classify.TypeNotFound, true, 0},
		{"error_409.http", classify.TypeConflict, true, 0},
		{"error_422.http", classify.TypeValidation, true, 0},
		{"error_429.http", classify.TypeRateLimited, false, 3 * time.Second},
		{"error_429_lambda.http", classify.TypeRateLimited, false, 0},
		{"error_500.http", classify.TypeUnavailable, false, 0},
		{"error_502_openfaas.http", classify.TypeUnavailable, false, 0},
		{"error_503_knative.http", classify.TypeRateLimited, false, time.Second},
		{"malformed_200.http", classify.TypeUnavailable, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			_, err := env(t, store, 0).ExecuteActivity(Call, CallInput{Function: "greet", URL: fixtureServer(t, tt.fixture, 0, nil)})
			appErr := activitytest.RequireAppError(t, err, tt.wantType, tt.nonRetryable, secret)
			require.Equal(t, tt.delay, appErr.NextRetryDelay())
		})
	}
}

func TestCallFinal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		store    tokens.Store
		input    CallInput
		wantType string
		wantMsg  string
	}{
		{"missing secret", tokens.Static{}, CallInput{Function: "greet", URL: "http://127.0.0.1:1/"}, classify.TypeAuth, `httpfunc: no signing secret for function "greet"`},
		{"no URL", store, CallInput{Function: "greet"}, classify.TypeValidation, `function "greet" has no URL`},
		{"bad URL", store, CallInput{Function: "greet", URL: "greet.svc"}, classify.TypeValidation, "invalid function URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := env(t, tt.store, 0).ExecuteActivity(Call, tt.input)
			activitytest.RequireAppError(t, err, tt.wantType, true, secret)
			require.Contains(t, err.Error(), tt.wantMsg)
		})
	}
}
