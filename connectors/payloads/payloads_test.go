package payloads_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/apierror"
	"github.com/hookflow/hookflow/connectors/payloads"
	"github.com/hookflow/hookflow/ingress"
	ghsrc "github.com/hookflow/hookflow/ingress/github"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/internal/secretbox"
	"github.com/hookflow/hookflow/workflows"
)

const workerToken = "worker-token-0123456789abcdef0123456789"

// ingressWith serves a real ingress over a SQLite journal holding one 3 MiB
// payload; it returns the server and the payload's sequence number.
func ingressWith(t *testing.T, body []byte) (*httptest.Server, int64) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "hookflow.db"))
	require.NoError(t, err)
	j, err := journal.OpenSQLite(ctx, db)
	require.NoError(t, err)
	box, err := secretbox.New(bytes.Repeat([]byte{2}, secretbox.KeySize))
	require.NoError(t, err)
	store, err := integrations.OpenStore(ctx, db, box)
	require.NoError(t, err)
	t.Cleanup(func() { j.Close(); db.Close() })
	r, err := j.Append(ctx, journal.Entry{Status: journal.Ignored, Event: workflows.Event{DeliveryID: "d", Integration: "int", Source: "github", Type: "pull_request", Payload: body}})
	require.NoError(t, err)
	s, err := ingress.New(ingress.Config{Journal: j, Integrations: store, Router: workflows.NewRouter(),
		Sources: map[string]hook.Source{"github": ghsrc.Source{}}, WorkerToken: workerToken})
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, r.Seq
}

func TestPayloadFromTheIngress(t *testing.T) {
	t.Parallel()
	body := []byte(`{"pad":"` + strings.Repeat("x", 3<<20) + `","sender":{"login":"octocat"}}`)
	srv, seq := ingressWith(t, body)
	c, err := payloads.New(payloads.Options{BaseURL: srv.URL + "/", Token: workerToken})
	require.NoError(t, err)
	got, err := c.Payload(context.Background(), seq)
	require.NoError(t, err)
	require.Equal(t, body, got)

	_, err = c.Payload(context.Background(), seq+100)
	e, ok := apierror.As(err)
	require.True(t, ok)
	require.Equal(t, http.StatusNotFound, e.Status)
	require.False(t, e.Retryable())

	bad, err := payloads.New(payloads.Options{BaseURL: srv.URL, Token: "not-the-token"})
	require.NoError(t, err)
	_, err = bad.Payload(context.Background(), seq)
	e, ok = apierror.As(err)
	require.True(t, ok)
	require.Equal(t, http.StatusUnauthorized, e.Status)
	require.NotContains(t, err.Error(), "not-the-token", "no token in errors")

	small, err := payloads.New(payloads.Options{BaseURL: srv.URL, Token: workerToken, MaxBytes: 1 << 20})
	require.NoError(t, err)
	_, err = small.Payload(context.Background(), seq)
	require.ErrorContains(t, err, "over 1048576 bytes")

	_, err = payloads.New(payloads.Options{BaseURL: srv.URL})
	require.Error(t, err)
}

func TestWorkerTokenReadsOnlyPayloads(t *testing.T) {
	t.Parallel()
	srv, _ := ingressWith(t, []byte(`{}`))
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/admin/v1/deliveries", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+workerToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "without an admin token there is no admin API; the worker token opens payloads only")
}
