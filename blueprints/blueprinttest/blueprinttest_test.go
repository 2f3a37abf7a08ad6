package blueprinttest_test

import (
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/blueprints/blueprinttest"
	"github.com/hookflow/hookflow/blueprints/prcomment"
	"github.com/hookflow/hookflow/ingress/hook"
)

// recorder is a testing.TB whose failures are recorded instead of failing
// the test: the kit's own checks must fail on what they are there to catch.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.mu.Lock(); r.failed = true; r.mu.Unlock() }
func (r *recorder) FailNow()              { r.Errorf(""); runtime.Goexit() }

// fails reports whether f fails its TB.
func fails(t *testing.T, f func(tb testing.TB)) bool {
	r := &recorder{TB: t}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); f(r) }()
	wg.Wait()
	return r.failed
}

func opened() blueprinttest.Delivery {
	return blueprinttest.Delivery{File: "../prcomment/testdata/pull_request.opened.http", Source: "github", Secret: blueprinttest.GitHubSecret}
}

func TestDeliverChecksWhatProductionChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		d     func() blueprinttest.Delivery
		fails bool
	}{
		{"the recorded delivery", opened, false},
		{"wrong secret", func() blueprinttest.Delivery { d := opened(); d.Secret = "not it"; return d }, true},
		{"body changed, not re-signed", func() blueprinttest.Delivery {
			d := opened()
			d.Mutate = func(r *hook.Request) { r.Body = []byte(strings.Replace(string(r.Body), "opened", "closed", 1)) }
			return d
		}, true},
		{"body changed and re-signed", func() blueprinttest.Delivery {
			d := opened()
			d.Mutate = func(r *hook.Request) {
				r.Body = []byte(strings.Replace(string(r.Body), `"action":"opened"`, `"action":"reopened"`, 1))
				blueprinttest.SignGitHub(r, blueprinttest.GitHubSecret)
			}
			return d
		}, false},
		{"an event the blueprint does not take", func() blueprinttest.Delivery {
			d := opened()
			d.File = "../prcomment/testdata/push.http"
			return d
		}, true},
		{"unknown source", func() blueprinttest.Delivery { d := opened(); d.Source = "svn"; return d }, true},
		{"missing file", func() blueprinttest.Delivery { d := opened(); d.File = "testdata/none.http"; return d }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.fails, fails(t, func(tb testing.TB) { blueprinttest.Deliver(tb, prcomment.Blueprint, tt.d()) }))
		})
	}
	ev, route := blueprinttest.Deliver(t, prcomment.Blueprint, opened())
	require.Equal(t, blueprinttest.Integration, ev.Integration)
	require.Equal(t, "opened", ev.Action)
	require.Equal(t, prcomment.WorkflowName, route.Subscription.Workflow)
	legacy := &prcomment.Settings{Greeting: "hi", LegacyWorkflowIDs: true}
	require.Equal(t, "github/Codertocat/Hello-World/pr/2", blueprinttest.Routes(prcomment.Blueprint, legacy, ev)[0].WorkflowID, "settings reach the route")
}

func TestFakeRecordsAndAnswersInTurn(t *testing.T) {
	t.Parallel()
	f := blueprinttest.NewFake(t)
	f.Handle("POST /api/catalog/refresh", blueprinttest.Response{Status: http.StatusServiceUnavailable}, blueprinttest.Response{Status: http.StatusOK, Body: `{"ok":true}`})
	post := func(path, body string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, f.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer t")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, _ := post("/api/catalog/refresh", `{"entityRef":"component:default/a"}`)
	require.Equal(t, http.StatusServiceUnavailable, code, "down first")
	for range 2 {
		code, body := post("/api/catalog/refresh", `{"entityRef":"component:default/a"}`)
		require.Equal(t, http.StatusOK, code, "then up, and the last answer repeats")
		require.JSONEq(t, `{"ok":true}`, body)
	}
	code, _ = post("/api/unknown", "x")
	require.Equal(t, http.StatusNotFound, code)

	calls := f.Calls(http.MethodPost, "/api/catalog/refresh")
	require.Len(t, calls, 3)
	require.JSONEq(t, `{"entityRef":"component:default/a"}`, string(calls[0].Body))
	require.Equal(t, "Bearer t", calls[2].Header.Get("Authorization"))
	require.Len(t, f.Requests(), 4, "unknown requests are recorded too")
}

func TestReplayNeedsAHistory(t *testing.T) {
	t.Parallel()
	require.True(t, fails(t, func(tb testing.TB) { blueprinttest.Replay(tb, prcomment.Blueprint, t.TempDir()) }))
	require.False(t, fails(t, func(tb testing.TB) { blueprinttest.Replay(tb, prcomment.Blueprint, "../prcomment/testdata/histories") }))
}
