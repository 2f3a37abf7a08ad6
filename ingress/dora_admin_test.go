package ingress_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress"
	"github.com/hookflow/hookflow/ingress/dorametrics"
	ghsrc "github.com/hookflow/hookflow/ingress/github"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/internal/secretbox"
)

const doraWorkerToken = "worker-token-0123456789abcdef01234567"

// The worker endpoints that resolve commits: which deployments of a batch
// need them (with their base), and the outcomes written back; behind the
// worker token, refusing invalid resolutions whole.
func TestDORAUnresolvedAndCommits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "hookflow.db"))
	require.NoError(t, err)
	j, err := journal.OpenSQLite(ctx, db)
	require.NoError(t, err)
	t.Cleanup(func() { j.Close(); db.Close() })
	box, err := secretbox.New(bytes.Repeat([]byte{1}, secretbox.KeySize))
	require.NoError(t, err)
	store, err := integrations.OpenStore(ctx, db, box)
	require.NoError(t, err)
	dm, err := dorametrics.OpenStore(ctx, db)
	require.NoError(t, err)
	s, err := ingress.New(ingress.Config{Journal: j, Integrations: store, Router: prRouter(), Sources: map[string]hook.Source{"github": ghsrc.Source{}},
		DORA: dm, WorkerToken: doraWorkerToken, AdminToken: adminToken})
	require.NoError(t, err)
	call := func(method, path, token, body string) (int, string) {
		req := httptest.NewRequest(method, path, bytes.NewReader([]byte(body)))
		req.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}

	batch, _ := json.Marshal(map[string]any{"deployments": []map[string]any{
		{"deployment_id": "p0", "repo": "acme/api", "environment": "production", "sha": "s0", "status": "success", "finished_at": "2026-11-01T00:00:00Z", "commits": []any{}},
		{"deployment_id": "p1", "repo": "acme/api", "environment": "production", "sha": "s1", "status": "success", "finished_at": "2026-11-02T00:00:00Z"},
	}})
	apply, _ := json.Marshal(map[string]any{"batch_id": "b1", "payload": json.RawMessage(batch)})
	code, body := call(http.MethodPost, "/admin/v1/dora/apply", doraWorkerToken, string(apply))
	require.Equal(t, http.StatusOK, code, body)

	code, _ = call(http.MethodGet, "/admin/v1/dora/unresolved?batch=b1", "wrong", "")
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = call(http.MethodGet, "/admin/v1/dora/unresolved", doraWorkerToken, "")
	require.Equal(t, http.StatusBadRequest, code)
	code, body = call(http.MethodGet, "/admin/v1/dora/unresolved?batch=b1", doraWorkerToken, "")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"deployments":[{"deployment_id":"p1","repo":"acme/api","environment":"production","sha":"s1","source":"dora","base_sha":"s0","base_deployment_id":"p0"}]}`, body)

	code, body = call(http.MethodPost, "/admin/v1/dora/commits", doraWorkerToken, `{"resolutions":[{"deployment_id":"p1","sha":"s1","from":"guess"}]}`)
	require.Equal(t, http.StatusBadRequest, code, body)
	const rec = `{"resolutions":[{"deployment_id":"p1","sha":"s1","from":"compare","commits":[{"sha":"c1","committed_at":"2026-11-01T20:00:00Z"}]}]}`
	code, body = call(http.MethodPost, "/admin/v1/dora/commits", doraWorkerToken, rec)
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"deployments":1,"commits":1,"skipped":0}`, body)
	code, body = call(http.MethodGet, "/admin/v1/dora/unresolved?batch=b1", doraWorkerToken, "")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"deployments":[]}`, body)
	code, body = call(http.MethodGet, "/admin/v1/dora/report?since=2026-11-01T00:00:00Z&until=2026-11-03T00:00:00Z", adminToken, "")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `"lead_time_median_seconds":14400`)
}
