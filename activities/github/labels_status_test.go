package github

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/hookflow/hookflow/activities/classify"
	ghconn "github.com/hookflow/hookflow/connectors/github"
	"github.com/hookflow/hookflow/connectors/tokens"
)

const ghSecret = "ghs_s3cr3tInstallationToken0123456789"

// ghServer answers every request with one recorded response of
// connectors/github/testdata and keeps the last request body.
func ghServer(t *testing.T, fixture string, body *[]byte, auth *string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if body != nil {
			*body = b
		}
		if auth != nil {
			*auth = r.Header.Get("Authorization")
		}
		f, err := os.Open(filepath.Join("..", "..", "connectors", "github", "testdata", fixture))
		if err != nil {
			t.Errorf("fixture: %v", err)
			return
		}
		defer f.Close()
		resp, err := http.ReadResponse(bufio.NewReader(f), nil)
		if err != nil {
			t.Errorf("fixture: %v", err)
			return
		}
		rb, _ := io.ReadAll(resp.Body)
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(rb)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func ghEnv(t *testing.T, url string, store tokens.Store) *testsuite.TestActivityEnvironment {
	t.Helper()
	c, err := ghconn.New(ghconn.Options{BaseURL: url})
	require.NoError(t, err)
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	e := s.NewTestActivityEnvironment()
	Register(e, &Activities{Client: c, Tokens: store})
	return e
}

var ghStore = tokens.Static{"github": ghSecret}

func TestAddLabels(t *testing.T) {
	t.Parallel()
	var body []byte
	var auth string
	e := ghEnv(t, ghServer(t, "labels_200.http", &body, &auth), ghStore)
	v, err := e.ExecuteActivity(AddLabels, AddLabelsInput{Owner: "octocat", Repo: "Hello-World", Number: 7, Labels: []string{"bug", "enhancement"}})
	require.NoError(t, err)
	var out AddLabelsOutput
	require.NoError(t, v.Get(&out))
	require.Equal(t, []string{"bug", "enhancement"}, out.Labels)
	require.JSONEq(t, `["bug","enhancement"]`, string(body))
	require.Equal(t, "Bearer "+ghSecret, auth)
}

func TestCreateStatus(t *testing.T) {
	t.Parallel()
	var body []byte
	e := ghEnv(t, ghServer(t, "status_201.http", &body, nil), ghStore)
	v, err := e.ExecuteActivity(CreateStatus, CreateStatusInput{Owner: "octocat", Repo: "Hello-World", SHA: "6dcb09b5b57875f334f61aebed695e2e4193db5e",
		Status: Status{State: "success", Context: "hookflow/deploy", Description: "Deployed", TargetURL: "https://ci.example.com/1000/output"}})
	require.NoError(t, err)
	var out CreateStatusOutput
	require.NoError(t, v.Get(&out))
	require.Equal(t, int64(1), out.StatusID)
	var sent map[string]string
	require.NoError(t, json.Unmarshal(body, &sent))
	require.Equal(t, map[string]string{"state": "success", "context": "hookflow/deploy", "description": "Deployed", "target_url": "https://ci.example.com/1000/output"}, sent)
}

func TestLabelsStatusErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture      string
		wantType     string
		nonRetryable bool
		delay        time.Duration
	}{
		{"error_401.http", classify.TypeAuth, true, 0},
		{"error_404.http", classify.TypeNotFound, true, 0},
		{"error_409.http", classify.TypeConflict, true, 0},
		{"error_422.http", classify.TypeValidation, true, 0},
		{"error_429.http", classify.TypeRateLimited, false, 60 * time.Second},
		{"error_503.http", classify.TypeUnavailable, false, 0},
		{"malformed_200.http", classify.TypeUnavailable, false, 0},
	}
	inputs := map[string]any{
		AddLabels:    AddLabelsInput{Installation: "1", Owner: "o", Repo: "r", Number: 1, Labels: []string{"x"}},
		CreateStatus: CreateStatusInput{Installation: "1", Owner: "o", Repo: "r", SHA: "abc", Status: Status{State: "pending"}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			e := ghEnv(t, ghServer(t, tt.fixture, nil, nil), ghStore)
			for name, in := range inputs {
				_, err := e.ExecuteActivity(name, in)
				require.Error(t, err, name)
				require.NotContains(t, err.Error(), ghSecret)
				var appErr *temporal.ApplicationError
				require.True(t, errors.As(err, &appErr), "%T %v", err, err)
				require.Equal(t, tt.nonRetryable, appErr.NonRetryable(), name)
				if tt.wantType != "" {
					require.Equal(t, tt.wantType, appErr.Type(), name)
					require.Equal(t, tt.delay, appErr.NextRetryDelay(), name)
				}
			}
		})
	}
	_, err := ghEnv(t, "https://api.github.com/", tokens.Static{}).ExecuteActivity(AddLabels, inputs[AddLabels])
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr))
	require.Equal(t, classify.TypeAuth, appErr.Type())
	require.True(t, appErr.NonRetryable())
}
