package dora_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/apierror"
	"github.com/hookflow/hookflow/connectors/dora"
)

func TestApply(t *testing.T) {
	t.Parallel()
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "POST", r.Method)
		require.Equal(t, "/admin/v1/dora/apply", r.URL.Path)
		require.Equal(t, "Bearer tok", r.Header.Get("Authorization"))
		var in dora.Apply
		require.NoError(t, json.NewDecoder(r.Body).Decode(&in))
		require.Equal(t, "batch_1", in.BatchID)
		w.WriteHeader(status)
		if status == http.StatusOK {
			_ = json.NewEncoder(w).Encode(dora.Applied{Deployments: 2, Incidents: 1})
		} else {
			_, _ = w.Write([]byte(`{"error":{"code":"x","message":"no"}}`))
		}
	}))
	t.Cleanup(srv.Close)
	_, err := dora.New(dora.Options{BaseURL: srv.URL})
	require.Error(t, err, "a token is required")
	c, err := dora.New(dora.Options{BaseURL: srv.URL + "/", Token: "tok"})
	require.NoError(t, err)

	out, err := c.Apply(context.Background(), dora.Apply{BatchID: "batch_1", Payload: json.RawMessage(`{"deployments":[]}`)})
	require.NoError(t, err)
	require.Equal(t, dora.Applied{Deployments: 2, Incidents: 1}, out)

	for _, s := range []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusServiceUnavailable} {
		status = s
		_, err = c.Apply(context.Background(), dora.Apply{BatchID: "batch_1"})
		e, ok := apierror.As(err)
		require.True(t, ok)
		require.Equal(t, s, e.Status)
		require.Equal(t, s >= 500, e.Retryable())
		require.NotContains(t, err.Error(), "tok")
	}
}

func TestNotifyNeverShowsTheURL(t *testing.T) {
	t.Parallel()
	var got map[string]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, json.NewDecoder(r.Body).Decode(&got))
		if r.URL.Path == "/fail/SECRET" {
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	t.Cleanup(srv.Close)
	require.NoError(t, dora.Notify(context.Background(), nil, srv.URL+"/ok/SECRET", "hello"))
	require.Equal(t, map[string]string{"text": "hello"}, got)
	for _, u := range []string{srv.URL + "/fail/SECRET", "http://127.0.0.1:1/SECRET", "::SECRET"} {
		err := dora.Notify(context.Background(), nil, u, "hello")
		require.Error(t, err)
		require.NotContains(t, err.Error(), "SECRET")
	}
}

func TestUnresolvedAndRecordCommits(t *testing.T) {
	t.Parallel()
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "Bearer tok", r.Header.Get("Authorization"))
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.RequestURI()+" "+string(b))
		switch r.URL.Path {
		case "/admin/v1/dora/unresolved":
			_, _ = w.Write([]byte(`{"deployments":[{"deployment_id":"d 1","repo":"acme/api","environment":"production","sha":"s2","base_sha":"s1","base_deployment_id":"d0"}]}`))
		case "/admin/v1/dora/commits":
			_, _ = w.Write([]byte(`{"deployments":1,"commits":1,"skipped":0}`))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	c, err := dora.New(dora.Options{BaseURL: srv.URL, Token: "tok"})
	require.NoError(t, err)
	un, err := c.Unresolved(context.Background(), "batch 1")
	require.NoError(t, err)
	require.Equal(t, []dora.Unresolved{{DeploymentID: "d 1", Repo: "acme/api", Environment: "production", SHA: "s2", BaseSHA: "s1", BaseDeploymentID: "d0"}}, un)
	rec, err := c.RecordCommits(context.Background(), []dora.Resolution{{DeploymentID: "d 1", SHA: "s2", From: "compare",
		Commits: []dora.Commit{{SHA: "c1", CommittedAt: time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)}}}})
	require.NoError(t, err)
	require.Equal(t, dora.Recorded{Deployments: 1, Commits: 1}, rec)
	require.Equal(t, []string{
		"GET /admin/v1/dora/unresolved?batch=batch+1 ",
		`POST /admin/v1/dora/commits {"resolutions":[{"deployment_id":"d 1","sha":"s2","from":"compare","commits":[{"sha":"c1","committed_at":"2026-11-02T08:00:00Z"}]}]}`,
	}, got)
}
