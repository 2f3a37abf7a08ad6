package main

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	actall "github.com/hookflow/hookflow/activities/all"
	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/connectors/tokens"
	"github.com/hookflow/hookflow/ingress"
	"github.com/hookflow/hookflow/ingress/apikeys"
	"github.com/hookflow/hookflow/ingress/bitbucket"
	"github.com/hookflow/hookflow/ingress/dora"
	"github.com/hookflow/hookflow/ingress/dorametrics"
	"github.com/hookflow/hookflow/ingress/forward"
	"github.com/hookflow/hookflow/ingress/generic"
	ghsrc "github.com/hookflow/hookflow/ingress/github"
	"github.com/hookflow/hookflow/ingress/gitlab"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/jira"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/pagerduty"
	"github.com/hookflow/hookflow/ingress/postgres"
	"github.com/hookflow/hookflow/ingress/servicenow"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/internal/secretbox"
	"github.com/hookflow/hookflow/workflows"
)

// This file is the one place where senders, blueprints and activities are
// wired together.

// sources are the senders the ingress accepts. Generic senders may
// authenticate with the integration's secret or an API key from keys;
// dora's erroneous records are counted in dm (nil: not counted).
func sources(keys *apikeys.Store, dm *dorametrics.Prometheus) map[string]hook.Source {
	gen := generic.Source{VerifyKey: func(req *hook.Request, key string) bool {
		return hook.EqualSecret(key, req.Secrets) || keys.Verify(req.Context, req.IntegrationID, key)
	}}
	// dora batches need scoped keys: a key created before scopes has
	// every scope.
	doraSrc := dora.Source{CheckKey: func(req *hook.Request, key string) ([]string, bool) {
		k, ok := keys.Check(req.Context, req.IntegrationID, key)
		return k.Scopes, ok
	}, Rejected: dm.Rejected}
	list := []hook.Source{ghsrc.Source{}, gitlab.Source{}, bitbucket.Source{}, jira.Source{}, servicenow.Source{}, pagerduty.Source{}, gen, doraSrc}
	m := make(map[string]hook.Source, len(list))
	for _, s := range list {
		m[s.Name()] = s
	}
	return m
}

// router holds the subscriptions of every enabled blueprint (blueprints/all,
// resolved against the configuration by resolveBlueprints). name resolves
// an integration ID to its name for blueprints restricted to integrations.
func router(taskQueue string, enabled []blueprints.Enabled, name func(id string) string) *workflows.Router {
	return blueprints.Router(taskQueue, enabled, name)
}

// workerConfig is what a worker needs besides its Temporal client.
type workerConfig struct {
	TaskQueue    string
	GitHubAPIURL string
	// GitHubAppID is the GitHub App the GitHub activities act as (App ID
	// or Client ID); its private key is in the token store under
	// github-app/<id>. Empty means personal access tokens
	// (github/<installation>).
	GitHubAppID string
	// RelayURL is where the relay blueprint's function listens; empty
	// leaves the relay's calls failing with a clear error.
	RelayURL string
	// JiraURL, ServiceNowURL and SplunkHECURL are the sites the Jira,
	// ServiceNow and Splunk activities act on; empty leaves them out.
	JiraURL   string
	JiraEmail string
	// JiraCloudID, JiraDevInfoAPIURL and JiraDevInfoTokenURL place the
	// Development Information API (Jira Cloud); empty means the cloud ID
	// from the site's tenant_info and api.atlassian.com.
	JiraCloudID         string
	JiraDevInfoAPIURL   string
	JiraDevInfoTokenURL string
	ServiceNowURL       string
	ServiceNowOAuth     bool
	SplunkHECURL        string
	// BackstageURL is the Backstage backend the backstage activities act
	// on; empty leaves them (and the catalog blueprint) out.
	BackstageURL string
	// PayloadURL is the ingress's admin listener, where the payload
	// activity reads payloads held by reference (over 256 KiB) with
	// PayloadToken; empty leaves that activity failing with a clear
	// error.
	PayloadURL   string
	PayloadToken string
	// Namespace is the Temporal namespace, for the search-attribute check.
	// Empty means "default".
	Namespace string
	// Blueprints are the blueprints to register, with their settings
	// (resolveBlueprints).
	Blueprints []blueprints.Enabled
	// Functions are the URLs of the functions activities/httpfunc calls,
	// by name (resolveBlueprints: --relay-url and connectors.functions).
	Functions map[string]string
	// Tokens is set by startWorker from the data directory.
	Tokens tokens.Store
	// Tracing, when on, traces every connector's outbound HTTP call as a
	// child of the activity's span (telemetry.go). Nil means off.
	Tracing *tracing
}

// registerAll registers the enabled blueprints and every activity on w.
func registerAll(w worker.Registry, cfg workerConfig) error {
	blueprints.RegisterWorkflows(w, cfg.Blueprints)
	functions := map[string]string{}
	for name, url := range cfg.Functions {
		functions[name] = url
	}
	if cfg.RelayURL != "" {
		functions["relay"] = cfg.RelayURL
	}
	return actall.Register(w, actall.Sites{
		GitHubAPIURL: cfg.GitHubAPIURL, GitHubAppID: cfg.GitHubAppID,
		JiraURL: cfg.JiraURL, JiraEmail: cfg.JiraEmail,
		JiraCloudID: cfg.JiraCloudID, JiraDevInfoAPIURL: cfg.JiraDevInfoAPIURL, JiraDevInfoTokenURL: cfg.JiraDevInfoTokenURL,
		ServiceNowURL: cfg.ServiceNowURL, ServiceNowOAuth: cfg.ServiceNowOAuth,
		BackstageURL: cfg.BackstageURL,
		SplunkHECURL: cfg.SplunkHECURL,
		Functions:    functions,
		PayloadURL:   cfg.PayloadURL, PayloadToken: cfg.PayloadToken, ParsePayloadRef: journal.ParsePayloadRef,
		Tokens:     cfg.Tokens,
		HTTPClient: cfg.Tracing.httpClient,
	})
}

// stores are the ingress's databases: SQLite in the data directory, or
// PostgreSQL shared by several ingress replicas.
type stores struct {
	db           *sql.DB
	journal      journal.Journal
	integrations *integrations.Store
	apikeys      *apikeys.Store
	// dora holds the DORA records, in the journal's database: workers
	// write them through the ingress's admin API (as they read payloads).
	dora *dorametrics.Store
}

// openStores opens the journal named by journalURL: "" or sqlite://PATH
// (default <data-dir>/hookflow.db), or postgres://DSN.
func openStores(ctx context.Context, dataDir, journalURL string) (st *stores, err error) {
	key, err := secretKey(dataDir)
	if err != nil {
		return nil, err
	}
	box, err := secretbox.New(key)
	if err != nil {
		return nil, err
	}
	st = &stores{}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	switch {
	case strings.HasPrefix(journalURL, "postgres://"), strings.HasPrefix(journalURL, "postgresql://"):
		if os.Getenv("HOOKFLOW_SECRET_KEY") == "" {
			return nil, errors.New("--journal postgres:// needs HOOKFLOW_SECRET_KEY (32 bytes, base64): every replica must decrypt the same integration secrets")
		}
		if st.db, err = postgres.Open(ctx, journalURL); err != nil {
			return nil, err
		}
		if st.journal, err = journal.OpenPostgres(ctx, st.db); err != nil {
			return nil, err
		}
		if st.integrations, err = integrations.OpenPostgresStore(ctx, st.db, box); err != nil {
			return nil, err
		}
		if st.apikeys, err = apikeys.OpenPostgresStore(ctx, st.db); err != nil {
			return nil, err
		}
		if st.dora, err = dorametrics.OpenPostgresStore(ctx, st.db); err != nil {
			return nil, err
		}
	case journalURL == "", strings.HasPrefix(journalURL, "sqlite://"):
		path := strings.TrimPrefix(journalURL, "sqlite://")
		if path == "" {
			path = filepath.Join(dataDir, "hookflow.db")
		}
		if st.db, err = sqlite.Open(path); err != nil {
			return nil, err
		}
		if st.journal, err = journal.OpenSQLite(ctx, st.db); err != nil {
			return nil, err
		}
		if st.integrations, err = integrations.OpenStore(ctx, st.db, box); err != nil {
			return nil, err
		}
		if st.apikeys, err = apikeys.OpenStore(ctx, st.db); err != nil {
			return nil, err
		}
		if st.dora, err = dorametrics.OpenStore(ctx, st.db); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("--journal %q: want sqlite://PATH or postgres://DSN", redactDSN(journalURL))
	}
	return st, nil
}

// redactDSN drops a DSN's password for error messages.
func redactDSN(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
		return u.String()
	}
	return dsn
}

func (s *stores) Close() error {
	var errs []error
	if s.journal != nil {
		errs = append(errs, s.journal.Close())
	}
	if s.db != nil {
		errs = append(errs, s.db.Close())
	}
	return errors.Join(errs...)
}

// secretKey is the key integration secrets are encrypted with:
// HOOKFLOW_SECRET_KEY (base64, 32 bytes) or the data directory's
// secret.key, created on first start.
func secretKey(dataDir string) ([]byte, error) {
	return secretKeyEnv(dataDir, os.Getenv)
}

// dialTemporal connects to the Temporal frontend at address; with, when
// given, adjust the options (temporalTLS.option).
func dialTemporal(ctx context.Context, address, namespace string, log *slog.Logger, tr *tracing, with ...func(*client.Options)) (client.Client, error) {
	opts, err := clientOptions(address, namespace, log, tr)
	if err != nil {
		return nil, err
	}
	for _, w := range with {
		w(&opts)
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w", address, err)
	}
	return c, nil
}

// lazyTemporal returns a client that connects on first use, so that the
// ingress starts (and journals) while Temporal is down.
func lazyTemporal(address, namespace string, log *slog.Logger, tr *tracing, with ...func(*client.Options)) (client.Client, error) {
	opts, err := clientOptions(address, namespace, log, tr)
	if err != nil {
		return nil, err
	}
	for _, w := range with {
		w(&opts)
	}
	return client.NewLazyClient(opts)
}

func clientOptions(address, namespace string, log *slog.Logger, tr *tracing) (client.Options, error) {
	interceptors, err := tr.temporalInterceptors()
	if err != nil {
		return client.Options{}, err
	}
	return client.Options{
		HostPort:     address,
		Namespace:    namespace,
		Logger:       sdklog.NewStructuredLogger(log.With("component", "temporal-sdk")),
		Interceptors: interceptors,
	}, nil
}

// startWorker checks the namespace's search attributes, opens the token
// store of dataDir, registers the enabled blueprints and every activity on
// a worker for cfg.TaskQueue and starts it polling.
func startWorker(ctx context.Context, c client.Client, dataDir string, cfg workerConfig) (worker.Worker, error) {
	if err := checkSearchAttributes(ctx, c, cfg.Namespace); err != nil {
		return nil, err
	}
	ts, err := openTokenStore(dataDir)
	if err != nil {
		return nil, err
	}
	cfg.Tokens = ts
	w := worker.New(c, cfg.TaskQueue, worker.Options{
		// The SDK's default of 2 pollers caps a worker near 30 workflow
		// tasks/s (FACTS.md).
		MaxConcurrentWorkflowTaskPollers: 16,
		MaxConcurrentActivityTaskPollers: 4,
	})
	if err := registerAll(w, cfg); err != nil {
		return nil, err
	}
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	return w, nil
}

// serveHTTP serves h on addr until ctx is done, then stops accepting and
// waits up to 15 s for requests in flight. ready, when not nil, is called
// (in its own goroutine) with the address once listening.
func serveHTTP(ctx context.Context, addr string, h http.Handler, log *slog.Logger, ready func(net.Addr)) error {
	return serveHTTPTLS(ctx, addr, nil, h, log, ready)
}

// serveHTTPTLS is serveHTTP over TLS with conf; nil conf is plain HTTP.
func serveHTTPTLS(ctx context.Context, addr string, conf *tls.Config, h http.Handler, log *slog.Logger, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	if conf != nil {
		ln = tls.NewListener(ln, conf)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if ready != nil {
		go ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// ingressConfig configures runIngress.
type ingressConfig struct {
	HTTPAddr string
	// AdminHTTP, when set, is where the admin API and /metrics listen
	// instead of on HTTPAddr.
	AdminHTTP string
	// Console serves the delivery console under /console: on AdminHTTP
	// when set, on HTTPAddr otherwise.
	Console bool
	// TemporalUIURL is the Temporal Web UI the console links workflows
	// to; empty leaves the links out.
	TemporalUIURL string
	// Namespace is the Temporal namespace of those links ("" is
	// "default").
	Namespace string
	PublicURL string
	DataDir   string
	// Journal is "" or sqlite://PATH, or postgres://DSN.
	Journal   string
	TaskQueue string
	// Blueprints are the enabled blueprints (resolveBlueprints): events no
	// one of them takes are answered "ignored".
	Blueprints []blueprints.Enabled
	// Temporal may be nil: the ingress then journals without forwarding.
	Temporal client.Client
	// Tracing is the process's OpenTelemetry setup.
	Tracing    *tracing
	AdminToken string
	// WorkerToken lets workers read payloads held by reference.
	WorkerToken string
	// RateLimit is the default per-integration requests per second.
	RateLimit float64
	// ClientRateLimit bounds requests/s per client address (0: default).
	ClientRateLimit float64
	// MaxInFlightBytes bounds the body bytes held at once (0: default).
	MaxInFlightBytes int64
	// SignalRate caps signals/s per workflow (forward.Config.SignalRate).
	SignalRate float64
	// MaxBacklog bounds accepted-but-unforwarded entries (0: no bound).
	MaxBacklog int
	// Retention prunes entries older than this, hourly (0: keep all).
	Retention time.Duration
	// Ready, when set, is called once the listener is up.
	Ready func(net.Addr)
	// TLS, when set, serves HTTPAddr over TLS (the ingress's own
	// certificate, --tls-cert); nil is plain HTTP. The AdminHTTP listener
	// stays plain either way.
	TLS *tls.Config
	// AdminReady, when set, is called once the AdminHTTP listener is up.
	AdminReady func(net.Addr)
	// Recovery are the defaults of automatic recovery (recover_wiring.go).
	Recovery recoverySettings
}

// runIngress serves the ingress and runs its forwarder until ctx is done.
func runIngress(ctx context.Context, cfg ingressConfig, log *slog.Logger) error {
	st, err := openStores(ctx, cfg.DataDir, cfg.Journal)
	if err != nil {
		return err
	}
	defer st.Close()
	rt := router(cfg.TaskQueue, cfg.Blueprints, integrationNames(ctx, st.integrations))
	metrics := ingress.NewMetrics()
	var wfStatus ingress.WorkflowStatus
	if cfg.Temporal != nil {
		wfStatus = temporalWorkflowStatus(cfg.Temporal)
	}
	if err := metrics.Registerer().Register(ingress.NewJournalCollector(st.journal, ingress.JournalCollectorOptions{WorkflowStatus: wfStatus})); err != nil {
		return err
	}
	doraMetrics := dorametrics.NewPrometheus(metrics.Registerer(), st.dora)
	if cfg.Tracing == nil {
		cfg.Tracing = noTracing()
	}
	var fwd *forward.Forwarder
	if cfg.Temporal != nil {
		fwd, err = forward.New(forward.Config{Journal: st.journal, Temporal: cfg.Temporal, Router: rt, Logger: log.With("component", "forwarder"),
			Metrics: forward.NewMetrics(metrics.Registerer()), SignalRate: cfg.SignalRate, Tracer: cfg.Tracing.provider.Tracer("github.com/hookflow/hookflow/forward")})
		if err != nil {
			return err
		}
	}
	srvCfg := ingress.Config{
		Journal: st.journal, Integrations: st.integrations, APIKeys: st.apikeys, DORA: st.dora, Sources: sources(st.apikeys, doraMetrics), Router: rt,
		RateLimit: cfg.RateLimit, MaxBacklog: cfg.MaxBacklog, Metrics: metrics, Tracer: cfg.Tracing.provider.Tracer("github.com/hookflow/hookflow/ingress"),
		Logger: log.With("component", "ingress"), AdminToken: cfg.AdminToken, WorkerToken: cfg.WorkerToken, PublicURL: cfg.PublicURL,
		ClientRateLimit: cfg.ClientRateLimit, MaxInFlightBytes: cfg.MaxInFlightBytes, SeparateAdmin: cfg.AdminHTTP != "",
		WorkflowStatus: wfStatus,
	}
	if fwd != nil {
		srvCfg.Accepted = fwd.Wake
	}
	srv, err := ingress.New(srvCfg)
	if err != nil {
		return err
	}
	fwdCtx, stopFwd := context.WithCancel(context.WithoutCancel(ctx))
	recDone, err := startRecovery(fwdCtx, cfg, st, metrics, log, os.Getenv)
	if err != nil {
		stopFwd()
		return err
	}
	fwdDone := make(chan struct{})
	if fwd != nil {
		go func() { defer close(fwdDone); _ = fwd.Run(fwdCtx) }()
	} else {
		close(fwdDone)
	}
	if m, ok := st.journal.(journal.Maintenance); ok && cfg.Retention > 0 {
		go retain(fwdCtx, m, cfg.Retention, log)
	} else if cfg.Retention > 0 {
		log.Warn("this journal cannot prune: retention is off")
	}
	// The admin listener, when there is one, lives and dies with the
	// webhook listener: either failing stops both.
	ctx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	public, admin := http.Handler(srv), srv.AdminHandler()
	if cfg.Console {
		con, err := newConsole(srv, cfg, log)
		if err != nil {
			stopFwd()
			<-recDone
			return err
		}
		if cfg.AdminHTTP != "" {
			admin = withConsole(admin, con)
		} else {
			public = withConsole(public, con)
		}
	}
	adminDone := make(chan error, 1)
	if cfg.AdminHTTP != "" {
		go func() {
			err := serveHTTP(ctx, cfg.AdminHTTP, admin, log, cfg.AdminReady)
			stopServing()
			adminDone <- err
		}()
	} else {
		adminDone <- nil
	}
	err = serveHTTPTLS(ctx, cfg.HTTPAddr, cfg.TLS, public, log, cfg.Ready)
	stopServing()
	err = errors.Join(err, <-adminDone)
	// Requests in flight are answered; now stop forwarding and flush.
	stopFwd()
	<-fwdDone
	<-recDone
	return err
}

// retain prunes journal entries older than keep, now and then hourly.
func retain(ctx context.Context, m journal.Maintenance, keep time.Duration, log *slog.Logger) {
	for {
		n, err := m.Prune(ctx, journal.PruneFilter{Before: time.Now().Add(-keep)}, false)
		if err != nil {
			log.Warn("retention prune failed", "error", err)
		} else if n > 0 {
			log.Info("retention pruned journal entries", "count", n, "older_than", keep.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Hour):
		}
	}
}

// integrationNames resolves integration IDs to names for blueprints
// restricted to integrations by name, remembering each answer: names do
// not change.
func integrationNames(ctx context.Context, store *integrations.Store) func(id string) string {
	var mu sync.Mutex
	names := map[string]string{}
	return func(id string) string {
		mu.Lock()
		defer mu.Unlock()
		if n, ok := names[id]; ok {
			return n
		}
		in, err := store.Get(context.WithoutCancel(ctx), id)
		if err != nil {
			return "" // not remembered: the next event asks again
		}
		names[id] = in.Name
		return in.Name
	}
}
