package recoverytest

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress"
	ghsrc "github.com/hookflow/hookflow/ingress/github"
	"github.com/hookflow/hookflow/ingress/gitlab"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/recovery"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/internal/secretbox"
	"github.com/hookflow/hookflow/workflows"
)

// IgnoredEvent is the event type no blueprint of the test ingress takes:
// it is journaled as ignored.
const IgnoredEvent = "star"

// Ingress is a real ingress (ingress.New, the GitHub and GitLab sources, a
// SQLite journal in a directory, as `hookflow dev` keeps it) on a real
// listener, which can be stopped and started again on the same address.
type Ingress struct {
	Dir          string
	Addr         string
	DB           *sql.DB
	Journal      journal.Journal
	Received     *journal.Received
	Integrations *integrations.Store
	State        *recovery.Store
	// Logs holds the ingress's log lines.
	Logs *SyncBuffer

	srv  *http.Server
	done chan struct{}
}

// StartIngress starts an ingress over the database in dir (created when
// missing) on addr ("" for a free port), stopped when the test ends.
func StartIngress(t testing.TB, dir, addr string) *Ingress {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(dir, "hookflow.db"))
	require.NoError(t, err)
	j, err := journal.OpenSQLite(ctx, db)
	require.NoError(t, err)
	rec, err := journal.OpenSQLiteReceived(ctx, db)
	require.NoError(t, err)
	key, err := secretbox.LoadOrCreateKey(filepath.Join(dir, "secret.key"))
	require.NoError(t, err)
	box, err := secretbox.New(key)
	require.NoError(t, err)
	store, err := integrations.OpenStore(ctx, db, box)
	require.NoError(t, err)
	state, err := recovery.OpenSQLiteStore(ctx, db)
	require.NoError(t, err)
	logs := &SyncBuffer{}
	router := workflows.NewRouter(workflows.Subscription{Blueprint: "t", Workflow: "T", TaskQueue: "q", Route: func(ev workflows.Event) string {
		if ev.Type == IgnoredEvent {
			return ""
		}
		return "entity/" + ev.Source + "/" + ev.Type
	}})
	s, err := ingress.New(ingress.Config{
		Journal: j, Integrations: store, Router: router,
		Sources: map[string]hook.Source{ghsrc.Name: ghsrc.Source{}, gitlab.Name: gitlab.Source{}},
		Logger:  slog.New(slog.NewJSONHandler(logs, nil)),
	})
	require.NoError(t, err)
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	// The port a stopped ingress had may take a moment to be free again.
	require.Eventually(t, func() bool { ln, err = net.Listen("tcp", addr); return err == nil }, 5*time.Second, 20*time.Millisecond)
	in := &Ingress{Dir: dir, Addr: ln.Addr().String(), DB: db, Journal: j, Received: rec, Integrations: store, State: state, Logs: logs,
		srv: &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}, done: make(chan struct{})}
	go func() { defer close(in.done); _ = in.srv.Serve(ln) }()
	t.Cleanup(in.Stop)
	return in
}

// Stop stops the ingress as a process stop would: the listener closes,
// the journal is flushed and the database closed. Stopping twice is fine.
func (in *Ingress) Stop() {
	if in.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = in.srv.Shutdown(ctx)
	<-in.done
	in.Journal.Close()
	in.DB.Close()
	in.srv = nil
}

// HookURL is the URL senders deliver integration i's deliveries to.
func (in *Ingress) HookURL(i integrations.Integration) string {
	return "http://" + in.Addr + "/hooks/" + i.Path
}

// Taken counts, per delivery ID, the entries of integration that took the
// delivery (accepted, forwarded or ignored): each should be 1, never 2.
func (in *Ingress) Taken(t testing.TB, integration string) map[string]int {
	t.Helper()
	rows, err := in.DB.Query(`SELECT delivery_id, COUNT(*) FROM deliveries WHERE integration_id = ? AND status IN ('accepted', 'forwarded', 'ignored') GROUP BY delivery_id`, integration)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		require.NoError(t, rows.Scan(&id, &n))
		out[id] = n
	}
	require.NoError(t, rows.Err())
	return out
}

// Routed returns the workflow IDs of integration's accepted entries, per
// delivery ID: what the forwarder will signal, once each.
func (in *Ingress) Routed(t testing.TB, integration string) map[string][]string {
	t.Helper()
	pending, err := in.Journal.Pending(context.Background(), journal.PendingQuery{Limit: 10000, MaxBytes: 1 << 40})
	require.NoError(t, err)
	out := map[string][]string{}
	for _, p := range pending {
		if p.Event.Integration == integration {
			require.NotContains(t, out[p.Event.DeliveryID], p.Route.WorkflowID, "delivery %s would be signalled twice", p.Event.DeliveryID)
			out[p.Event.DeliveryID] = append(out[p.Event.DeliveryID], p.Route.WorkflowID)
		}
	}
	return out
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers, for logs.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
