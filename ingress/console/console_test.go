package console_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress"
	"github.com/hookflow/hookflow/ingress/apikeys"
	"github.com/hookflow/hookflow/ingress/console"
	"github.com/hookflow/hookflow/ingress/dorametrics"
	ghsrc "github.com/hookflow/hookflow/ingress/github"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/internal/secretbox"
	"github.com/hookflow/hookflow/workflows"
)

var _ console.Backend = (*ingress.Server)(nil)

const adminToken = "console-test-admin-token-0123456789abcdef"

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	srv     *httptest.Server
	con     *console.Handler
	journal journal.Journal
	store   *integrations.Store
	dora    *dorametrics.Store
	in      integrations.Integration
	clock   *clock
}

// newFixture serves a real ingress (SQLite journal) with the console
// mounted as cmd/hookflow mounts it.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "hookflow.db"))
	require.NoError(t, err)
	j, err := journal.OpenSQLite(ctx, db)
	require.NoError(t, err)
	box, err := secretbox.New(bytes.Repeat([]byte{1}, secretbox.KeySize))
	require.NoError(t, err)
	store, err := integrations.OpenStore(ctx, db, box)
	require.NoError(t, err)
	in, err := store.Create(ctx, integrations.Integration{Name: "gh", Source: "github", Secrets: []integrations.Secret{{Value: []byte("existing-secret-0123456789")}}})
	require.NoError(t, err)
	keys, err := apikeys.OpenStore(ctx, db)
	require.NoError(t, err)
	dora, err := dorametrics.OpenStore(ctx, db)
	require.NoError(t, err)
	clk := &clock{t: time.Now()}
	rt := workflows.NewRouter(workflows.Subscription{Blueprint: "t", Workflow: "T", TaskQueue: "q", Route: func(ev workflows.Event) string {
		return "t/pr/" + ev.Key(workflows.KeyPullRequest)
	}})
	srv, err := ingress.New(ingress.Config{Journal: j, Integrations: store, APIKeys: keys, Router: rt, DORA: dora,
		Sources: map[string]hook.Source{"github": ghsrc.Source{}}, AdminToken: adminToken,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	con, err := console.New(console.Config{Backend: srv, TemporalUIURL: "http://ui.example:8233", Now: clk.now,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Blueprints: []console.Blueprint{{Name: "t", Description: "a test blueprint", Subscriptions: []string{"github pull_request → t/pr/<n>"}, Settings: "quiet: 5m\n"}}})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle(console.Prefix+"/", con)
	mux.Handle(console.Prefix, con)
	mux.Handle("/", srv)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() { hs.Close(); j.Close(); db.Close() })
	return &fixture{srv: hs, con: con, journal: j, store: store, dora: dora, in: in, clock: clk}
}

// browser is a client that keeps cookies and does not follow redirects.
type browser struct {
	t    *testing.T
	c    *http.Client
	base string
}

func (f *fixture) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: f.srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	code     int
	body     string
	location string
	header   http.Header
}

func (b *browser) get(path string) answer {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	require.NoError(b.t, err)
	return read(b.t, resp)
}

func (b *browser) post(path string, form url.Values) answer {
	b.t.Helper()
	resp, err := b.c.PostForm(b.base+path, form)
	require.NoError(b.t, err)
	return read(b.t, resp)
}

func read(t *testing.T, resp *http.Response) answer {
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{code: resp.StatusCode, body: string(body), location: resp.Header.Get("Location"), header: resp.Header}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, html string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(html)
	require.NotNil(t, m, "no csrf field in:\n%s", html)
	return m[1]
}

// login signs in with token and returns the session's CSRF token.
func (b *browser) login(token string) (answer, string) {
	b.t.Helper()
	page := b.get("/console/login")
	require.Equal(b.t, http.StatusOK, page.code)
	a := b.post("/console/login", url.Values{"csrf": {csrfOf(b.t, page.body)}, "token": {token}, "next": {"/console/deliveries"}})
	if a.code != http.StatusSeeOther {
		return a, ""
	}
	d := b.get("/console/deliveries")
	require.Equal(b.t, http.StatusOK, d.code, d.body)
	return a, csrfOf(b.t, d.body)
}

var pages = []string{"/console/", "/console", "/console/deliveries", "/console/deliveries/1", "/console/integrations", "/console/keys",
	"/console/blueprints", "/console/entities", "/console/audit", "/console/chart.svg", "/console/dora", "/console/dora.svg", "/console/deliveries?status=failed"}

var actions = []string{"/console/logout", "/console/deliveries/1/replay", "/console/integrations", "/console/integrations/x/rotate",
	"/console/integrations/x/delete", "/console/keys", "/console/keys/x/revoke", "/console/entities/pause", "/console/entities/resume"}

func TestUnauthenticatedIsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := f.browser(t)
	for _, p := range pages {
		a := b.get(p)
		if p == "/console" {
			require.Equal(t, http.StatusSeeOther, a.code, p) // to /console/deliveries, which sends to the login
			continue
		}
		require.Equal(t, http.StatusSeeOther, a.code, p)
		require.True(t, strings.HasPrefix(a.location, "/console/login?next="), "%s → %s", p, a.location)
		require.NotContains(t, a.body, f.in.ID, p)
	}
	for _, p := range actions {
		a := b.post(p, url.Values{"csrf": {"anything"}})
		require.Equal(t, http.StatusUnauthorized, a.code, p)
	}
	// The login page and the assets are open.
	require.Equal(t, http.StatusOK, b.get("/console/login").code)
	css := b.get("/console/static/style.css")
	require.Equal(t, http.StatusOK, css.code)
	require.Contains(t, css.header.Get("Content-Type"), "text/css")
	// A forged next never leaves the console.
	page := b.get("/console/login")
	a := b.post("/console/login", url.Values{"csrf": {csrfOf(t, page.body)}, "token": {adminToken}, "next": {"//evil.example/x"}})
	require.Equal(t, http.StatusSeeOther, a.code)
	require.Equal(t, "/console/deliveries", a.location)
}

func TestLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := f.browser(t)

	start := time.Now()
	a, _ := b.login("not-the-admin-token")
	require.Equal(t, http.StatusUnauthorized, a.code)
	require.Contains(t, a.body, "not the admin token")
	require.NotContains(t, a.body, "not-the-admin-token", "what was typed is not echoed")
	require.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond, "a refusal waits as the admin API's does")
	// The refusals are counted with the admin API's: the next API guess
	// waits twice as long.
	start = time.Now()
	req, _ := http.NewRequest("GET", f.srv.URL+"/admin/v1/integrations", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)

	// No CSRF token, or another one: refused before the token is looked at.
	require.Equal(t, http.StatusForbidden, b.post("/console/login", url.Values{"token": {adminToken}}).code)
	b.get("/console/login")
	require.Equal(t, http.StatusForbidden, b.post("/console/login", url.Values{"token": {adminToken}, "csrf": {"forged"}}).code)

	a, _ = b.login(adminToken)
	require.Equal(t, http.StatusSeeOther, a.code)
	var cookie string
	for _, c := range a.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "hookflow_session=") {
			cookie = c
		}
	}
	require.Contains(t, cookie, "HttpOnly")
	require.Contains(t, cookie, "SameSite=Strict")
	require.Contains(t, cookie, "Path=/console")
	require.NotContains(t, cookie, adminToken)
	for _, p := range pages {
		a := b.get(p)
		if p == "/console" || p == "/console/" {
			require.Equal(t, http.StatusSeeOther, a.code, p)
			require.Equal(t, "/console/deliveries", a.location)
			continue
		}
		if p == "/console/deliveries/1" {
			require.Equal(t, http.StatusNotFound, a.code, p)
			continue
		}
		require.Equal(t, http.StatusOK, a.code, "%s: %s", p, a.body)
		require.NotContains(t, a.body, adminToken, p)
		require.Equal(t, "no-store", a.header.Get("Cache-Control"), p)
		require.Contains(t, a.header.Get("Content-Security-Policy"), "default-src 'none'", p)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := f.browser(t)
	_, csrf := b.login(adminToken)
	other := f.browser(t)
	_, otherCSRF := other.login(adminToken)
	require.NotEqual(t, csrf, otherCSRF, "a token per session")
	for _, p := range actions {
		for _, bad := range []url.Values{{}, {"csrf": {"wrong"}}, {"csrf": {otherCSRF}}} {
			bad.Set("kind", "workflow")
			bad.Set("id", "t/pr/1")
			a := b.post(p, bad)
			require.Equal(t, http.StatusForbidden, a.code, "%s %v", p, bad)
		}
	}
	paused, err := f.journal.(journal.Pauses).Paused(context.Background())
	require.NoError(t, err)
	require.Empty(t, paused, "a refused form changes nothing")
	a := b.post("/console/entities/pause", url.Values{"csrf": {csrf}, "kind": {"workflow"}, "id": {"t/pr/1"}, "reason": {"maintenance"}})
	require.Equal(t, http.StatusSeeOther, a.code, a.body)
}

func TestSecretsStayOutOfPages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := f.browser(t)
	_, csrf := b.login(adminToken)
	const given = "my-own-webhook-secret-0123456789"
	a := b.post("/console/integrations", url.Values{"csrf": {csrf}, "name": {"acme"}, "source": {"github"}, "secret": {given}})
	require.Equal(t, http.StatusOK, a.code, a.body)
	require.Contains(t, a.body, given, "the secret is shown once, on creation")
	ins, err := f.store.List(context.Background())
	require.NoError(t, err)
	var acme integrations.Integration
	for _, in := range ins {
		if in.Name == "acme" {
			acme = in
		}
	}
	require.Contains(t, a.body, acme.Path, "with the URL")

	rot := b.post("/console/integrations/"+acme.ID+"/rotate", url.Values{"csrf": {csrf}, "overlap": {"1h"}})
	require.Equal(t, http.StatusOK, rot.code, rot.body)
	rotated, err := f.store.Get(context.Background(), acme.ID)
	require.NoError(t, err)
	require.Len(t, rotated.ValidSecrets(time.Now()), 2, "the old secret overlaps")
	newSecret := string(rotated.Secrets[0].Value)
	require.Contains(t, rot.body, newSecret)

	key := b.post("/console/keys", url.Values{"csrf": {csrf}, "integration": {acme.ID}, "name": {"ci"}, "scopes": {"deployments"}, "expires": {"30d"}})
	require.Equal(t, http.StatusOK, key.code, key.body)
	keySecret := regexp.MustCompile(`hfk_[A-Za-z0-9_-]+`).FindString(key.body)
	require.NotEmpty(t, keySecret)

	// A delivery whose metadata and payload carry secret-looking fields.
	_, err = f.journal.Append(context.Background(), journal.Entry{Status: journal.Ignored, Event: workflows.Event{
		DeliveryID: "d-1", Integration: acme.ID, Source: "github", Type: "ping", ReceivedAt: time.Now(),
		Meta:    map[string]string{"X-Hub-Signature-256": "sha256=deadbeefsig", "ghes_version": "3.14"},
		Payload: []byte(`{"hook":{"config":{"secret":"` + given + `","url":"x"}},"zen":"ok","token":"tok_leak"}`),
	}})
	require.NoError(t, err)

	for _, p := range append(pages, "/console/deliveries/1") {
		a := b.get(p)
		for _, s := range []string{given, newSecret, keySecret, adminToken, acme.Path, "deadbeefsig", "tok_leak", "existing-secret-0123456789"} {
			require.NotContains(t, a.body, s, "%s shows a secret", p)
		}
	}
	d := b.get("/console/deliveries/1")
	require.Contains(t, d.body, "[redacted]")
	require.Contains(t, d.body, "3.14", "what is not secret is shown")
	require.Contains(t, d.body, "&#34;zen&#34;: &#34;ok&#34;", "pretty-printed")

	rev := b.post("/console/keys/"+regexp.MustCompile(`key_[A-Za-z0-9_-]+`).FindString(b.get("/console/keys").body)+"/revoke", url.Values{"csrf": {csrf}})
	require.Equal(t, http.StatusSeeOther, rev.code, rev.body)
	require.Contains(t, b.get("/console/keys").body, "revoked")

	audit := b.get("/console/audit").body
	for _, action := range []string{"integration.create", "integration.rotate", "key.create", "key.revoke", "console.login"} {
		require.Contains(t, audit, action)
	}
	del := b.post("/console/integrations/"+acme.ID+"/delete", url.Values{"csrf": {csrf}, "confirm": {"not-it"}})
	require.Equal(t, http.StatusBadRequest, del.code)
	del = b.post("/console/integrations/"+acme.ID+"/delete", url.Values{"csrf": {csrf}, "confirm": {acme.ID}})
	require.Equal(t, http.StatusSeeOther, del.code, del.body)
	_, err = f.store.Get(context.Background(), acme.ID)
	require.ErrorIs(t, err, integrations.ErrNotFound)
}

func TestPayloadIsCappedAndEscaped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := f.browser(t)
	b.login(adminToken)
	hostile := `<script>alert("x")</script><img src=x onerror=alert(1)>`
	big := `{"evil":"` + hostile + `","pad":"` + strings.Repeat("a", 3*console.PayloadCap) + `"}`
	res, err := f.journal.Append(context.Background(), journal.Entry{Status: journal.Accepted, Event: workflows.Event{
		DeliveryID: hostile, Integration: f.in.ID, Source: "github", Type: "pull_request", Action: hostile, ReceivedAt: time.Now(),
		Keys: map[string]string{workflows.KeyPullRequest: hostile}, Meta: map[string]string{hostile: hostile},
		Payload: []byte(big), PayloadSize: len(big),
	}, Routes: []journal.Route{{Blueprint: "t", Workflow: "T", WorkflowID: "t/pr/" + hostile}}})
	require.NoError(t, err)
	for _, p := range []string{"/console/deliveries", "/console/deliveries/1"} {
		a := b.get(p)
		require.Equal(t, http.StatusOK, a.code, a.body)
		require.NotContains(t, a.body, "<script>", p)
		require.NotContains(t, a.body, "<img src=x", p)
		require.Contains(t, a.body, "&lt;script&gt;", p)
	}
	d := b.get("/console/deliveries/1")
	require.Less(t, len(d.body), console.PayloadCap+32<<10, "the payload is cut")
	require.Contains(t, d.body, "Showing the first")
	require.Contains(t, d.body, `href="http://ui.example:8233/namespaces/default/workflows/t%2Fpr%2F%3Cscript%3E`, "the Temporal UI link, escaped")
	_ = res

	// Replay (an operator's action) makes a new entry and says so.
	csrf := csrfOf(t, d.body)
	a := b.post("/console/deliveries/1/replay", url.Values{"csrf": {csrf}, "as_new": {"on"}})
	require.Equal(t, http.StatusSeeOther, a.code, a.body)
	require.True(t, strings.HasPrefix(a.location, "/console/deliveries/2?notice="), a.location)
	require.Contains(t, b.get(a.location).body, "replayed as delivery 2")
	require.Contains(t, b.get("/console/deliveries/1").body, "replayed by admin-token via console")
}

func TestSessionExpiryAndLogout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := f.browser(t)
	_, csrf := b.login(adminToken)
	require.Equal(t, http.StatusOK, b.get("/console/deliveries").code)
	f.clock.add(f.con.SessionTTLOf() - time.Minute)
	require.Equal(t, http.StatusOK, b.get("/console/deliveries").code)
	f.clock.add(2 * time.Minute)
	a := b.get("/console/deliveries")
	require.Equal(t, http.StatusSeeOther, a.code, "expired")
	require.Contains(t, a.location, "/console/login")

	_, csrf = b.login(adminToken)
	a = b.post("/console/logout", url.Values{"csrf": {csrf}})
	require.Equal(t, http.StatusSeeOther, a.code)
	require.Equal(t, "/console/login", a.location)
	require.Equal(t, http.StatusSeeOther, b.get("/console/deliveries").code, "signed out")
	require.Contains(t, b.get("/console/audit").location, "/console/login")
}

func TestRoles(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, tc := range []struct {
		role            console.Role
		replay, creates int
	}{
		{console.Viewer, http.StatusForbidden, http.StatusForbidden},
		{console.Operator, http.StatusNotFound, http.StatusForbidden},
		{console.Admin, http.StatusNotFound, http.StatusOK},
	} {
		b := f.browser(t)
		u, _ := url.Parse(f.srv.URL + "/console/")
		b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "hookflow_session", Value: f.con.OpenSession("alice@example.com", tc.role), Path: "/console"}})
		page := b.get("/console/integrations")
		require.Equal(t, http.StatusOK, page.code)
		require.Equal(t, tc.role == console.Admin, strings.Contains(page.body, "Create an integration"), tc.role)
		csrf := csrfOf(t, page.body)
		require.Equal(t, tc.replay, b.post("/console/deliveries/99/replay", url.Values{"csrf": {csrf}}).code, tc.role)
		require.Equal(t, tc.creates, b.post("/console/integrations", url.Values{"csrf": {csrf}, "name": {"n-" + string(tc.role)}, "source": {"github"}}).code, tc.role)
	}
}

func TestChartAndBlueprints(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i, st := range []journal.Status{journal.Ignored, journal.Rejected, journal.Ignored} {
		_, err := f.journal.Append(context.Background(), journal.Entry{Status: st, Event: workflows.Event{DeliveryID: string(rune('a' + i)), Integration: f.in.ID,
			Source: "github", Type: "ping", ReceivedAt: time.Now()}})
		require.NoError(t, err)
	}
	b := f.browser(t)
	b.login(adminToken)
	svg := b.get("/console/chart.svg")
	require.Equal(t, "image/svg+xml", svg.header.Get("Content-Type"))
	require.Contains(t, svg.body, "<svg")
	require.Contains(t, svg.body, "ignored: 2</title>")
	require.Contains(t, svg.body, "rejected: 1</title>")
	bp := b.get("/console/blueprints").body
	require.Contains(t, bp, "a test blueprint")
	require.Contains(t, bp, "quiet: 5m")
	require.Contains(t, bp, "github pull_request → t/pr/&lt;n&gt;")
}

// The DORA page shows what the report computes: the last 30 days per
// repository, and deployments per week with the failed ones.
func TestDORATrends(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	now := f.clock.now()
	var ds []dorametrics.Deployment
	for i, st := range []string{dorametrics.StatusSuccess, dorametrics.StatusSuccess, dorametrics.StatusFailure} {
		at := now.Add(-time.Duration(i+1) * time.Hour)
		ds = append(ds, dorametrics.Deployment{ID: fmt.Sprint("d", i), Repo: "acme/<payments>", Environment: "production", SHA: fmt.Sprintf("%040d", i),
			Status: st, StartedAt: at.Add(-time.Minute), FinishedAt: at, Commits: []dorametrics.Commit{{SHA: fmt.Sprintf("c%039d", i), CommittedAt: at.Add(-2 * time.Hour)}}})
	}
	// Five weeks ago: in the chart, not in the 30-day table.
	old := now.AddDate(0, 0, -35)
	ds = append(ds, dorametrics.Deployment{ID: "old", Repo: "acme/old", Environment: "production", SHA: strings.Repeat("a", 40),
		Status: dorametrics.StatusSuccess, StartedAt: old.Add(-time.Minute), FinishedAt: old})
	require.NoError(t, f.dora.UpsertDeployments(context.Background(), ds))

	b := f.browser(t)
	require.Equal(t, http.StatusSeeOther, b.get("/console/dora").code, "signed out: to the login page")
	b.login(adminToken)
	page := b.get("/console/dora")
	require.Equal(t, http.StatusOK, page.code, page.body)
	require.Contains(t, page.body, "acme/&lt;payments&gt;", "escaped")
	require.NotContains(t, page.body, "acme/old", "outside the 30-day window")
	require.Contains(t, page.body, "<td>3</td><td>0.07</td><td>2h0m0s</td>", "3 deployments, 2 successful over 30 days, lead time 2 h")
	require.Contains(t, page.body, "<td>33%</td>", "one of three failed")
	svg := b.get("/console/dora.svg")
	require.Equal(t, "image/svg+xml", svg.header.Get("Content-Type"))
	require.Contains(t, svg.body, "succeeded: 2</title>")
	require.Contains(t, svg.body, "failed: 1</title>")
	require.Contains(t, svg.body, "succeeded: 1</title>", "the old deployment, five weeks ago")
}
