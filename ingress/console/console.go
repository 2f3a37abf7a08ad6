// Package console is Hookflow's delivery console: server-rendered HTML
// pages under /console over the ingress's own operations (the same ones
// the admin API calls), readable without JavaScript. It depends only on
// the Backend interface, which *ingress.Server satisfies; cmd/hookflow
// mounts it beside the admin API.
//
// Every page but the login page and the static assets needs a session.
// A session is opened by signing in with the admin token (role admin); it
// lives in the Handler value, behind an HttpOnly, SameSite=Strict cookie.
// Sessions carry a role (viewer, operator, admin) so that single sign-on
// can map its users to one; that sign-in is not built yet. Every form
// carries the session's CSRF token; every state-changing action is
// recorded in the admin audit log.
package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hookflow/hookflow/ingress/apikeys"
	"github.com/hookflow/hookflow/ingress/dorametrics"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/journal"
)

// Prefix is where the console is served.
const Prefix = "/console"

// Backend is what the console needs of the ingress: its operations, each
// also behind an admin API endpoint. Errors the user can fix are
// *hook.Error values; their Message is shown.
type Backend interface {
	// CheckAdminToken compares token with the admin token, slowing down
	// refusals as the admin API does.
	CheckAdminToken(ctx context.Context, token string) bool
	Deliveries(ctx context.Context, f journal.Filter) ([]journal.Entry, error)
	Delivery(ctx context.Context, seq int64) (journal.Entry, error)
	Replay(ctx context.Context, seq int64, asNew bool) (journal.Entry, error)
	Integrations(ctx context.Context) ([]integrations.Integration, error)
	IntegrationURL(in integrations.Integration) string
	SourceNames() []string
	CreateIntegration(ctx context.Context, name, source, secret string, options map[string]string) (integrations.Integration, error)
	RotateIntegration(ctx context.Context, id, secret string, overlap time.Duration) (integrations.Integration, error)
	DeleteIntegration(ctx context.Context, id string) error
	Keys(ctx context.Context, integration string) ([]apikeys.Key, error)
	CreateKey(ctx context.Context, integration, name string, ttl time.Duration, scopes []string) (apikeys.Key, string, error)
	RevokeKey(ctx context.Context, id string) error
	Pause(ctx context.Context, kind journal.PauseKind, id, reason string) (int, error)
	Resume(ctx context.Context, kind journal.PauseKind, id string) (int, error)
	Paused(ctx context.Context) ([]journal.Pause, error)
	Stuck(ctx context.Context, q journal.StuckQuery) (journal.StuckReport, error)
	RecordAudit(ctx context.Context, r journal.AuditRecord)
	// DORAReport computes the DORA metrics of a window; an ingress
	// without DORA tables answers a *hook.Error.
	DORAReport(ctx context.Context, q dorametrics.Query) (dorametrics.Report, error)
	AuditLog(ctx context.Context, f journal.AuditFilter) ([]journal.AuditRecord, error)
}

// Blueprint is an enabled blueprint as the console shows it.
type Blueprint struct {
	Name        string
	Description string
	// Subscriptions describe, one line each, the events it takes and the
	// workflow IDs they go to.
	Subscriptions []string
	// Integrations and Sources restrict it; empty means all.
	Integrations []string
	Sources      []string
	// Settings are its effective settings, rendered (YAML); empty when it
	// has none.
	Settings string
}

// Config configures a Handler.
type Config struct {
	// Backend is the ingress. Required.
	Backend Backend
	// TemporalUIURL is the Temporal Web UI's root, for links to each
	// workflow (http://127.0.0.1:8233). Empty leaves the links out.
	TemporalUIURL string
	// Namespace is the Temporal namespace of the links. Empty means
	// "default".
	Namespace string
	// Blueprints are the enabled blueprints, for their page.
	Blueprints []Blueprint
	// SessionTTL is how long a session lasts after sign-in. Zero means
	// 8 hours.
	SessionTTL time.Duration
	// SecureCookies marks the cookies Secure (only sent over HTTPS).
	// False sets Secure only on requests that arrived over TLS.
	SecureCookies bool
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger receives errors. Nil means slog.Default().
	Logger *slog.Logger
}

// Role is what a console user may do. Each role may do what the ones
// before it may.
type Role string

// Roles.
const (
	// Viewer reads every page.
	Viewer Role = "viewer"
	// Operator also replays deliveries and pauses and resumes entities.
	Operator Role = "operator"
	// Admin also creates, rotates and deletes integrations and API keys.
	Admin Role = "admin"
)

func (r Role) rank() int {
	switch r {
	case Viewer:
		return 1
	case Operator:
		return 2
	case Admin:
		return 3
	}
	return 0
}

// allows reports whether r may do what need may.
func (r Role) allows(need Role) bool { return r.rank() >= need.rank() && r.rank() > 0 }

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Handler serves the console. Create it with New.
type Handler struct {
	cfg      Config
	log      *slog.Logger
	mux      *http.ServeMux
	pages    map[string]*template.Template
	sessions sessionStore
}

var _ http.Handler = (*Handler)(nil)

// New validates cfg and returns the console. It does no I/O.
func New(cfg Config) (*Handler, error) {
	if cfg.Backend == nil {
		return nil, errors.New("console: Backend is required")
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 8 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.TemporalUIURL = strings.TrimSuffix(cfg.TemporalUIURL, "/")
	h := &Handler{cfg: cfg, log: cfg.Logger, sessions: sessionStore{m: map[string]*session{}}}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	h.pages = pages
	h.routes()
	return h, nil
}

func (h *Handler) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET "+Prefix+"/static/", http.StripPrefix(Prefix+"/static/", http.FileServerFS(static)))
	m.HandleFunc("GET "+Prefix+"/login", h.loginPage)
	m.HandleFunc("POST "+Prefix+"/login", h.login)
	view := func(pattern string, f func(http.ResponseWriter, *http.Request, *session)) {
		m.Handle("GET "+Prefix+pattern, h.authed(Viewer, f))
	}
	act := func(pattern string, need Role, f func(http.ResponseWriter, *http.Request, *session)) {
		m.Handle("POST "+Prefix+pattern, h.authed(need, h.csrf(f)))
	}
	view("/{$}", func(w http.ResponseWriter, r *http.Request, _ *session) {
		http.Redirect(w, r, Prefix+"/deliveries", http.StatusSeeOther)
	})
	m.Handle("GET "+Prefix, http.RedirectHandler(Prefix+"/deliveries", http.StatusSeeOther))
	act("/logout", Viewer, h.logout)
	view("/deliveries", h.deliveries)
	view("/deliveries/{seq}", h.delivery)
	act("/deliveries/{seq}/replay", Operator, h.replay)
	view("/integrations", h.integrationsPage)
	act("/integrations", Admin, h.createIntegration)
	act("/integrations/{id}/rotate", Admin, h.rotateIntegration)
	act("/integrations/{id}/delete", Admin, h.deleteIntegration)
	view("/keys", h.keysPage)
	act("/keys", Admin, h.createKey)
	act("/keys/{id}/revoke", Admin, h.revokeKey)
	view("/blueprints", h.blueprintsPage)
	view("/entities", h.entitiesPage)
	act("/entities/pause", Operator, h.pause)
	act("/entities/resume", Operator, h.resume)
	view("/audit", h.auditPage)
	view("/dora", h.doraPage)
	view("/dora.svg", h.doraChart)
	view("/chart.svg", h.chart)
	h.mux = m
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	// No script runs, nothing is framed, and nothing leaves but links.
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	if !strings.HasPrefix(r.URL.Path, Prefix+"/static/") {
		hd.Set("Cache-Control", "no-store")
	}
	h.mux.ServeHTTP(w, r)
}

// session is one signed-in user.
type session struct {
	user    string
	role    Role
	csrf    string
	expires time.Time
}

// sessionStore keeps sessions by the SHA-256 of their cookie, so that a
// heap dump does not hand out live cookies.
type sessionStore struct {
	mu sync.Mutex
	m  map[string]*session
}

// maxSessions bounds the store; the oldest-expiring go first.
const maxSessions = 10000

func cookieKey(v string) string {
	sum := sha256.Sum256([]byte(v))
	return string(sum[:])
}

func (s *sessionStore) open(user string, role Role, now time.Time, ttl time.Duration) (cookie string, _ *session) {
	cookie = randomString(32)
	ss := &session{user: user, role: role, csrf: randomString(32), expires: now.Add(ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.m {
		if !now.Before(v.expires) {
			delete(s.m, k)
		}
	}
	if len(s.m) >= maxSessions {
		var oldest string
		for k, v := range s.m {
			if oldest == "" || v.expires.Before(s.m[oldest].expires) {
				oldest = k
			}
		}
		delete(s.m, oldest)
	}
	s.m[cookieKey(cookie)] = ss
	return cookie, ss
}

func (s *sessionStore) get(cookie string, now time.Time) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.m[cookieKey(cookie)]
	if !ok {
		return nil
	}
	if !now.Before(ss.expires) {
		delete(s.m, cookieKey(cookie))
		return nil
	}
	return ss
}

func (s *sessionStore) close(cookie string) {
	s.mu.Lock()
	delete(s.m, cookieKey(cookie))
	s.mu.Unlock()
}

const (
	sessionCookie = "hookflow_session"
	// loginCookie carries the login form's CSRF token (double submit):
	// there is no session yet to hold it.
	loginCookie = "hookflow_login"
)

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("console: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: h.cfg.SecureCookies || r.TLS != nil})
}

// authed runs f for a signed-in user whose role allows need. A GET
// without a session is sent to the login page; anything else is refused.
func (h *Handler) authed(need Role, f func(http.ResponseWriter, *http.Request, *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ss *session
		if c, err := r.Cookie(sessionCookie); err == nil {
			ss = h.sessions.get(c.Value, h.cfg.Now())
		}
		if ss == nil {
			if r.Method == http.MethodGet {
				next := r.URL.Path
				if r.URL.RawQuery != "" {
					next += "?" + r.URL.RawQuery
				}
				http.Redirect(w, r, Prefix+"/login?next="+urlQueryEscape(next), http.StatusSeeOther)
				return
			}
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		if !ss.role.allows(need) {
			h.render(w, r, ss, http.StatusForbidden, "error", "Not allowed", errorData{Message: "Your role (" + string(ss.role) + ") may not do this; it needs " + string(need) + "."})
			return
		}
		f(w, r, ss)
	})
}

// csrf refuses a form whose csrf field is not the session's token.
func (h *Handler) csrf(f func(http.ResponseWriter, *http.Request, *session)) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, ss *session) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(ss.csrf)) != 1 {
			h.render(w, r, ss, http.StatusForbidden, "error", "Form expired", errorData{Message: "The form's security token is missing or wrong. Go back, reload the page and try again."})
			return
		}
		f(w, r, ss)
	}
}

// audit records a console action of ss.
func (h *Handler) audit(r *http.Request, ss *session, action, target, detail string) {
	h.cfg.Backend.RecordAudit(r.Context(), journal.AuditRecord{Actor: ss.user, Role: string(ss.role), Via: "console", Action: action, Target: target, Detail: detail})
}
