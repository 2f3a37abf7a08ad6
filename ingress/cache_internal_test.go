package ingress

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/github"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/internal/secretbox"
	"github.com/hookflow/hookflow/workflows"
)

func newTestServer(t *testing.T) (*Server, journal.Journal, integrations.Integration) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "hookflow.db"))
	require.NoError(t, err)
	j, err := journal.OpenSQLite(ctx, db)
	require.NoError(t, err)
	box, err := secretbox.New(bytes.Repeat([]byte{3}, secretbox.KeySize))
	require.NoError(t, err)
	store, err := integrations.OpenStore(ctx, db, box)
	require.NoError(t, err)
	in, err := store.Create(ctx, integrations.Integration{Name: "gh", Source: "github", Secrets: []integrations.Secret{{Value: []byte("a-secret-of-sixteen-bytes")}}})
	require.NoError(t, err)
	t.Cleanup(func() { j.Close(); db.Close() })
	s, err := New(Config{Journal: j, Integrations: store, Router: workflows.NewRouter(), Sources: map[string]hook.Source{"github": github.Source{}}, ClientRateLimit: -1})
	require.NoError(t, err)
	return s, j, in
}

// TestUnknownPathsPinNoMemory: 300 requests to unknown paths of 1 MiB each
// (before: cached under the raw path, 294 MiB held after GC) leave the
// cache empty; unknown paths of an integration's form are cached, bounded.
func TestUnknownPathsPinNoMemory(t *testing.T) {
	s, _, _ := newTestServer(t)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	long := strings.Repeat("p", 1<<20)
	for i := range 300 {
		req := httptest.NewRequest(http.MethodPost, "/hooks/"+long+string(rune('a'+i%26)), strings.NewReader(`{}`))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		require.Equal(t, http.StatusNotFound, rec.Code)
	}
	require.Empty(t, s.cache.entries, "a path that cannot be an integration's is neither looked up nor cached")
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	require.Less(t, int64(after.HeapInuse)-int64(before.HeapInuse), int64(16<<20))

	for range maxCachedPaths + 10 {
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		req := httptest.NewRequest(http.MethodPost, "/hooks/"+base64.RawURLEncoding.EncodeToString(b), strings.NewReader(`{}`))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		require.Equal(t, http.StatusNotFound, rec.Code)
	}
	require.LessOrEqual(t, len(s.cache.entries), maxCachedPaths, "well-formed unknown paths are cached, up to a bound")
}

// TestRefusalJournaledWhenTheClientHangsUp: the record of a refusal is
// written with a context the client's hang-up does not cancel (before: the
// append failed half the time, with an ERROR line at the attacker's will).
func TestRefusalJournaledWhenTheClientHangsUp(t *testing.T) {
	t.Parallel()
	s, j, in := newTestServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest(http.MethodPost, "/hooks/"+in.Path, strings.NewReader(`{}`)).WithContext(ctx)
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", "hung-up")
	req.Header.Set("X-Hub-Signature-256", "sha256=00")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	list, err := j.List(context.Background(), journal.Filter{Status: journal.Rejected})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, "hung-up", list[0].Event.DeliveryID)
	require.Equal(t, "push", list[0].Event.Type)
}
