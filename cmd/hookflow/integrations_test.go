package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress"
	ghsrc "github.com/hookflow/hookflow/ingress/github"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/internal/secretbox"
	"github.com/hookflow/hookflow/workflows"
)

// integrations delete against a real ingress: the integration's URL stops
// answering at once, an unknown ID is a clear error, and the deletion is
// in the admin audit log.
func TestIntegrationsDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "hookflow.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	j, err := journal.OpenSQLite(ctx, db)
	require.NoError(t, err)
	box, err := secretbox.New(bytes.Repeat([]byte{2}, secretbox.KeySize))
	require.NoError(t, err)
	store, err := integrations.OpenStore(ctx, db, box)
	require.NoError(t, err)
	srv, err := ingress.New(ingress.Config{Journal: j, Integrations: store, Router: workflows.NewRouter(),
		Sources: map[string]hook.Source{"github": ghsrc.Source{}}, AdminToken: testAdminToken,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	g := func(output string) *globals {
		return &globals{server: hs.URL, output: output, getenv: func(k string) string {
			return map[string]string{"HOOKFLOW_ADMIN_TOKEN": testAdminToken}[k]
		}}
	}

	out, err := runCmd(t, newIntegrationsCmd(g("json")), "", "create", "--source", "github", "--name", "gone")
	require.NoError(t, err, out)
	var in struct{ ID, URL string }
	require.NoError(t, json.Unmarshal([]byte(out), &in))
	hookURL := hs.URL + in.URL[strings.Index(in.URL, "/hooks/"):]
	post := func() int {
		resp, err := http.Post(hookURL, "application/json", strings.NewReader(`{}`))
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusUnauthorized, post(), "known URL, unsigned body")

	out, err = runCmd(t, newIntegrationsCmd(g("table")), "", "delete", in.ID)
	require.NoError(t, err, out)
	require.Equal(t, "deleted "+in.ID+"\n", out)
	require.Equal(t, http.StatusNotFound, post(), "the URL is gone")
	out, err = runCmd(t, newIntegrationsCmd(g("json")), "", "list")
	require.NoError(t, err)
	require.NotContains(t, out, in.ID)

	_, err = runCmd(t, newIntegrationsCmd(g("table")), "", "delete", in.ID)
	require.ErrorContains(t, err, "404: no such integration")
	log, err := j.AuditLog(ctx, journal.AuditFilter{Limit: 10})
	require.NoError(t, err)
	var actions []string
	for _, r := range log {
		actions = append(actions, r.Action+" "+r.Target)
	}
	require.Contains(t, actions, "integration.delete "+in.ID)
}
