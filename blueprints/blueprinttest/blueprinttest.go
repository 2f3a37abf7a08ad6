// Package blueprinttest is the authoring kit: it tests a blueprint the way
// production runs it.
//
//   - Deliver loads a recorded, signed delivery (an .http file in testdata:
//     request line, headers, blank line, body byte for byte), verifies and
//     parses it with the sender's own hook.Source, and routes it through the
//     blueprint's subscriptions with the same Router the ingress uses, so a
//     test proves that the subscription matches the real payload.
//   - Env runs the blueprint's workflow in Temporal's test environment with
//     time skipping, fed the routed events as the forwarder's signals.
//   - Fake is an HTTP server that records every request and answers from a
//     table, to stand in for GitHub, Jira, Backstage, ... behind the real
//     activities and connectors.
//   - Replay replays the histories in testdata/histories with the workflow
//     replayer; docs/blueprints.md says how to record one.
//
// It is imported by tests only.
package blueprinttest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/ingress/bitbucket"
	"github.com/hookflow/hookflow/ingress/dora"
	"github.com/hookflow/hookflow/ingress/generic"
	ghsrc "github.com/hookflow/hookflow/ingress/github"
	"github.com/hookflow/hookflow/ingress/gitlab"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/jira"
	"github.com/hookflow/hookflow/ingress/pagerduty"
	"github.com/hookflow/hookflow/ingress/servicenow"
	"github.com/hookflow/hookflow/workflows"
)

// GitHubSecret signs the recorded GitHub deliveries in ingress/github/testdata
// (the example secret of GitHub's "Validating webhook deliveries" page).
const GitHubSecret = "It's a Secret to Everybody"

// Secrets are the secrets (or tokens) that sign the recorded deliveries in
// ingress/<source>/testdata, by source: copy a delivery from there and its
// signature holds.
var Secrets = map[string]string{
	"github":     GitHubSecret,
	"gitlab":     "glwt-5c0ff33-t0ken",
	"bitbucket":  "bb-s3cr3t-2f7e",
	"jira":       "jira-whs-61c0ffee",
	"servicenow": "snow-tok-3e9d51a0",
	// generic deliveries in blueprints/*/testdata (relay's) are signed
	// with this one, scheme hmac.
	"generic": "relay-s3cret-7a1f",
	// dora deliveries carry this API key (compared with the secret when
	// no key store is wired).
	"dora":      "hfk_dora-recorded-key-0001",
	"pagerduty": "pd-whsec-7b3a91",
}

// Integration is the integration ID deliveries arrive on, unless the
// Delivery says otherwise.
const Integration = "int_test"

// Sources are the production senders, by name.
func Sources() map[string]hook.Source {
	m := map[string]hook.Source{}
	for _, s := range []hook.Source{ghsrc.Source{}, gitlab.Source{}, bitbucket.Source{}, jira.Source{}, servicenow.Source{}, generic.Source{}, dora.Source{}, pagerduty.Source{}} {
		m[s.Name()] = s
	}
	return m
}

// Delivery is one recorded delivery to push through the ingress's steps.
type Delivery struct {
	// File is the .http file, relative to the test's directory
	// ("testdata/pull_request.opened.http").
	File string
	// Source is the sender ("github").
	Source string
	// Secret is the integration's secret the file is signed with.
	Secret string
	// Integration is the integration ID. Empty means Integration.
	Integration string
	// Options are the integration's source options (generic keys=...).
	Options map[string]string
	// Mutate, when set, changes the request after loading and before
	// verification (a test that edits the body must re-sign it).
	Mutate func(r *hook.Request)
}

// ReadRequest reads a recorded delivery file into the request a Source
// sees, with secret as the integration's only secret.
func ReadRequest(file, secret string) (*hook.Request, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	head, body, ok := bytes.Cut(raw, []byte("\n\n"))
	if !ok {
		return nil, fmt.Errorf("%s: no blank line after the headers", file)
	}
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(append(head, "\n\n"...))))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return &hook.Request{Context: context.Background(), Header: r.Header, Body: body, ContentType: ct,
		Secrets: [][]byte{[]byte(secret)}, Options: map[string]string{}, Now: time.Now()}, nil
}

// LoadRequest is ReadRequest for tests.
func LoadRequest(t testing.TB, file, secret string) *hook.Request {
	t.Helper()
	r, err := ReadRequest(file, secret)
	require.NoError(t, err)
	return r
}

// Event verifies and parses d with its sender's Source, as the ingress does,
// and returns the event the forwarder would signal.
func Event(t testing.TB, d Delivery) workflows.Event {
	t.Helper()
	src, ok := Sources()[d.Source]
	require.True(t, ok, "unknown source %q", d.Source)
	req := LoadRequest(t, d.File, d.Secret)
	req.IntegrationID = d.Integration
	if req.IntegrationID == "" {
		req.IntegrationID = Integration
	}
	for k, v := range d.Options {
		req.Options[k] = v
	}
	if d.Mutate != nil {
		d.Mutate(req)
	}
	require.NoError(t, src.Verify(req), "%s: the recorded delivery does not verify", d.File)
	ev, err := src.Parse(req)
	require.NoError(t, err, d.File)
	ev.Integration, ev.ReceivedAt, ev.Source = req.IntegrationID, req.Now.UTC(), src.Name()
	return ev
}

// Routes returns the routes the ingress stores for ev when bp is enabled
// with settings (nil: the defaults).
func Routes(bp blueprints.Blueprint, settings blueprints.Settings, ev workflows.Event) []workflows.Route {
	if settings == nil {
		settings = bp.DefaultSettings()
	}
	r := blueprints.Router("test", []blueprints.Enabled{{Blueprint: bp, Settings: settings}}, nil)
	return r.Routes(ev)
}

// Deliver is Event then Routes: it requires that bp takes the delivery
// and returns the event and the ID of the workflow it reaches.
func Deliver(t testing.TB, bp blueprints.Blueprint, d Delivery) (workflows.Event, workflows.Route) {
	t.Helper()
	ev := Event(t, d)
	routes := Routes(bp, nil, ev)
	require.Len(t, routes, 1, "%s: blueprint %s should take this %s %s delivery once", d.File, bp.Name, ev.Type, ev.Action)
	return ev, routes[0]
}

// Env is a blueprint's workflow in Temporal's test environment.
type Env struct {
	*testsuite.TestWorkflowEnvironment
	t     testing.TB
	route workflows.Route
	n     int
}

// DeliverAll parses and routes deliveries that must all reach one
// workflow (one entity's events), each to exactly one route, and returns
// the events in order with that route.
func DeliverAll(t testing.TB, bp blueprints.Blueprint, settings blueprints.Settings, ds ...Delivery) ([]workflows.Event, workflows.Route) {
	t.Helper()
	var evs []workflows.Event
	var route workflows.Route
	for _, d := range ds {
		ev := Event(t, d)
		routes := Routes(bp, settings, ev)
		require.Len(t, routes, 1, d.File)
		if route.Subscription != nil {
			require.Equal(t, route.WorkflowID, routes[0].WorkflowID, "events of one workflow")
		}
		route = routes[0]
		evs = append(evs, ev)
	}
	return evs, route
}

// NewEnv returns a test environment with bp's workflows registered. Register
// the activities the blueprint calls (the real ones over a Fake, or
// OnActivity mocks) before Run.
func NewEnv(t testing.TB, bp blueprints.Blueprint) *Env {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	// The SDK's default is 3 s of real time per run, which a busy 2-core
	// CI machine running the whole suite exceeds; workflow time is skipped
	// either way.
	env.SetTestTimeout(time.Minute)
	bp.Register(env)
	return &Env{TestWorkflowEnvironment: env, t: t}
}

// Send signals events to the workflow after the given (skipped) time, in
// one batch, as the forwarder does. The first Send decides the workflow's
// route; every event must route to the same workflow.
func (e *Env) Send(after time.Duration, route workflows.Route, evs ...workflows.Event) {
	e.t.Helper()
	if e.route.Subscription == nil {
		e.route = route
		e.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: route.WorkflowID, TaskQueue: "test"})
	}
	require.Equal(e.t, e.route.WorkflowID, route.WorkflowID, "events for two workflows in one Env")
	e.n++
	e.RegisterDelayedCallback(func() {
		e.SignalWorkflow(workflows.SignalEvents, workflows.Batch{Events: evs})
	}, after)
}

// Run starts the workflow as the forwarder's SignalWithStart does, with the
// input its subscription builds, and runs it until it completes or blocks
// with nothing left to do.
func (e *Env) Run() {
	e.t.Helper()
	require.NotNil(e.t, e.route.Subscription, "Send at least one event before Run")
	sub := e.route.Subscription
	if sub.Input == nil {
		e.ExecuteWorkflow(sub.Workflow)
		return
	}
	e.ExecuteWorkflow(sub.Workflow, sub.Input(e.route.WorkflowID))
}

// Replay replays every history in dir (testdata/histories) against bp's
// workflows: a change that would break running workflows fails here and
// must go behind workflow.GetVersion. It requires at least one history.
func Replay(t testing.TB, bp blueprints.Blueprint, dir string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded history in %s (docs/blueprints.md: recording a history)", dir)
	for _, f := range files {
		r := worker.NewWorkflowReplayer()
		bp.Register(r)
		require.NoError(t, r.ReplayWorkflowHistoryFromJSONFile(nil, f), f)
	}
}

// Request is one request a Fake received.
type Request struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// Response is what a Fake answers.
type Response struct {
	Status int
	Header map[string]string
	Body   string
}

// Fake is an HTTP server standing in for an external system: it records
// every request and answers from a table of "METHOD /path" patterns (Go's
// http.ServeMux syntax: "POST /repos/{owner}/{repo}/issues/{n}/comments").
// Unknown requests get 404. Point a connector's BaseURL at URL.
type Fake struct {
	URL string
	mu  sync.Mutex
	mux *http.ServeMux
	got []Request
	// next holds queued answers per pattern, used before the pattern's
	// steady answer: "down, then up".
	next map[string][]Response
}

// NewFake starts a Fake, closed when the test ends.
func NewFake(t testing.TB) *Fake {
	f := &Fake{mux: http.NewServeMux(), next: map[string][]Response{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.got = append(f.got, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
		f.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// Handle answers pattern with the responses in turn; the last one repeats.
// Handle each pattern once (http.ServeMux refuses a second registration).
func (f *Fake) Handle(pattern string, first Response, then ...Response) {
	f.mu.Lock()
	f.next[pattern] = append([]Response{first}, then...)
	f.mu.Unlock()
	f.mux.HandleFunc(pattern, func(w http.ResponseWriter, _ *http.Request) {
		f.mu.Lock()
		q := f.next[pattern]
		resp := q[0]
		if len(q) > 1 {
			f.next[pattern] = q[1:]
		}
		f.mu.Unlock()
		for k, v := range resp.Header {
			w.Header().Set(k, v)
		}
		if resp.Header["Content-Type"] == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		status := resp.Status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, resp.Body)
	})
}

// Requests returns every request received so far, in order.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.got...)
}

// Calls returns the requests with this method and path.
func (f *Fake) Calls(method, path string) []Request {
	var out []Request
	for _, r := range f.Requests() {
		if r.Method == method && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// SignGitHub re-signs a GitHub delivery whose body a test changed: it sets
// X-Hub-Signature-256 to the body's HMAC-SHA256 under secret and drops the
// legacy SHA-1 signature.
func SignGitHub(r *hook.Request, secret string) {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(r.Body)
	r.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	r.Header.Del("X-Hub-Signature")
}

// WriteHistory writes the history of a workflow run (runID "" for the
// latest) as JSON that Replay reads: record one from a real run under
// `hookflow dev` into testdata/histories before changing a released
// blueprint. `temporal workflow show --workflow-id ID --output json` writes
// the same format.
func WriteHistory(ctx context.Context, c client.Client, workflowID, runID, path string) error {
	var h historypb.History
	iter := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return fmt.Errorf("history of %s: %w", workflowID, err)
		}
		h.Events = append(h.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&h)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
