// Package ingress is Hookflow's HTTP receiver: it verifies each delivery
// with its integration's sender (ingress/<source>), normalizes it, writes it
// to the journal and answers, without ever waiting on Temporal. The
// forwarder (forwarder.go) takes it from there.
package ingress

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/hookflow/hookflow/ingress/apikeys"
	"github.com/hookflow/hookflow/ingress/dorametrics"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/workflows"
)

// DefaultMaxBodyBytes is the body limit when neither the server nor the
// integration sets one: 25 MiB, GitHub's own maximum payload.
const DefaultMaxBodyBytes = 25 << 20

// OptionMaxBodyBytes is the integration option that overrides the body
// limit for one integration.
const OptionMaxBodyBytes = "max_body_bytes"

// Config configures a Server.
type Config struct {
	// Journal records every delivery. Required.
	Journal journal.Journal
	// Integrations resolves /hooks/<path> to an integration. Required.
	Integrations *integrations.Store
	// APIKeys issues API keys through the admin API. Nil disables the
	// /admin/v1/keys endpoints.
	APIKeys *apikeys.Store
	// DORA keeps the DORA records and computes their metrics behind
	// /admin/v1/dora (workers apply batches with WorkerToken; report and
	// prune need the admin token). Nil disables those endpoints.
	DORA *dorametrics.Store
	// RateLimit is each integration's request rate limit per second
	// (burst: twice as many), overridable with the integration option
	// rate_limit, charged only to verified deliveries. Zero means no
	// limit.
	RateLimit float64
	// ClientRateLimit bounds requests per second from one client address
	// to /hooks, verified or not (burst: as many). Zero means
	// DefaultClientRateLimit; negative means no bound.
	ClientRateLimit float64
	// MaxInFlightBytes bounds the request body bytes held at once;
	// requests past it get 503 with Retry-After. Zero means
	// DefaultMaxInFlightBytes; it is raised to MaxBodyBytes when smaller.
	MaxInFlightBytes int64
	// WorkerToken lets workers read payloads held by reference
	// (GET /admin/v1/payloads/{seq}) and apply DORA batches
	// (POST /admin/v1/dora/apply), and nothing else. Empty means only
	// the admin token reads them.
	WorkerToken string
	// Sources are the senders this server accepts, by name. Required.
	Sources map[string]hook.Source
	// Router says which blueprints take an event; events no blueprint
	// takes are journaled as ignored and answered 200. Required.
	Router *workflows.Router
	// Logger receives one line per delivery. Nil means slog.Default().
	Logger *slog.Logger
	// AdminToken guards /admin/v1. Empty disables the admin API.
	AdminToken string
	// SeparateAdmin keeps /admin/v1 and /metrics off the Server's own
	// handler (the public webhook listener): serve AdminHandler on another
	// listener. False serves them on both.
	SeparateAdmin bool
	// PublicURL is the base of the integration URLs the admin API shows
	// (http://host:port). Empty means http://127.0.0.1:8080.
	PublicURL string
	// MaxBodyBytes is the default body limit. Zero means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxBacklog is how many accepted-but-not-forwarded entries the
	// journal may hold before new deliveries get 503 with Retry-After
	// (and /readyz reports not ready). Zero means no bound.
	MaxBacklog int
	// Accepted, when set, is called after each accepted delivery is
	// journaled (the forwarder's wake-up).
	Accepted func()
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Metrics, when set, are updated and served on /metrics.
	Metrics *Metrics
	// Tracer traces each delivery (OpenTelemetry). Nil means no tracing.
	Tracer trace.Tracer
	// WorkflowStatus, when set, lets GET /admin/v1/stuck list the
	// workflows deliveries route to that ended without completing. Nil
	// leaves them out.
	WorkflowStatus WorkflowStatus
}

// Server is the ingress HTTP handler.
type Server struct {
	cfg      Config
	log      *slog.Logger
	handler  http.Handler
	cache    integrationCache
	limits   *limiters
	clients  clientLimits
	inflight *inflight
	refusals refusalBudget
	backlog  backlogGauge
	appends  appendHealth // health.go: /readyz answers 503 while appends fail
	bad      badTokens    // refused admin tokens, API and console login alike
	pipeline []stage
	// spanOpts start each delivery's span (built once: a variadic option
	// built per request was an allocation).
	spanOpts []trace.SpanStartOption
}

// New validates cfg and returns a Server. It does no I/O.
func New(cfg Config) (*Server, error) {
	if cfg.Journal == nil || cfg.Integrations == nil || cfg.Router == nil || len(cfg.Sources) == 0 {
		return nil, errors.New("ingress: Journal, Integrations, Router and Sources are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://127.0.0.1:8080"
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Tracer == nil {
		cfg.Tracer = noop.NewTracerProvider().Tracer("")
	}
	if cfg.ClientRateLimit == 0 {
		cfg.ClientRateLimit = DefaultClientRateLimit
	}
	if cfg.MaxInFlightBytes <= 0 {
		cfg.MaxInFlightBytes = DefaultMaxInFlightBytes
	}
	cfg.MaxInFlightBytes = max(cfg.MaxInFlightBytes, cfg.MaxBodyBytes)
	s := &Server{cfg: cfg, log: cfg.Logger, cache: integrationCache{store: cfg.Integrations, ttl: 2 * time.Second, now: cfg.Now},
		limits: newLimiters(cfg.RateLimit), clients: clientLimits{perSec: cfg.ClientRateLimit}, inflight: &inflight{max: cfg.MaxInFlightBytes}}
	s.pipeline = s.stages()
	s.spanOpts = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
	cfg.Metrics.watchInflight(s.inflight)
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, &hook.Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such endpoint"})
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, &hook.Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: "method not allowed", Hint: "deliveries are POSTed"})
	})
	r.Post("/hooks/{path}", s.receive)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", s.ready)
	if !cfg.SeparateAdmin {
		s.mountAdmin(r)
	}
	s.handler = r
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// AdminHandler serves the admin API (/admin/v1, when AdminToken is set),
// /metrics (when Metrics is set) and /healthz, for a listener of their
// own (Config.SeparateAdmin). Each call returns a new handler over the
// same Server.
func (s *Server) AdminHandler() http.Handler {
	r := chi.NewRouter()
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, &hook.Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such endpoint"})
	})
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mountAdmin(r)
	return r
}

// ready answers /readyz: 200 while the journal answers, its appends do
// not fail (a full disk) and its backlog is under MaxBacklog, 503
// otherwise (so a load balancer sends elsewhere).
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if ok, at, reason := s.appends.healthy(s.cfg.Now()); !ok {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "journal_append_failing", "reason": reason, "failed_at": at.UTC()})
		return
	}
	n, err := s.cfg.Journal.Backlog(r.Context())
	if err != nil {
		writeError(w, &hook.Error{Status: http.StatusServiceUnavailable, Code: "journal_unavailable", Message: "journal unavailable"})
		return
	}
	s.cfg.Metrics.setBacklog(n)
	if s.cfg.MaxBacklog > 0 && n >= s.cfg.MaxBacklog {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "backlog_full", "backlog": n, "max_backlog": s.cfg.MaxBacklog})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "backlog": n})
}

// backlogGauge estimates the journal's backlog without a query per
// request: it counts at most every 250 ms and adds local accepts between.
type backlogGauge struct {
	mu         sync.Mutex
	n          int
	checked    time.Time
	refreshing bool // a caller is counting
}

// get returns the estimate. When it is 250 ms old, the caller that finds
// it so counts again, without the lock, while the others go on with the
// estimate: counting a large backlog takes milliseconds (a Temporal outage
// of minutes), and every request used to wait for it.
func (b *backlogGauge) get(ctx context.Context, j journal.Journal, now time.Time, m *Metrics) int {
	b.mu.Lock()
	n, count := b.n, !b.refreshing && now.Sub(b.checked) >= 250*time.Millisecond
	if count {
		b.refreshing = true
	}
	b.mu.Unlock()
	if !count {
		return n
	}
	counted, err := j.Backlog(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refreshing = false
	if err != nil {
		return b.n // the next caller counts again
	}
	b.n, b.checked = counted, now
	m.setBacklog(counted)
	return counted
}

func (b *backlogGauge) add(n int) {
	b.mu.Lock()
	b.n += n
	b.mu.Unlock()
}

// answer is the body of every successful delivery response.
type answer struct {
	DeliveryID string `json:"delivery_id"`
	Status     string `json:"status"`
	Reason     string `json:"reason,omitempty"`
}

func acceptableMediaType(t string) bool {
	switch {
	case t == "", t == "application/json", t == "application/x-www-form-urlencoded", t == "text/plain":
		return true
	case strings.HasPrefix(t, "application/") && strings.HasSuffix(t, "+json"):
		return true
	}
	return false
}

func eventName(ev workflows.Event) string {
	// Some senders' types already end in the action (Bitbucket's
	// repo:push, Jira's jira:issue_created): don't say it twice.
	if ev.Action == "" || strings.HasSuffix(ev.Type, ev.Action) {
		return ev.Type
	}
	return ev.Type + "." + ev.Action
}

func asHookError(err error) *hook.Error {
	var e *hook.Error
	if errors.As(err, &e) {
		return e
	}
	return hook.BadRequest("invalid_delivery", "the delivery could not be parsed", "")
}

func writeError(w http.ResponseWriter, e *hook.Error) {
	writeJSON(w, e.Status, map[string]*hook.Error{"error": e})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// jsonContentType is shared by every answer (net/http never modifies a
// header slice it is given).
var jsonContentType = []string{"application/json"}

// integrationCache keeps path lookups off the database for a short TTL;
// the admin API invalidates it on changes made through this server.
type integrationCache struct {
	store *integrations.Store
	ttl   time.Duration
	now   func() time.Time

	mu      sync.Mutex
	entries map[string]cached
}

type cached struct {
	in      integrations.Integration
	err     error
	expires time.Time
}

// maxCachedPaths bounds the cache. Only paths of an integration's form are
// looked up at all (integrations.MaybePath), so an entry is at most a
// 32-byte key whatever a request sends.
const maxCachedPaths = 10000

func (c *integrationCache) byPath(ctx context.Context, path string) (integrations.Integration, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[path]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.in, e.err
	}
	in, err := c.store.ByPath(ctx, path)
	if err != nil && !errors.Is(err, integrations.ErrNotFound) {
		return in, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxCachedPaths {
		c.entries = map[string]cached{}
	}
	c.entries[path] = cached{in: in, err: err, expires: now.Add(c.ttl)}
	return in, err
}

func (c *integrationCache) invalidate() {
	c.mu.Lock()
	c.entries = nil
	c.mu.Unlock()
}
