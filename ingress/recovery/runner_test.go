package recovery_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/tokens"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/postgres"
	"github.com/hookflow/hookflow/ingress/postgres/pgtest"
	"github.com/hookflow/hookflow/ingress/recovery"
	"github.com/hookflow/hookflow/ingress/recovery/recoverytest"
	"github.com/hookflow/hookflow/ingress/sqlite"
)

// passes records the passes a Runner makes.
type passes struct {
	mu   sync.Mutex
	list []recovery.Report
	errs []error
}

func (p *passes) add(_ string, r recovery.Report, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = append(p.list, r)
	p.errs = append(p.errs, err)
}

func (p *passes) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.list)
}

func (p *passes) last() (recovery.Report, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.list[len(p.list)-1], p.errs[len(p.errs)-1]
}

func startRunner(t *testing.T, ing *recoverytest.Ingress, holder string, m *recovery.Metrics, logs *recoverytest.SyncBuffer) *passes {
	t.Helper()
	p := &passes{}
	r, err := recovery.NewRunner(recovery.RunnerConfig{Integrations: ing.Integrations, Journal: ing.Received, State: ing.State, Senders: senders(),
		Holder: holder, Tick: 20 * time.Millisecond, Overlap: time.Minute, StartGap: time.Nanosecond, Metrics: m, OnPass: p.add,
		Logger: slogTo(logs)})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return p
}

// TestAutomaticRecoveryAfterAnOutage: deliveries happen while the ingress
// is down; started again, it recovers them in its first pass.
func TestAutomaticRecoveryAfterAnOutage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ing := recoverytest.StartIngress(t, dir, "")
	gh := recoverytest.NewGitHub(t, recoverytest.GitHubOptions{Token: ghToken})
	in := createIntegration(t, ing, "github", ghSecret, map[string]string{recovery.OptionRecover: "auto",
		recovery.OptionHook: repoHook, recovery.OptionAPIURL: gh.URL})
	gh.AddHook(repoHook, ing.HookURL(in), ghSecret)
	logs := &recoverytest.SyncBuffer{}
	m := recovery.NewMetrics()

	// Up: a delivery arrives; the start pass finds nothing missing.
	live := gh.Deliver(repoHook, "push", "", push(1))
	ctx, cancel := context.WithCancel(context.Background())
	first := &passes{}
	r, err := recovery.NewRunner(recovery.RunnerConfig{Integrations: ing.Integrations, Journal: ing.Received, State: ing.State, Senders: senders(),
		Holder: "replica-1", Tick: 20 * time.Millisecond, Overlap: time.Minute, StartGap: time.Nanosecond, Metrics: m, OnPass: first.add, Logger: slogTo(logs)})
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	require.Eventually(t, func() bool { return first.count() == 1 }, 5*time.Second, 10*time.Millisecond)
	rep, err := first.last()
	require.NoError(t, err)
	require.Equal(t, 1, rep.Listed)
	require.Zero(t, rep.Requested)
	time.Sleep(100 * time.Millisecond)
	require.Equal(t, 1, first.count(), "the next pass waits for recover_interval")

	// Down: the process stops; GitHub cannot connect.
	cancel()
	<-done
	addr := ing.Addr
	ing.Stop()
	var missed []string
	for i := range 3 {
		missed = append(missed, gh.Deliver(repoHook, "push", "", push(10+i)))
	}
	missed = append(missed, gh.Deliver(repoHook, "pull_request", "opened", pullRequest(13)))

	// Up again, on the same address and database.
	ing = recoverytest.StartIngress(t, dir, addr)
	second := startRunner(t, ing, "replica-1", m, logs)
	require.Eventually(t, func() bool { return second.count() == 1 }, 5*time.Second, 10*time.Millisecond)
	rep, err = second.last()
	require.NoError(t, err)
	require.Equal(t, 5, rep.Listed)
	require.Equal(t, 1, rep.InJournal)
	require.Equal(t, 4, rep.Requested)
	gh.Wait()
	want := map[string]int{live: 1}
	for _, id := range missed {
		want[id] = 1
	}
	require.Equal(t, want, ing.Taken(t, in.ID))

	st, err := ing.State.Get(context.Background(), in.ID)
	require.NoError(t, err)
	require.False(t, st.HighWater.IsZero())
	require.False(t, st.LastSuccess.IsZero())
	require.Empty(t, st.LastError)

	require.Equal(t, 4.0, metric(t, m, "hookflow_recover_requested_total", "github"))
	require.Equal(t, 0.0, metric(t, m, "hookflow_recover_errors_total", "github"))
	require.InDelta(t, float64(st.LastSuccess.Unix()), metric(t, m, "hookflow_recover_last_success_timestamp_seconds", "github"), 1)
	require.Contains(t, logs.String(), `"msg":"recover pass"`)
	require.Contains(t, logs.String(), `"requested":4`)
	require.NotContains(t, logs.String(), ghToken)
}

// TestOneReplicaAtATime: two replicas sharing a database make one start
// pass between them.
func TestOneReplicaAtATime(t *testing.T) {
	t.Parallel()
	ing := recoverytest.StartIngress(t, t.TempDir(), "")
	gh := recoverytest.NewGitHub(t, recoverytest.GitHubOptions{Token: ghToken})
	in := createIntegration(t, ing, "github", ghSecret, map[string]string{recovery.OptionRecover: "auto",
		recovery.OptionHook: repoHook, recovery.OptionAPIURL: gh.URL})
	gh.AddHook(repoHook, ing.HookURL(in), ghSecret)
	gh.Record(repoHook, "push", "", push(1), recoverytest.Unreachable)
	var all []*passes
	for _, holder := range []string{"replica-a", "replica-b"} {
		p := &passes{}
		r, err := recovery.NewRunner(recovery.RunnerConfig{Integrations: ing.Integrations, Journal: ing.Received, State: ing.State, Senders: senders(),
			Holder: holder, Tick: 10 * time.Millisecond, OnPass: p.add})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = r.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		all = append(all, p)
	}
	require.Eventually(t, func() bool { return all[0].count()+all[1].count() >= 1 }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	require.Equal(t, 1, all[0].count()+all[1].count())
	require.Len(t, gh.Redelivered(), 1)
}

// TestFailedPassKeepsTheMark: a pass that fails keeps the high-water mark
// where it was, counts an error, and says so in the log.
func TestFailedPassKeepsTheMark(t *testing.T) {
	t.Parallel()
	ing := recoverytest.StartIngress(t, t.TempDir(), "")
	gh := recoverytest.NewGitHub(t, recoverytest.GitHubOptions{Token: "another token"})
	in := createIntegration(t, ing, "github", ghSecret, map[string]string{recovery.OptionRecover: "auto",
		recovery.OptionHook: repoHook, recovery.OptionAPIURL: gh.URL})
	gh.AddHook(repoHook, ing.HookURL(in), ghSecret)
	logs := &recoverytest.SyncBuffer{}
	m := recovery.NewMetrics()
	p := startRunner(t, ing, "r", m, logs)
	require.Eventually(t, func() bool { return p.count() == 1 }, 5*time.Second, 10*time.Millisecond)
	_, err := p.last()
	require.ErrorContains(t, err, "HTTP 401")
	st, err := ing.State.Get(context.Background(), in.ID)
	require.NoError(t, err)
	require.True(t, st.HighWater.IsZero())
	require.True(t, st.LastSuccess.IsZero())
	require.Contains(t, st.LastError, "HTTP 401")
	require.Equal(t, 1.0, metric(t, m, "hookflow_recover_errors_total", "github"))
	require.Contains(t, logs.String(), "recover pass failed")
	require.NotContains(t, logs.String(), ghToken)
}

// TestGitHubAppHook recovers the App's own hook, authenticating with the
// App's JWT signed with its private key from the token store.
func TestGitHubAppHook(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	ing := recoverytest.StartIngress(t, t.TempDir(), "")
	in := createIntegration(t, ing, "github", ghSecret, map[string]string{recovery.OptionHook: "app", recovery.OptionAppID: "1234"})
	gh := recoverytest.NewGitHub(t, recoverytest.GitHubOptions{AppID: "1234", AppKey: &key.PublicKey})
	gh.AddHook("app", ing.HookURL(in), ghSecret)
	missed := gh.Record("app", "installation_repositories", "added", push(1), recoverytest.TimedOut)
	s := &recovery.Senders{Tokens: tokens.Static{"github-app": string(keyPEM)}}
	sender, err := s.For(in, recovery.Override{APIURL: gh.URL})
	require.NoError(t, err)
	rep, err := recovery.Recover(context.Background(), recovery.Pass{Integration: in.ID, Sender: sender, Journal: ing.Received, Since: time.Now().Add(-time.Hour)})
	require.NoError(t, err)
	require.Equal(t, 1, rep.Requested)
	gh.Wait()
	require.Equal(t, map[string]int{missed: 1}, ing.Taken(t, in.ID))

	// Without the key in the token store: a clear error.
	s = &recovery.Senders{Tokens: tokens.Static{}}
	sender, err = s.For(in, recovery.Override{APIURL: gh.URL})
	require.NoError(t, err)
	_, err = recovery.Recover(context.Background(), recovery.Pass{Integration: in.ID, Sender: sender, Journal: ing.Received, Since: time.Now().Add(-time.Hour)})
	require.ErrorContains(t, err, "hookflow tokens put --system github-app")
}

func TestReadSettings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		opts map[string]string
		want recovery.Settings
		err  string
	}{
		{opts: nil, want: recovery.Settings{Interval: recovery.DefaultInterval}},
		{opts: map[string]string{"recover": "auto", "recover_hook": "app", "recover_interval": "30m", "recover_retention": "7d"},
			want: recovery.Settings{Auto: true, Hook: "app", Interval: 30 * time.Minute, Retention: 7 * 24 * time.Hour}},
		{opts: map[string]string{"recover": "auto"}, err: "needs recover_hook"},
		{opts: map[string]string{"recover": "yes"}, err: `recover="yes"`},
		{opts: map[string]string{"recover_interval": "10s"}, err: "recover_interval"},
		{opts: map[string]string{"recover_retention": "soon"}, err: "recover_retention"},
		{opts: map[string]string{"recover_api_url": "ftp://x"}, err: "recover_api_url"},
	} {
		got, err := recovery.ReadSettings(integrations.Integration{ID: "int_x", Options: tc.opts})
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
}

// TestStore checks leases and high-water marks on both databases.
func TestStore(t *testing.T) {
	t.Parallel()
	for _, db := range []struct {
		name string
		open func(t *testing.T) *recovery.Store
	}{
		{name: "sqlite", open: func(t *testing.T) *recovery.Store {
			db, err := sqlite.Open(filepath.Join(t.TempDir(), "h.db"))
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			s, err := recovery.OpenSQLiteStore(context.Background(), db)
			require.NoError(t, err)
			return s
		}},
		{name: "postgres", open: func(t *testing.T) *recovery.Store {
			dsn := pgtest.Schema(t)
			db, err := postgres.Open(context.Background(), dsn)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			s, err := recovery.OpenPostgresStore(context.Background(), db)
			require.NoError(t, err)
			return s
		}},
	} {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := db.open(t)
			now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
			st, ok, err := s.Acquire(ctx, "int_a", "a", now, time.Minute, 0)
			require.NoError(t, err)
			require.True(t, ok)
			require.True(t, st.HighWater.IsZero())
			_, ok, err = s.Acquire(ctx, "int_a", "b", now.Add(time.Second), time.Minute, 0)
			require.NoError(t, err)
			require.False(t, ok, "held by a")
			require.NoError(t, s.Renew(ctx, "int_a", "a", now.Add(30*time.Second), time.Minute))
			require.ErrorIs(t, s.Renew(ctx, "int_a", "b", now, time.Minute), recovery.ErrLeaseLost)
			// a's lease runs out: b takes over, and a's late Finish is refused.
			_, ok, err = s.Acquire(ctx, "int_a", "b", now.Add(2*time.Minute), time.Minute, 0)
			require.NoError(t, err)
			require.True(t, ok)
			require.ErrorIs(t, s.Finish(ctx, "int_a", "a", now, now, nil), recovery.ErrLeaseLost)
			hw := now.Add(2 * time.Minute)
			require.NoError(t, s.Finish(ctx, "int_a", "b", hw.Add(time.Second), hw, nil))
			st, err = s.Get(ctx, "int_a")
			require.NoError(t, err)
			require.True(t, hw.Equal(st.HighWater))
			require.True(t, hw.Add(time.Second).Equal(st.LastSuccess))
			// Within the gap no pass starts; after it one does.
			_, ok, err = s.Acquire(ctx, "int_a", "a", hw.Add(time.Minute), time.Minute, 10*time.Minute)
			require.NoError(t, err)
			require.False(t, ok)
			_, ok, err = s.Acquire(ctx, "int_a", "a", hw.Add(11*time.Minute), time.Minute, 10*time.Minute)
			require.NoError(t, err)
			require.True(t, ok)
			// A failed pass keeps the mark (never moves it back) and the error.
			require.NoError(t, s.Finish(ctx, "int_a", "a", hw.Add(12*time.Minute), now, errTest))
			st, err = s.Get(ctx, "int_a")
			require.NoError(t, err)
			require.True(t, hw.Equal(st.HighWater))
			require.Equal(t, "boom", st.LastError)
			require.True(t, hw.Add(time.Second).Equal(st.LastSuccess))
		})
	}
}

type testError string

func (e testError) Error() string { return string(e) }

const errTest = testError("boom")

func metric(t *testing.T, m *recovery.Metrics, name, source string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(m))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == "source" && l.GetValue() == source {
					if c := mt.GetCounter(); c != nil {
						return c.GetValue()
					}
					return mt.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}

// TestRetentionWarnings: a pass long after the last success says that
// the outage approaches the sender's retention, or has passed it.
func TestRetentionWarnings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		behind time.Duration
		want   string
	}{
		{name: "recent", behind: time.Hour},
		{name: "approaching", behind: 40 * time.Hour, want: "the outage approaches the sender's retention of 3 days"},
		{name: "past", behind: 80 * time.Hour, want: "deliveries may be lost for good"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			ing := recoverytest.StartIngress(t, t.TempDir(), "")
			gh := recoverytest.NewGitHub(t, recoverytest.GitHubOptions{Token: ghToken})
			in := createIntegration(t, ing, "github", ghSecret, map[string]string{recovery.OptionRecover: "auto",
				recovery.OptionHook: repoHook, recovery.OptionAPIURL: gh.URL, recovery.OptionRetention: "3d"})
			gh.AddHook(repoHook, ing.HookURL(in), ghSecret)
			then := time.Now().Add(-tc.behind)
			_, ok, err := ing.State.Acquire(ctx, in.ID, "old", then, time.Minute, 0)
			require.NoError(t, err)
			require.True(t, ok)
			require.NoError(t, ing.State.Finish(ctx, in.ID, "old", then, then, nil))
			logs := &recoverytest.SyncBuffer{}
			p := startRunner(t, ing, "new", nil, logs)
			require.Eventually(t, func() bool { return p.count() == 1 }, 5*time.Second, 10*time.Millisecond)
			if tc.want == "" {
				require.NotContains(t, logs.String(), "retention")
				return
			}
			require.Contains(t, logs.String(), tc.want)
		})
	}
}
