package main

import (
	"cmp"
	"context"
	"log/slog"
	"sync"

	"github.com/hookflow/hookflow/connectors/tokens"
	"github.com/hookflow/hookflow/ingress"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/recovery"
)

// recoverySettings are the process-wide defaults of recovery, which an
// integration's recover_* options override.
type recoverySettings struct {
	// GitHubAPIURL and GitHubAppID default to HOOKFLOW_GITHUB_API_URL and
	// HOOKFLOW_GITHUB_APP_ID.
	GitHubAPIURL string
	GitHubAppID  string
}

// recoveryStores opens what recovery reads and writes in the ingress's
// database: the journal's delivery lookup and the recovery state.
func recoveryStores(ctx context.Context, st *stores) (*journal.Received, *recovery.Store, error) {
	if _, pg := st.journal.(*journal.Postgres); pg {
		rec, err := journal.OpenPostgresReceived(ctx, st.db)
		if err != nil {
			return nil, nil, err
		}
		state, err := recovery.OpenPostgresStore(ctx, st.db)
		return rec, state, err
	}
	rec, err := journal.OpenSQLiteReceived(ctx, st.db)
	if err != nil {
		return nil, nil, err
	}
	state, err := recovery.OpenSQLiteStore(ctx, st.db)
	return rec, state, err
}

// recoveryTokens is the workers' token store (openTokenStoreEnv) with
// HOOKFLOW_GITLAB_TOKEN as GitLab's last fallback. The store opens on
// first use, so that an ingress with no integration to recover never
// needs to reach Vault.
func recoveryTokens(dataDir string, getenv func(string) string) tokens.Store {
	return &lazyTokens{open: func() (tokens.Store, error) {
		base, err := openTokenStoreEnv(dataDir, getenv)
		if err != nil {
			return nil, err
		}
		env := tokens.Static{}
		if t := getenv("HOOKFLOW_GITLAB_TOKEN"); t != "" {
			env["gitlab"] = t
		}
		return tokens.Chain{base, env}, nil
	}}
}

type lazyTokens struct {
	open  func() (tokens.Store, error)
	once  sync.Once
	store tokens.Store
	err   error
}

func (l *lazyTokens) Token(ctx context.Context, key tokens.Key) (string, error) {
	l.once.Do(func() { l.store, l.err = l.open() })
	if l.err != nil {
		return "", l.err
	}
	return l.store.Token(ctx, key)
}

// startRecovery runs automatic recovery (integrations with recover=auto)
// beside the forwarder until ctx is done; the returned channel is closed
// when it has stopped.
func startRecovery(ctx context.Context, cfg ingressConfig, st *stores, metrics *ingress.Metrics, log *slog.Logger, getenv func(string) string) (<-chan struct{}, error) {
	rec, state, err := recoveryStores(ctx, st)
	if err != nil {
		return nil, err
	}
	m := recovery.NewMetrics()
	if err := metrics.Registerer().Register(m); err != nil {
		return nil, err
	}
	r, err := recovery.NewRunner(recovery.RunnerConfig{
		Integrations: st.integrations, Journal: rec, State: state, Metrics: m, Logger: log.With("component", "recover"),
		Senders: &recovery.Senders{
			Tokens:       recoveryTokens(cfg.DataDir, getenv),
			GitHubAPIURL: cmp.Or(cfg.Recovery.GitHubAPIURL, getenv("HOOKFLOW_GITHUB_API_URL")),
			GitHubAppID:  cmp.Or(cfg.Recovery.GitHubAppID, getenv("HOOKFLOW_GITHUB_APP_ID")),
		},
	})
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	return done, nil
}
