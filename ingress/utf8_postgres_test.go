package ingress_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress"
	ghsrc "github.com/hookflow/hookflow/ingress/github"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/postgres"
	"github.com/hookflow/hookflow/ingress/postgres/pgtest"
	"github.com/hookflow/hookflow/internal/secretbox"
)

// An authentic delivery whose headers carry bytes that are not UTF-8
// (net/http accepts 0x80-0xFF in a header value) is stored on PostgreSQL,
// which refuses invalid UTF-8 in text columns: before, the insert failed,
// the sender got 503 and retried the same delivery for ever.
func TestInvalidUTF8HeadersOnPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.Schema(t))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	j, err := journal.OpenPostgres(ctx, db)
	require.NoError(t, err)
	t.Cleanup(func() { j.Close() })
	box, err := secretbox.New(bytes.Repeat([]byte{1}, secretbox.KeySize))
	require.NoError(t, err)
	store, err := integrations.OpenPostgresStore(ctx, db, box)
	require.NoError(t, err)
	in, err := store.Create(ctx, integrations.Integration{Name: "gh", Source: "github", Secrets: []integrations.Secret{{Value: []byte(secret)}}})
	require.NoError(t, err)
	s, err := ingress.New(ingress.Config{Journal: j, Integrations: store, Router: prRouter(),
		Sources: map[string]hook.Source{"github": ghsrc.Source{}}, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)

	tests := []struct {
		name, event, id, host string
		code                  int
	}{
		{"event type", "pull_request\xff", "utf8-1", "ghe.example.com", http.StatusOK},
		{"delivery ID", "pull_request", "utf8-\xc3-2", "ghe.example.com", http.StatusAccepted},
		{"meta", "pull_request", "utf8-3", "ghe\xfe.example.com", http.StatusAccepted},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/hooks/"+in.Path, bytes.NewReader(prBody))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Hub-Signature-256", sign(prBody, secret))
		req.Header.Set("X-GitHub-Event", tt.event)
		req.Header.Set("X-GitHub-Delivery", tt.id)
		req.Header.Set("X-GitHub-Enterprise-Host", tt.host)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, tt.code, resp.StatusCode, tt.name)
	}
	list, err := j.List(ctx, journal.Filter{})
	require.NoError(t, err)
	require.Len(t, list, len(tests))
	for _, e := range list {
		require.True(t, utf8.ValidString(e.Event.DeliveryID+e.Event.Type), "%q %q", e.Event.DeliveryID, e.Event.Type)
		for _, v := range e.Event.Meta {
			require.True(t, utf8.ValidString(v), "%q", v)
		}
	}
}
