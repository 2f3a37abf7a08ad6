package ingress_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress"
	ghsrc "github.com/hookflow/hookflow/ingress/github"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/internal/secretbox"
)

const adminToken = "admin-token-0123456789abcdef0123456789"

// syncBuffer is a log sink the handlers write to while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func newAdminServer(t *testing.T, separate bool) (*ingress.Server, *syncBuffer) {
	t.Helper()
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
	logs := &syncBuffer{}
	s, err := ingress.New(ingress.Config{Journal: j, Integrations: store, Router: prRouter(), Metrics: ingress.NewMetrics(),
		Sources: map[string]hook.Source{"github": ghsrc.Source{}}, Logger: slog.New(slog.NewJSONHandler(logs, nil)),
		AdminToken: adminToken, SeparateAdmin: separate})
	require.NoError(t, err)
	return s, logs
}

func get(t *testing.T, h http.Handler, path, token string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code
}

// With SeparateAdmin the webhook listener serves neither the admin API nor
// /metrics; AdminHandler serves both.
func TestSeparateAdminListener(t *testing.T) {
	t.Parallel()
	tests := []struct {
		separate                                           bool
		publicAdmin, publicMetrics, adminAPI, adminMetrics int
	}{
		{false, http.StatusOK, http.StatusOK, http.StatusOK, http.StatusOK},
		{true, http.StatusNotFound, http.StatusNotFound, http.StatusOK, http.StatusOK},
	}
	for _, tt := range tests {
		s, _ := newAdminServer(t, tt.separate)
		admin := s.AdminHandler()
		require.Equal(t, tt.publicAdmin, get(t, s, "/admin/v1/integrations", adminToken), "separate=%v", tt.separate)
		require.Equal(t, tt.publicMetrics, get(t, s, "/metrics", ""), "separate=%v", tt.separate)
		require.Equal(t, tt.adminAPI, get(t, admin, "/admin/v1/integrations", adminToken), "separate=%v", tt.separate)
		require.Equal(t, tt.adminMetrics, get(t, admin, "/metrics", ""), "separate=%v", tt.separate)
		require.Equal(t, http.StatusUnauthorized, get(t, admin, "/admin/v1/integrations", "wrong"))
		require.Equal(t, http.StatusOK, get(t, admin, "/healthz", ""))
		require.Equal(t, http.StatusNotFound, get(t, admin, "/hooks/anything", ""), "no webhooks on the admin listener")
		require.Equal(t, http.StatusOK, get(t, s, "/healthz", ""))
	}
}

// A webhook secret shorter than ingress.MinSecretBytes is refused on create
// and rotate, without echoing it.
func TestShortSecretsRefused(t *testing.T) {
	t.Parallel()
	s, _ := newAdminServer(t, false)
	post := func(path, body string) (int, string) {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}
	code, body := post("/admin/v1/integrations", `{"name":"weak","source":"github","secret":"hunter2-secret"}`)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, "secret_too_short")
	require.NotContains(t, body, "hunter2")
	code, body = post("/admin/v1/integrations", `{"name":"ok","source":"github","secret":"0123456789abcdef"}`)
	require.Equal(t, http.StatusCreated, code, body)
	code, body = post("/admin/v1/integrations", `{"name":"generated","source":"github"}`)
	require.Equal(t, http.StatusCreated, code)
	var id string
	for _, part := range strings.Split(body, `"`) {
		if strings.HasPrefix(part, "int_") {
			id = part
			break
		}
	}
	require.NotEmpty(t, id)
	code, body = post("/admin/v1/integrations/"+id+"/rotate", `{"secret":"short"}`)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, body, "secret_too_short")
	code, _ = post("/admin/v1/integrations/"+id+"/rotate", `{"secret":"a-long-enough-secret"}`)
	require.Equal(t, http.StatusOK, code)
}

// Guessing the admin token gets slower with every guess, up to about a
// second each, and is logged without what was sent; the right token is
// answered at once even during the guessing.
func TestBadAdminTokensSlowedDown(t *testing.T) {
	t.Parallel()
	s, logs := newAdminServer(t, true)
	srv := httptest.NewServer(s.AdminHandler())
	t.Cleanup(srv.Close)
	call := func(token string) (int, time.Duration) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/admin/v1/integrations", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, time.Since(start)
	}
	var took []time.Duration
	for i := range 5 {
		code, d := call("guess-" + strings.Repeat("x", i))
		require.Equal(t, http.StatusUnauthorized, code)
		took = append(took, d)
	}
	require.GreaterOrEqual(t, took[0], 100*time.Millisecond)
	require.GreaterOrEqual(t, took[3], 800*time.Millisecond)
	require.GreaterOrEqual(t, took[4], time.Second)
	require.Less(t, took[4], 2*time.Second, "at most about a second")
	t.Logf("bad tokens answered after %v", took)

	// Guesses keep coming while the operator works.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				call("guess-during")
			}
		}
	})
	for range 5 {
		code, d := call(adminToken)
		require.Equal(t, http.StatusOK, code)
		require.Less(t, d, 250*time.Millisecond, "the right token never waits")
		t.Logf("the right token, while guesses wait: %v", d)
	}
	close(stop)
	wg.Wait()

	out := logs.String()
	require.Contains(t, out, `"msg":"admin token refused"`)
	require.NotContains(t, out, "guess-")
	require.NotContains(t, out, adminToken)
}
