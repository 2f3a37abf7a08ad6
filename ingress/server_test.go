package ingress_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress"
	"github.com/hookflow/hookflow/ingress/apikeys"
	"github.com/hookflow/hookflow/ingress/generic"
	ghsrc "github.com/hookflow/hookflow/ingress/github"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/internal/secretbox"
	"github.com/hookflow/hookflow/workflows"
)

const secret = "It's a Secret to Everybody"

type fixture struct {
	srv     *httptest.Server
	journal journal.Journal
	in      integrations.Integration
	logs    *bytes.Buffer
	store   *integrations.Store
	keys    *apikeys.Store
	metrics *ingress.Metrics
}

// prRouter takes GitHub pull_request events only.
func prRouter() *workflows.Router {
	return workflows.NewRouter(workflows.Subscription{Blueprint: "t", Workflow: "T", TaskQueue: "q", Route: func(ev workflows.Event) string {
		if ev.Type == "pull_request" {
			return "pr/" + ev.Key(workflows.KeyPullRequest)
		}
		return ""
	}})
}

// newFixtureWith is newFixture with configure, when not nil, changing the
// server's Config before it starts.
func newFixtureWith(t *testing.T, opts map[string]string, configure func(*ingress.Config)) *fixture {
	t.Helper()
	return newFixture(t, opts, configure)
}

// newFixture serves an ingress over a fresh SQLite journal with one GitHub
// integration; each configure, when not nil, changes its Config first.
func newFixture(t *testing.T, opts map[string]string, configure ...func(*ingress.Config)) *fixture {
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
	in, err := store.Create(ctx, integrations.Integration{Name: "gh", Source: "github", Secrets: []integrations.Secret{{Value: []byte(secret)}}, Options: opts})
	require.NoError(t, err)
	keys, err := apikeys.OpenStore(ctx, db)
	require.NoError(t, err)
	gen := generic.Source{VerifyKey: func(req *hook.Request, key string) bool { return keys.Verify(req.Context, req.IntegrationID, key) }}
	logs := &bytes.Buffer{}
	metrics := ingress.NewMetrics()
	cfg := ingress.Config{
		Journal: j, Integrations: store, APIKeys: keys, Router: prRouter(), Metrics: metrics,
		Sources: map[string]hook.Source{"github": ghsrc.Source{}, "generic": gen},
		Logger:  slog.New(slog.NewJSONHandler(logs, nil)), AdminToken: "admin-token-123",
	}
	for _, c := range configure {
		if c != nil {
			c(&cfg)
		}
	}
	s, err := ingress.New(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	t.Cleanup(func() { srv.Close(); j.Close(); db.Close() })
	return &fixture{srv: srv, journal: j, in: in, logs: logs, store: store, keys: keys, metrics: metrics}
}

func sign(body []byte, key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

type delivery struct {
	method, path, event, id, sig, contentType string
	body                                      []byte
}

func (f *fixture) send(t *testing.T, d delivery) (int, map[string]any, http.Header) {
	t.Helper()
	if d.method == "" {
		d.method = http.MethodPost
	}
	if d.path == "" {
		d.path = "/hooks/" + f.in.Path
	}
	if d.contentType == "" {
		d.contentType = "application/json"
	}
	req, err := http.NewRequest(d.method, f.srv.URL+d.path, bytes.NewReader(d.body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", d.contentType)
	if d.event != "" {
		req.Header.Set("X-GitHub-Event", d.event)
	}
	if d.id != "" {
		req.Header.Set("X-GitHub-Delivery", d.id)
	}
	if d.sig != "" {
		req.Header.Set("X-Hub-Signature-256", d.sig)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	return resp.StatusCode, out, resp.Header
}

var prBody = []byte(`{"action":"opened","number":7,"pull_request":{"number":7,"state":"open","head":{"sha":"abc"}},"repository":{"full_name":"o/r","name":"r","owner":{"login":"o"}},"installation":{"id":9}}`)

func errCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func TestDeliveries(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{ingress.OptionMaxBodyBytes: "4096"})
	ok := delivery{event: "pull_request", id: "d-1", sig: sign(prBody, secret), body: prBody}

	code, out, _ := f.send(t, ok)
	require.Equal(t, http.StatusAccepted, code)
	require.Equal(t, map[string]any{"delivery_id": "d-1", "status": "accepted"}, out)

	code, out, _ = f.send(t, ok)
	require.Equal(t, http.StatusOK, code, "a redelivery")
	require.Equal(t, "duplicate", out["status"])

	ping := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
	code, out, _ = f.send(t, delivery{event: "ping", id: "d-ping", sig: sign(ping, secret), body: ping})
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ignored", out["status"])

	push := []byte(`{"ref":"refs/heads/main","after":"abc","repository":{"full_name":"o/r","name":"r","owner":{"name":"o"}}}`)
	code, out, _ = f.send(t, delivery{event: "push", id: "d-push", sig: sign(push, secret), body: push})
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "ignored", out["status"])
	require.Contains(t, out["reason"], "no blueprint subscribes to github push")

	tests := []struct {
		name     string
		d        delivery
		wantCode int
		wantErr  string
	}{
		{"wrong secret", delivery{event: "pull_request", id: "d-2", sig: sign(prBody, "other"), body: prBody}, 401, "unauthorized"},
		{"missing signature", delivery{event: "pull_request", id: "d-3", body: prBody}, 401, "unauthorized"},
		{"tampered body", delivery{event: "pull_request", id: "d-4", sig: sign(prBody, secret), body: bytes.Replace(prBody, []byte("opened"), []byte("closed"), 1)}, 401, "unauthorized"},
		{"malformed json", delivery{event: "pull_request", id: "d-5", sig: sign([]byte(`{"action":`), secret), body: []byte(`{"action":`)}, 400, "malformed_json"},
		{"missing event", delivery{id: "d-6", sig: sign(prBody, secret), body: prBody}, 400, "missing_event_type"},
		{"too large", delivery{event: "pull_request", id: "d-7", sig: sign(make([]byte, 5000), secret), body: make([]byte, 5000)}, 413, "body_too_large"},
		{"wrong content type", delivery{event: "pull_request", id: "d-8", sig: sign(prBody, secret), body: prBody, contentType: "application/xml"}, 415, "unsupported_media_type"},
		{"unknown integration", delivery{path: "/hooks/nope", event: "pull_request", id: "d-9", sig: sign(prBody, secret), body: prBody}, 404, "unknown_integration"},
		{"GET", delivery{method: http.MethodGet, event: "pull_request", id: "d-10"}, 405, "method_not_allowed"},
	}
	for _, tt := range tests {
		code, out, _ := f.send(t, tt.d)
		require.Equal(t, tt.wantCode, code, tt.name)
		require.Equal(t, tt.wantErr, errCode(out), tt.name)
		e := out["error"].(map[string]any)
		require.NotEmpty(t, e["message"], tt.name)
		require.NotContains(t, fmt.Sprint(e["message"], e["hint"]), secret, tt.name)
	}

	// Refusals that can be attributed are journaled, without their body.
	rejected, err := f.journal.List(context.Background(), journal.Filter{Status: journal.Rejected})
	require.NoError(t, err)
	require.Len(t, rejected, 7, "all but the unknown integration and the GET")
	for _, e := range rejected {
		full, err := f.journal.Get(context.Background(), e.Event.Seq)
		require.NoError(t, err)
		require.Empty(t, full.Event.Payload)
		require.NotEmpty(t, e.Reason)
	}
	require.Equal(t, "d-7", rejected[1].Event.DeliveryID)
	require.Contains(t, rejected[1].Reason, "413")

	pending, err := f.journal.Pending(context.Background(), journal.PendingQuery{})
	require.NoError(t, err)
	require.Len(t, pending, 1)
	ev := pending[0].Event
	require.Equal(t, f.in.ID, ev.Integration)
	require.Equal(t, map[string]string{"host": "github.com", "repo_path": "o/r", "owner": "o", "repo_name": "r", "pull_request": "7", "sha": "abc", "installation": "9"}, ev.Keys)
	require.JSONEq(t, string(prBody), string(ev.Payload))
	require.Equal(t, "pr/7", pending[0].Route.WorkflowID, "the route decided at accept is the one forwarded")
	require.Equal(t, "t", pending[0].Route.Blueprint)

	// Logs name deliveries, never bodies or secrets.
	logs := f.logs.String()
	require.Contains(t, logs, "d-1")
	require.NotContains(t, logs, secret)
	require.NotContains(t, logs, "refs/heads/main")
	require.NotContains(t, logs, "logically awesome")
}

func TestFormEncodedGitHubDelivery(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	body := []byte("payload=" + strings.NewReplacer("{", "%7B", "}", "%7D", `"`, "%22", ":", "%3A", ",", "%2C", "/", "%2F").Replace(string(prBody)))
	code, out, _ := f.send(t, delivery{event: "pull_request", id: "form-1", sig: sign(body, secret), body: body, contentType: "application/x-www-form-urlencoded"})
	require.Equal(t, http.StatusAccepted, code, out)
	p, err := f.journal.Pending(context.Background(), journal.PendingQuery{Limit: 1})
	require.NoError(t, err)
	require.JSONEq(t, string(prBody), string(p[0].Event.Payload))
}

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	call := func(method, path, token, body string) (int, string) {
		req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, _ := call("GET", "/admin/v1/integrations", "", "")
	require.Equal(t, 401, code)
	code, _ = call("GET", "/admin/v1/integrations", "wrong", "")
	require.Equal(t, 401, code)

	code, body := call("POST", "/admin/v1/integrations", "admin-token-123", `{"name":"second","source":"github","secret":"topsecret-value-16"}`)
	require.Equal(t, 201, code, body)
	var created ingress.IntegrationView
	require.NoError(t, json.Unmarshal([]byte(body), &created))
	require.Equal(t, "topsecret-value-16", created.Secret)
	require.True(t, strings.HasPrefix(created.URL, "http://127.0.0.1:8080/hooks/"))

	code, body = call("GET", "/admin/v1/integrations", "admin-token-123", "")
	require.Equal(t, 200, code)
	require.Contains(t, body, created.ID)
	require.NotContains(t, body, "topsecret-value-16")
	require.NotContains(t, body, secret)

	for _, bad := range []string{`{"name":"x","source":"svn"}`, `{"name":"x"`, `{"name":"x","source":"github","extra":1}`, `{"name":"second","source":"github"}`} {
		code, body = call("POST", "/admin/v1/integrations", "admin-token-123", bad)
		require.Equal(t, 400, code, bad)
		require.Contains(t, body, `"error"`)
	}

	code, body = call("POST", "/admin/v1/integrations/"+created.ID+"/rotate", "admin-token-123", `{"overlap":"1h"}`)
	require.Equal(t, 200, code, body)
	code, _ = call("POST", "/admin/v1/integrations/int_nope/rotate", "admin-token-123", `{}`)
	require.Equal(t, 404, code)
	code, _ = call("POST", "/admin/v1/integrations/"+created.ID+"/rotate", "admin-token-123", `{"overlap":"forever"}`)
	require.Equal(t, 400, code)

	code, _ = call("GET", "/admin/v1/deliveries?status=bogus", "admin-token-123", "")
	require.Equal(t, 400, code)
	code, _ = call("GET", "/admin/v1/deliveries?limit=-1", "admin-token-123", "")
	require.Equal(t, 400, code)
	code, _ = call("GET", "/admin/v1/deliveries?since=yesterday", "admin-token-123", "")
	require.Equal(t, 400, code)
	code, body = call("GET", "/admin/v1/deliveries?status=accepted&limit=5", "admin-token-123", "")
	require.Equal(t, 200, code)
	require.Equal(t, "[]\n", body)
	code, _ = call("GET", "/admin/v1/deliveries/999", "admin-token-123", "")
	require.Equal(t, 404, code)
	code, _ = call("GET", "/admin/v1/deliveries/abc", "admin-token-123", "")
	require.Equal(t, 400, code)
}

func TestRotationThroughTheAdminAPI(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	rotate := func(body string) {
		req, _ := http.NewRequest("POST", f.srv.URL+"/admin/v1/integrations/"+f.in.ID+"/rotate", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer admin-token-123")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
	}
	deliver := func(id, key string) int {
		code, _, _ := f.send(t, delivery{event: "pull_request", id: id, sig: sign(prBody, key), body: prBody})
		return code
	}
	rotate(`{"secret":"second-secret-value","overlap":"1h"}`)
	require.Equal(t, http.StatusAccepted, deliver("r-1", secret), "the old secret verifies during the overlap")
	require.Equal(t, http.StatusAccepted, deliver("r-2", "second-secret-value"))
	rotate(`{"secret":"third-secret-value","overlap":"0s"}`)
	require.Equal(t, http.StatusUnauthorized, deliver("r-3", "second-secret-value"), "no overlap: the old secret stops at once")
	require.Equal(t, http.StatusUnauthorized, deliver("r-4", secret))
	require.Equal(t, http.StatusAccepted, deliver("r-5", "third-secret-value"))
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{ingress.OptionRateLimit: "1"})
	var codes []int
	var retry string
	for i := range 4 {
		code, out, h := f.send(t, delivery{event: "pull_request", id: fmt.Sprint("rl-", i), sig: sign(prBody, secret), body: prBody})
		codes = append(codes, code)
		if code == http.StatusTooManyRequests {
			require.Equal(t, "rate_limited", errCode(out))
			retry = h.Get("Retry-After")
		}
	}
	require.Equal(t, []int{202, 202, 429, 429}, codes, "burst of two, then refused")
	require.NotEmpty(t, retry)
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	in, err := f.store.Create(ctx, integrations.Integration{Name: "ci", Source: "generic", Options: map[string]string{generic.OptionScheme: generic.SchemeAPIKey}})
	require.NoError(t, err)
	admin := func(method, path, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer admin-token-123")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	code, key := admin("POST", "/admin/v1/keys", `{"integration":"`+in.ID+`","name":"jenkins","expires":"90d"}`)
	require.Equal(t, 201, code, key)
	secretKey := key["key"].(string)
	require.NotEmpty(t, key["expires_at"])
	code, _ = admin("POST", "/admin/v1/keys", `{"integration":"int_nope","name":"x"}`)
	require.Equal(t, 404, code)
	code, _ = admin("POST", "/admin/v1/keys", `{"integration":"`+in.ID+`","name":"x","expires":"soon"}`)
	require.Equal(t, 400, code)
	require.Nil(t, key["scopes"], "a key without --scope has every scope")
	code, scoped := admin("POST", "/admin/v1/keys", `{"integration":"`+in.ID+`","name":"pager","scopes":["incidents"]}`)
	require.Equal(t, 201, code, scoped)
	require.Equal(t, []any{"incidents"}, scoped["scopes"])
	code, _ = admin("POST", "/admin/v1/keys", `{"integration":"`+in.ID+`","name":"x","scopes":["Bad Scope"]}`)
	require.Equal(t, 400, code)

	deliver := func(id, auth string) int {
		req, _ := http.NewRequest("POST", f.srv.URL+"/hooks/"+in.Path, strings.NewReader(`{"event":"build.finished","id":1}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Request-Id", id)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, 200, deliver("k-1", secretKey), "authenticated; no blueprint takes it, so ignored")
	require.Equal(t, 401, deliver("k-2", ""))
	require.Equal(t, 401, deliver("k-3", secretKey+"x"))

	req, _ := http.NewRequest("GET", f.srv.URL+"/admin/v1/keys?integration="+in.ID, nil)
	req.Header.Set("Authorization", "Bearer admin-token-123")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	listed, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(listed), `"last_used_at"`)
	require.NotContains(t, string(listed), secretKey, "a key is shown once")

	code, _ = admin("DELETE", "/admin/v1/keys/"+key["id"].(string), "")
	require.Equal(t, 200, code)
	require.Equal(t, 401, deliver("k-4", secretKey), "revocation takes effect at once")
	code, _ = admin("DELETE", "/admin/v1/keys/key_nope", "")
	require.Equal(t, 404, code)
}

func TestBackpressure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "hookflow.db"))
	require.NoError(t, err)
	j, err := journal.OpenSQLite(ctx, db)
	require.NoError(t, err)
	box, _ := secretbox.New(bytes.Repeat([]byte{1}, secretbox.KeySize))
	store, err := integrations.OpenStore(ctx, db, box)
	require.NoError(t, err)
	in, err := store.Create(ctx, integrations.Integration{Name: "gh", Source: "github", Secrets: []integrations.Secret{{Value: []byte(secret)}}})
	require.NoError(t, err)
	s, err := ingress.New(ingress.Config{Journal: j, Integrations: store, Router: prRouter(), MaxBacklog: 2,
		Sources: map[string]hook.Source{"github": ghsrc.Source{}}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	t.Cleanup(func() { srv.Close(); j.Close(); db.Close() })
	f := &fixture{srv: srv, journal: j, in: in}

	ready := func() int {
		resp, err := http.Get(srv.URL + "/readyz")
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, 200, ready())
	for i := range 2 {
		code, _, _ := f.send(t, delivery{event: "pull_request", id: fmt.Sprint("bp-", i), sig: sign(prBody, secret), body: prBody})
		require.Equal(t, http.StatusAccepted, code)
	}
	code, out, h := f.send(t, delivery{event: "pull_request", id: "bp-2", sig: sign(prBody, secret), body: prBody})
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "backlog_full", errCode(out))
	require.Equal(t, "30", h.Get("Retry-After"))
	require.Equal(t, 503, ready())
	resp, err := http.Get(srv.URL + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, "healthz is about the process, not the backlog")

	// Once the forwarder drains, deliveries are accepted again.
	p, err := j.Pending(ctx, journal.PendingQuery{Limit: 10})
	require.NoError(t, err)
	require.NoError(t, j.MarkRoutes(ctx, journal.RouteMark{Seq: p[0].Event.Seq, WorkflowID: p[0].Route.WorkflowID, Status: journal.Forwarded}))
	require.Eventually(t, func() bool {
		code, _, _ := f.send(t, delivery{event: "pull_request", id: "bp-3", sig: sign(prBody, secret), body: prBody})
		return code == http.StatusAccepted
	}, 5*time.Second, 100*time.Millisecond)
}

func TestReplayAndPruneThroughTheAdminAPI(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	code, _, _ := f.send(t, delivery{event: "pull_request", id: "rp-1", sig: sign(prBody, secret), body: prBody})
	require.Equal(t, http.StatusAccepted, code)
	code, _, _ = f.send(t, delivery{event: "pull_request", id: "rp-2", sig: sign(prBody, "wrong"), body: prBody})
	require.Equal(t, http.StatusUnauthorized, code)
	p, err := f.journal.Pending(ctx, journal.PendingQuery{Limit: 1})
	require.NoError(t, err)
	require.NoError(t, f.journal.MarkRoutes(ctx, journal.RouteMark{Seq: p[0].Event.Seq, WorkflowID: p[0].Route.WorkflowID, Status: journal.Failed, Reason: "boom"}))

	admin := func(path, body string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", f.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer admin-token-123")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return resp.StatusCode, out
	}
	code, out := admin("/admin/v1/deliveries/replay", `{"status":"failed"}`)
	require.Equal(t, 200, code, out)
	replayed := out["replayed"].([]any)
	require.Len(t, replayed, 1)
	require.Equal(t, "rp-1", replayed[0].(map[string]any)["delivery_id"])
	require.Equal(t, "accepted", replayed[0].(map[string]any)["status"])

	code, out = admin("/admin/v1/deliveries/replay", fmt.Sprintf(`{"seqs":[%d],"as_new":true}`, p[0].Event.Seq))
	require.Equal(t, 200, code, out)
	require.Contains(t, out["replayed"].([]any)[0].(map[string]any)["delivery_id"], "rp-1.replay-")

	rejected, err := f.journal.List(ctx, journal.Filter{Status: journal.Rejected})
	require.NoError(t, err)
	code, out = admin("/admin/v1/deliveries/replay", fmt.Sprintf(`{"seqs":[%d]}`, rejected[0].Event.Seq))
	require.Equal(t, 400, code)
	require.Equal(t, "not_replayable", errCode(out))
	code, _ = admin("/admin/v1/deliveries/replay", `{"seqs":[99999]}`)
	require.Equal(t, 404, code)
	code, _ = admin("/admin/v1/deliveries/replay", `{}`)
	require.Equal(t, 400, code)

	code, out = admin("/admin/v1/deliveries/prune", `{"older_than":"0d"}`)
	require.Equal(t, 400, code)
	code, out = admin("/admin/v1/deliveries/prune", fmt.Sprintf(`{"integration":%q,"dry_run":true}`, f.in.ID))
	require.Equal(t, 200, code, out)
	require.Equal(t, float64(2), out["pruned"], "the failed and the rejected entry; the two replays are pending")
	code, out = admin("/admin/v1/deliveries/prune", fmt.Sprintf(`{"integration":%q}`, f.in.ID))
	require.Equal(t, 200, code)
	require.Equal(t, float64(2), out["pruned"])
	left, err := f.journal.List(ctx, journal.Filter{})
	require.NoError(t, err)
	require.Len(t, left, 2)
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	code, _, _ := f.send(t, delivery{event: "pull_request", id: "m-1", sig: sign(prBody, secret), body: prBody})
	require.Equal(t, http.StatusAccepted, code)
	code, _, _ = f.send(t, delivery{event: "pull_request", id: "m-2", sig: sign(prBody, "wrong"), body: prBody})
	require.Equal(t, http.StatusUnauthorized, code)
	code, _, _ = f.send(t, delivery{path: "/hooks/unknown", event: "pull_request", id: "m-3", sig: sign(prBody, secret), body: prBody})
	require.Equal(t, http.StatusNotFound, code)
	resp, err := http.Get(f.srv.URL + "/metrics")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(b)
	require.Contains(t, text, `hookflow_deliveries_total{source="github",status="accepted"} 1`)
	require.Contains(t, text, `hookflow_deliveries_total{source="github",status="rejected"} 1`)
	require.Contains(t, text, `hookflow_deliveries_total{source="unknown",status="unknown_integration"} 1`)
	require.Contains(t, text, `hookflow_ingress_ack_seconds_bucket`)
	require.Contains(t, text, `hookflow_verification_failures_total{reason="mismatch",source="github"} 1`)
	require.NotContains(t, text, f.in.Path, "no integration path in metrics")
	require.NotContains(t, text, secret)
	require.NotContains(t, text, "m-1", "no delivery IDs in labels")
}

// TestBodiesOfEverySizeAreStoredWhole: bodies around the size the reader
// preallocates from Content-Length, and bodies without one (chunked), are
// journaled byte for byte.
func TestBodiesOfEverySizeAreStoredWhole(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for _, size := range []int{len(prBody), 1000, 64<<10 - 1, 64 << 10, 64<<10 + 1, 200 << 10} {
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprint(size, chunked), func(t *testing.T) {
				t.Parallel()
				body := []byte(strings.Replace(string(prBody), `"state":"open"`, `"state":"open","pad":"`+strings.Repeat("p", max(0, size-len(prBody)-10))+`"`, 1))
				id := fmt.Sprint("size-", size, "-", chunked)
				var rd io.Reader = bytes.NewReader(body)
				if chunked {
					rd = io.MultiReader(bytes.NewReader(body[:len(body)/2]), bytes.NewReader(body[len(body)/2:]))
				}
				req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/hooks/"+f.in.Path, rd)
				require.NoError(t, err)
				if chunked {
					req.ContentLength = -1
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-GitHub-Event", "pull_request")
				req.Header.Set("X-GitHub-Delivery", id)
				req.Header.Set("X-Hub-Signature-256", sign(body, secret))
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, http.StatusAccepted, resp.StatusCode)
				list, err := f.journal.List(context.Background(), journal.Filter{Limit: 100})
				require.NoError(t, err)
				for _, e := range list {
					if e.Event.DeliveryID == id {
						got, err := f.journal.Get(context.Background(), e.Event.Seq)
						require.NoError(t, err)
						require.Equal(t, body, []byte(got.Event.Payload))
						return
					}
				}
				t.Fatal("not journaled")
			})
		}
	}
}
