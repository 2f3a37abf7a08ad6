package ingress

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/internal/secretbox"
	"github.com/hookflow/hookflow/workflows"
)

func TestAppendHealth(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	disk := errors.New("database or disk is full")
	type step struct {
		at  time.Duration
		err error
	}
	tests := []struct {
		name   string
		steps  []step
		check  time.Duration
		ok     bool
		reason string
	}{
		{"never appended", nil, 0, true, ""},
		{"success", []step{{0, nil}}, time.Second, true, ""},
		{"failure", []step{{0, disk}}, time.Second, false, "journal append failed"},
		{"failure, then window over", []step{{0, disk}}, AppendFailureWindow, true, ""},
		{"failure, then success", []step{{0, disk}, {time.Second, nil}}, 2 * time.Second, true, ""},
		{"success, then failure", []step{{0, nil}, {time.Second, disk}}, 2 * time.Second, false, "journal append failed"},
		{"the last failure counts", []step{{0, disk}, {20 * time.Second, disk}}, 40 * time.Second, false, "journal append failed"},
		{"timeout", []step{{0, context.DeadlineExceeded}}, time.Second, false, "journal append timed out"},
		{"client hung up", []step{{0, fmt.Errorf("journal: insert: %w", context.Canceled)}}, time.Second, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var h appendHealth
			for _, s := range tt.steps {
				h.record(t0.Add(s.at), s.err)
			}
			ok, at, reason := h.healthy(t0.Add(tt.check))
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.reason, reason)
			require.Equal(t, !ok, !at.IsZero())
		})
	}
}

func TestAppendHealthConcurrent(t *testing.T) {
	t.Parallel()
	var h appendHealth
	now := time.Now()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 1000 {
				var err error
				if i%2 == 0 {
					err = errors.New("disk full")
				}
				h.record(now, err)
				h.healthy(now)
			}
		})
	}
	wg.Wait()
}

// On a full disk the journal still answers the backlog query, so /readyz
// said 200 while every append failed; now it says 503 until an append
// succeeds or AppendFailureWindow passes.
func TestReadyzWhileAppendsFail(t *testing.T) {
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
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s, err := New(Config{Journal: j, Integrations: store, Router: workflows.NewRouter(), Now: clock,
		Sources: map[string]hook.Source{"x": nil}, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	ready := func() (int, map[string]any) {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		var out map[string]any
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out))
		return w.Code, out
	}
	code, _ := ready()
	require.Equal(t, http.StatusOK, code)

	s.appends.record(clock(), errors.New("journal: commit: database or disk is full (13) /var/lib/hookflow/hookflow.db"))
	code, out := ready()
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "journal_append_failing", out["status"])
	require.NotContains(t, fmt.Sprint(out), "/var/lib", "the error itself is not shown")

	mu.Lock()
	now = now.Add(AppendFailureWindow)
	mu.Unlock()
	code, _ = ready()
	require.Equal(t, http.StatusOK, code, "tried again once the window is over")

	s.appends.record(clock(), errors.New("disk full"))
	code, _ = ready()
	require.Equal(t, http.StatusServiceUnavailable, code)
	s.appends.record(clock(), nil)
	code, _ = ready()
	require.Equal(t, http.StatusOK, code, "a successful append clears it at once")
}
