package recoverytest

import (
	"bytes"
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
)

// GitLabOptions configures a fake GitLab.
type GitLabOptions struct {
	// Token is the PRIVATE-TOKEN every call must carry.
	Token string
	// PerPage caps the page size below GitLab's 100. Zero means 100.
	PerPage int
	// ResendsPerMinute is the resend limit per project or group and
	// user, as GitLab's web_hook_event_resend limit. Zero means none.
	ResendsPerMinute int
}

// GitLab fakes GitLab's hook events API under /api/v4, as its
// documentation and API::Entities::WebHookLog describe it: GET
// {hook}/events (newest first, page and per_page, Link and X-Next-Page
// headers, fields id, url, trigger, request_headers, request_data,
// response_headers, response_body, execution_duration, response_status,
// created_at) and POST {hook}/events/{id}/resend (the recorded payload is
// sent again at once with the same Idempotency-Key and recorded as a new
// event; 201), for projects/ID/hooks/ID and groups/ID/hooks/ID; past
// ResendsPerMinute a resend is answered 429 with Retry-After.
type GitLab struct {
	*httptest.Server
	opts GitLabOptions
	send *http.Client

	mu      sync.Mutex
	hooks   map[string]*glHook
	nextID  int64
	resent  []int64
	resends map[string][]time.Time
}

type glHook struct {
	path, url, token, uuid string
	events                 []*glEvent
}

type glEvent struct {
	ID                int64             `json:"id"`
	URL               string            `json:"url"`
	Trigger           string            `json:"trigger"`
	RequestHeaders    map[string]string `json:"request_headers"`
	RequestData       json.RawMessage   `json:"request_data"`
	ResponseHeaders   map[string]string `json:"response_headers"`
	ResponseBody      string            `json:"response_body"`
	ExecutionDuration float64           `json:"execution_duration"`
	ResponseStatus    string            `json:"response_status"`
	CreatedAt         time.Time         `json:"created_at"`

	kind string
}

// NewGitLab starts a fake GitLab, closed when the test ends.
func NewGitLab(t testing.TB, opts GitLabOptions) *GitLab {
	t.Helper()
	if opts.PerPage <= 0 || opts.PerPage > 100 {
		opts.PerPage = 100
	}
	g := &GitLab{opts: opts, hooks: map[string]*glHook{}, nextID: 500, resends: map[string][]time.Time{},
		send: &http.Client{Timeout: 10 * time.Second}}
	mux := http.NewServeMux()
	for _, kind := range []string{"projects", "groups"} {
		mux.HandleFunc("GET /api/v4/"+kind+"/{parent}/hooks/{hook}/events", g.list)
		mux.HandleFunc("POST /api/v4/"+kind+"/{parent}/hooks/{hook}/events/{event}/resend", g.resend)
	}
	g.Server = httptest.NewServer(mux)
	t.Cleanup(g.Close)
	return g
}

// APIURL is the fake's API root, for clients' BaseURL.
func (g *GitLab) APIURL() string { return g.URL + "/api/v4" }

// AddHook adds a hook at path ("projects/15/hooks/3", "groups/7/hooks/1")
// that sends to url with X-Gitlab-Token token.
func (g *GitLab) AddHook(path, url, token string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hooks[path] = &glHook{path: path, url: url, token: token, uuid: newGUID()}
}

// Deliver sends an event of kind (push, merge_request, ...) to the hook
// now, records it with the receiver's answer, and returns its
// Idempotency-Key.
func (g *GitLab) Deliver(path, kind string, payload []byte) string {
	key := newGUID()
	g.attempt(path, key, kind, payload)
	return key
}

// Record records an event of a new delivery that was never received,
// without sending it, and returns its Idempotency-Key. GitLab records a
// timeout or a refused connection as "internal error".
func (g *GitLab) Record(path, kind string, payload []byte, o Outcome) string {
	key := newGUID()
	g.mu.Lock()
	h := g.hooks[path]
	g.mu.Unlock()
	e := &glEvent{kind: kind, RequestData: payload, RequestHeaders: g.headers(h, key, kind, "[REDACTED]"), ResponseHeaders: map[string]string{}}
	switch o {
	case Unreachable, TimedOut:
		e.ResponseStatus, e.ResponseBody = "internal error", "Failed to open TCP connection"
	case Failed503:
		e.ResponseStatus, e.ResponseBody = "503", "Service Unavailable"
	case RecordedOK:
		e.ResponseStatus, e.ResponseBody = "200", "{}"
	}
	g.add(h, e)
	return key
}

// Resent returns the event IDs resends were asked for, in order.
func (g *GitLab) Resent() []int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.resent)
}

// Keys returns the Idempotency-Keys of hook path's events, one each,
// oldest first.
func (g *GitLab) Keys(path string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for _, e := range g.hooks[path].events {
		if k := e.RequestHeaders["Idempotency-Key"]; !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

func (g *GitLab) headers(h *glHook, key, kind, token string) map[string]string {
	return map[string]string{
		"Content-Type": "application/json", "User-Agent": "GitLab/17.6.0", "Idempotency-Key": key,
		"X-Gitlab-Event": hookName(kind), "X-Gitlab-Webhook-UUID": h.uuid, "X-Gitlab-Instance": "https://gitlab.example.com",
		"X-Gitlab-Event-UUID": newGUID(), "X-Gitlab-Token": token,
	}
}

func (g *GitLab) add(h *glHook, e *glEvent) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.nextID++
	e.ID, e.URL, e.Trigger, e.CreatedAt = g.nextID, h.url, e.kind+"_hooks", time.Now().UTC().Truncate(time.Millisecond)
	h.events = append(h.events, e)
}

func (g *GitLab) attempt(path, key, kind string, payload []byte) {
	g.mu.Lock()
	h := g.hooks[path]
	g.mu.Unlock()
	sent := g.headers(h, key, kind, h.token)
	req, _ := http.NewRequest(http.MethodPost, h.url, bytes.NewReader(payload))
	for k, v := range sent {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := g.send.Do(req)
	sent["X-Gitlab-Token"] = "[REDACTED]"
	e := &glEvent{kind: kind, RequestData: payload, RequestHeaders: sent, ResponseHeaders: map[string]string{}, ExecutionDuration: time.Since(start).Seconds()}
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		e.ResponseStatus, e.ResponseBody = "internal error", "Net::ReadTimeout"
	case err != nil:
		e.ResponseStatus, e.ResponseBody = "internal error", "Failed to open TCP connection"
	default:
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		resp.Body.Close()
		e.ResponseStatus, e.ResponseBody = strconv.Itoa(resp.StatusCode), body.String()
		e.ResponseHeaders["Content-Type"] = resp.Header.Get("Content-Type")
	}
	g.add(h, e)
}

// hookOf authenticates r and returns its hook, or answers as GitLab does.
func (g *GitLab) hookOf(w http.ResponseWriter, r *http.Request) *glHook {
	if tok := r.Header.Get("PRIVATE-TOKEN"); tok == "" || tok != g.opts.Token {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "401 Unauthorized"})
		return nil
	}
	kind, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/api/v4/"), "/")
	path := fmt.Sprintf("%s/%s/hooks/%s", kind, r.PathValue("parent"), r.PathValue("hook"))
	g.mu.Lock()
	h := g.hooks[path]
	g.mu.Unlock()
	if h == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Not found"})
	}
	return h
}

func (g *GitLab) list(w http.ResponseWriter, r *http.Request) {
	h := g.hookOf(w, r)
	if h == nil {
		return
	}
	q := r.URL.Query()
	per, page := 20, 1
	if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 {
		per = min(v, 100)
	}
	per = min(per, g.opts.PerPage)
	if v, err := strconv.Atoi(q.Get("page")); err == nil && v > 0 {
		page = v
	}
	g.mu.Lock()
	all := slices.Clone(h.events)
	g.mu.Unlock()
	slices.Reverse(all) // newest first
	from := min((page-1)*per, len(all))
	to := min(from+per, len(all))
	out := all[from:to]
	hd := w.Header()
	hd.Set("X-Page", strconv.Itoa(page))
	hd.Set("X-Per-Page", strconv.Itoa(per))
	hd.Set("X-Total", strconv.Itoa(len(all)))
	link := func(p int, rel string) string {
		u := *r.URL
		nq := u.Query()
		nq.Set("page", strconv.Itoa(p))
		nq.Set("per_page", strconv.Itoa(per))
		u.RawQuery = nq.Encode()
		return fmt.Sprintf(`<%s%s>; rel="%s"`, g.URL, u.RequestURI(), rel)
	}
	links := []string{link(1, "first")}
	if to < len(all) {
		hd.Set("X-Next-Page", strconv.Itoa(page+1))
		links = append(links, link(page+1, "next"))
	} else {
		hd.Set("X-Next-Page", "")
	}
	hd.Set("Link", strings.Join(links, ", "))
	writeJSON(w, http.StatusOK, out)
}

func (g *GitLab) resend(w http.ResponseWriter, r *http.Request) {
	h := g.hookOf(w, r)
	if h == nil {
		return
	}
	parent := strings.TrimSuffix(h.path, "/hooks/"+r.PathValue("hook"))
	if n := g.opts.ResendsPerMinute; n > 0 {
		g.mu.Lock()
		now := time.Now()
		recent := slices.DeleteFunc(g.resends[parent], func(t time.Time) bool { return now.Sub(t) > time.Minute })
		limited := len(recent) >= n
		if !limited {
			recent = append(recent, now)
		}
		g.resends[parent] = recent
		g.mu.Unlock()
		if limited {
			w.Header().Set("Retry-After", "60")
			writeJSON(w, http.StatusTooManyRequests, map[string]any{"message": map[string]string{"error": "This endpoint has been requested too many times. Try again later."}})
			return
		}
	}
	id, _ := strconv.ParseInt(r.PathValue("event"), 10, 64)
	g.mu.Lock()
	var orig *glEvent
	for _, e := range h.events {
		if e.ID == id {
			orig = e
		}
	}
	if orig != nil {
		g.resent = append(g.resent, id)
	}
	g.mu.Unlock()
	if orig == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "404 Not found"})
		return
	}
	g.attempt(h.path, orig.RequestHeaders["Idempotency-Key"], orig.kind, orig.RequestData)
	writeJSON(w, http.StatusCreated, map[string]any{"response_status": 201})
}

// hookName is the X-Gitlab-Event of an event kind.
func hookName(kind string) string {
	words := strings.Split(kind, "_")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ") + " Hook"
}
