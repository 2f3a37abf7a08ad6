// Package recoverytest gives recovery's tests, and the command's, what they
// run against: fakes of the senders' delivery records (GitHub's webhook
// deliveries API, GitLab's hook events and resend API) that really send,
// and redeliver, signed deliveries to a hook URL, and an ingress over a
// real SQLite journal that can be stopped and started again.
package recoverytest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"
)

// Outcome is what became of an attempt the fake recorded without sending
// it, as when the receiver was down.
type Outcome int

// Outcomes of Record.
const (
	// Unreachable: no connection (status_code 0, "failed to connect").
	Unreachable Outcome = iota
	// TimedOut: no answer within the deadline (status_code 0,
	// "timed out").
	TimedOut
	// Failed503: the receiver's load balancer answered 503.
	Failed503
	// RecordedOK: the sender recorded 200 OK, yet the journal lacks the
	// delivery (restored from an older backup).
	RecordedOK
)

// GitHubOptions configures a fake GitHub.
type GitHubOptions struct {
	// Token is the credential repository and organization hook calls
	// must carry (Authorization: Bearer or token).
	Token string
	// AppID and AppKey check the JWT the App's own hook calls carry.
	AppID  string
	AppKey *rsa.PublicKey
	// PerPage caps the page size below GitHub's 100, to make pages with
	// few deliveries. Zero means 100.
	PerPage int
}

// GitHub fakes the webhook delivery records of GitHub's REST API, as its
// description says: GET {hook}/deliveries (newest first, per_page up to
// 100, cursor pagination in the Link header, fields id, guid,
// delivered_at, redelivery, duration, status, status_code, event, action,
// installation_id, repository_id, throttled_at) and POST
// {hook}/deliveries/{id}/attempts (202, then the original payload is sent
// again, signed with the hook's current secret, same GUID, and recorded as
// a new attempt with redelivery true), for app, repos/O/R/hooks/ID and
// orgs/O/hooks/ID. Every answer carries X-RateLimit-* headers.
type GitHub struct {
	*httptest.Server
	opts GitHubOptions
	send *http.Client

	mu          sync.Mutex
	hooks       map[string]*ghHook
	nextID      int64
	redelivered []int64
	remaining   int
	refused     int
	limitUntil  time.Time
	inflight    sync.WaitGroup
}

type ghHook struct {
	path, url, secret string
	id                int64
	attempts          []*ghAttempt
}

type ghAttempt struct {
	ID          int64     `json:"id"`
	GUID        string    `json:"guid"`
	DeliveredAt time.Time `json:"delivered_at"`
	Redelivery  bool      `json:"redelivery"`
	Duration    float64   `json:"duration"`
	Status      string    `json:"status"`
	StatusCode  int       `json:"status_code"`
	Event       string    `json:"event"`
	Action      *string   `json:"action"`
	// InstallationID and RepositoryID are null for hooks without them.
	InstallationID *int64  `json:"installation_id"`
	RepositoryID   *int64  `json:"repository_id"`
	ThrottledAt    *string `json:"throttled_at"`

	payload []byte
}

// NewGitHub starts a fake GitHub, closed when the test ends.
func NewGitHub(t testing.TB, opts GitHubOptions) *GitHub {
	t.Helper()
	if opts.PerPage <= 0 || opts.PerPage > 100 {
		opts.PerPage = 100
	}
	g := &GitHub{opts: opts, hooks: map[string]*ghHook{}, nextID: 1000, send: &http.Client{Timeout: 10 * time.Second}}
	mux := http.NewServeMux()
	for _, prefix := range []string{"/repos/{owner}/{repo}/hooks/{hook}", "/orgs/{org}/hooks/{hook}", "/app/hook"} {
		mux.HandleFunc("GET "+prefix+"/deliveries", g.list)
		mux.HandleFunc("POST "+prefix+"/deliveries/{delivery}/attempts", g.redeliver)
	}
	g.Server = httptest.NewServer(g.limits(mux))
	t.Cleanup(func() { g.Wait(); g.Close() })
	return g
}

// AddHook adds a hook at path ("app", "repos/o/r/hooks/1", "orgs/o/hooks/2")
// that sends to url, signed with secret.
func (g *GitHub) AddHook(path, url, secret string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	id := int64(1)
	if i := strings.LastIndex(path, "/"); i >= 0 {
		id, _ = strconv.ParseInt(path[i+1:], 10, 64)
	}
	g.hooks[path] = &ghHook{path: path, url: url, secret: secret, id: id}
}

// SetSecret changes the secret hook path signs with from now on.
func (g *GitHub) SetSecret(path, secret string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hooks[path].secret = secret
}

// Deliver sends an event to the hook now, as GitHub does when it happens,
// records the attempt with the receiver's answer, and returns its GUID.
func (g *GitHub) Deliver(path, event, action string, payload []byte) string {
	guid := newGUID()
	g.attempt(path, guid, event, action, payload, false)
	return guid
}

// Record records an attempt of a new delivery that was never received,
// without sending anything, and returns its GUID.
func (g *GitHub) Record(path, event, action string, payload []byte, o Outcome) string {
	guid := newGUID()
	a := &ghAttempt{GUID: guid, Event: event, payload: payload, DeliveredAt: time.Now().UTC().Truncate(time.Second)}
	switch o {
	case Unreachable:
		a.Status, a.Duration = "failed to connect to host", 0.01
	case TimedOut:
		a.Status, a.Duration = "timed out", 10
	case Failed503:
		a.Status, a.StatusCode, a.Duration = "Invalid HTTP Response: 503", 503, 0.05
	case RecordedOK:
		a.Status, a.StatusCode, a.Duration = "OK", 200, 0.04
	}
	g.add(path, a, action)
	return guid
}

func (g *GitHub) add(path string, a *ghAttempt, action string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	h := g.hooks[path]
	if h == nil {
		panic("recoverytest: no hook " + path)
	}
	g.nextID++
	a.ID = g.nextID
	if action != "" {
		a.Action = &action
	}
	if path != "app" {
		rid := int64(4242)
		a.RepositoryID = &rid
	} else {
		inst := int64(77)
		a.InstallationID = &inst
	}
	h.attempts = append(h.attempts, a)
}

// attempt sends one attempt to the hook and records it.
func (g *GitHub) attempt(path, guid, event, action string, payload []byte, redelivery bool) {
	g.mu.Lock()
	h := g.hooks[path]
	url, secret, hookID := h.url, h.secret, h.id
	g.mu.Unlock()
	start := time.Now()
	a := &ghAttempt{GUID: guid, Event: event, Redelivery: redelivery, payload: payload, DeliveredAt: start.UTC().Truncate(time.Second)}
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/044aadd")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", guid)
	req.Header.Set("X-GitHub-Hook-ID", strconv.FormatInt(hookID, 10))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(payload)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	resp, err := g.send.Do(req)
	a.Duration = time.Since(start).Seconds()
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		a.Status = "timed out"
	case err != nil:
		a.Status = "failed to connect to host"
	default:
		resp.Body.Close()
		a.StatusCode = resp.StatusCode
		a.Status = "OK"
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			a.Status = fmt.Sprintf("Invalid HTTP Response: %d", resp.StatusCode)
		}
	}
	g.add(path, a, action)
}

// Redelivered returns the attempt IDs redeliveries were asked for, in
// order.
func (g *GitHub) Redelivered() []int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.redelivered)
}

// GUIDs returns the GUIDs of hook path's deliveries, one each, oldest
// first.
func (g *GitHub) GUIDs(path string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for _, a := range g.hooks[path].attempts {
		if !slices.Contains(out, a.GUID) {
			out = append(out, a.GUID)
		}
	}
	return out
}

// GUIDOf returns the GUID of attempt id.
func (g *GitHub) GUIDOf(id int64) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, h := range g.hooks {
		for _, a := range h.attempts {
			if a.ID == id {
				return a.GUID
			}
		}
	}
	return ""
}

// Wait waits for the redeliveries asked for to be sent.
func (g *GitHub) Wait() { g.inflight.Wait() }

// RateLimitAfter leaves n calls in the primary rate limit until reset:
// each answer's X-RateLimit-Remaining counts down, and once it is 0 every
// call is answered 403 until reset, when the limit is whole again, as
// GitHub does.
func (g *GitHub) RateLimitAfter(n int, reset time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	// GitHub's X-RateLimit-Reset is in whole seconds.
	g.remaining, g.limitUntil = n, reset.Truncate(time.Second)
}

// Refused counts the calls answered 403 because the rate limit was spent.
func (g *GitHub) Refused() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refused
}

// limits adds GitHub's rate-limit headers and answers 403 while the
// limit is spent.
func (g *GitHub) limits(next http.Handler) http.Handler {
	const limit = 5000
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		now := time.Now()
		if g.limitUntil.IsZero() || !now.Before(g.limitUntil) {
			g.remaining, g.limitUntil = limit, now.Add(time.Hour).Truncate(time.Second)
		}
		spent := g.remaining == 0
		if spent {
			g.refused++
		} else {
			g.remaining--
		}
		remaining, reset := g.remaining, g.limitUntil
		g.mu.Unlock()
		h := w.Header()
		h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("X-RateLimit-Used", strconv.Itoa(limit-remaining))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		h.Set("X-RateLimit-Resource", "core")
		h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
		if spent {
			writeJSON(w, http.StatusForbidden, map[string]string{"message": "API rate limit exceeded for user ID 1.",
				"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hookOf authenticates r and returns its hook, or answers as GitHub does.
func (g *GitHub) hookOf(w http.ResponseWriter, r *http.Request) *ghHook {
	path := "app"
	switch {
	case r.PathValue("repo") != "":
		path = fmt.Sprintf("repos/%s/%s/hooks/%s", r.PathValue("owner"), r.PathValue("repo"), r.PathValue("hook"))
	case r.PathValue("org") != "":
		path = fmt.Sprintf("orgs/%s/hooks/%s", r.PathValue("org"), r.PathValue("hook"))
	}
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		tok, _ = strings.CutPrefix(auth, "token ")
	}
	if !g.authorized(path, tok) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"})
		return nil
	}
	g.mu.Lock()
	h := g.hooks[path]
	g.mu.Unlock()
	if h == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": "https://docs.github.com/rest/repos/webhooks#list-deliveries-for-a-repository-webhook", "status": "404"})
	}
	return h
}

func (g *GitHub) authorized(path, tok string) bool {
	if path != "app" {
		return tok != "" && tok == g.opts.Token
	}
	if g.opts.AppKey == nil {
		return false
	}
	var claims jwt.RegisteredClaims
	_, err := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"})).ParseWithClaims(tok, &claims, func(*jwt.Token) (any, error) { return g.opts.AppKey, nil })
	return err == nil && claims.Issuer == g.opts.AppID && claims.ExpiresAt != nil && claims.IssuedAt != nil &&
		claims.ExpiresAt.Sub(claims.IssuedAt.Time) <= 10*time.Minute
}

func (g *GitHub) list(w http.ResponseWriter, r *http.Request) {
	h := g.hookOf(w, r)
	if h == nil {
		return
	}
	q := r.URL.Query()
	per := 30
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "Validation Failed"})
			return
		}
		per = min(n, 100)
	}
	per = min(per, g.opts.PerPage)
	var before int64 = 1 << 62
	if c := q.Get("cursor"); c != "" {
		n, err := strconv.ParseInt(strings.TrimPrefix(c, "v1_"), 10, 64)
		if err != nil || !strings.HasPrefix(c, "v1_") {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "Invalid cursor"})
			return
		}
		before = n
	}
	g.mu.Lock()
	var page []*ghAttempt
	more := false
	for i := len(h.attempts) - 1; i >= 0; i-- { // newest first
		a := h.attempts[i]
		if a.ID >= before {
			continue
		}
		if s := q.Get("status"); (s == "success" && a.Status != "OK") || (s == "failure" && a.Status == "OK") {
			continue
		}
		if len(page) == per {
			more = true
			break
		}
		page = append(page, a)
	}
	g.mu.Unlock()
	if more {
		next := *r.URL
		nq := next.Query()
		nq.Set("per_page", strconv.Itoa(per))
		nq.Set("cursor", fmt.Sprintf("v1_%d", page[len(page)-1].ID))
		next.RawQuery = nq.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, g.URL, next.RequestURI()))
	}
	if page == nil {
		page = []*ghAttempt{}
	}
	writeJSON(w, http.StatusOK, page)
}

func (g *GitHub) redeliver(w http.ResponseWriter, r *http.Request) {
	h := g.hookOf(w, r)
	if h == nil {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("delivery"), 10, 64)
	g.mu.Lock()
	var orig *ghAttempt
	for _, a := range h.attempts {
		if a.ID == id {
			orig = a
		}
	}
	if orig != nil {
		g.redelivered = append(g.redelivered, id)
		g.inflight.Add(1)
	}
	path := h.path
	g.mu.Unlock()
	if orig == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": "https://docs.github.com/rest/repos/webhooks#redeliver-a-delivery-for-a-repository-webhook"})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{})
	action := ""
	if orig.Action != nil {
		action = *orig.Action
	}
	go func() {
		defer g.inflight.Done()
		time.Sleep(5 * time.Millisecond) // after the 202, as GitHub does
		g.attempt(path, orig.GUID, orig.Event, action, orig.payload, true)
	}()
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func newGUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
