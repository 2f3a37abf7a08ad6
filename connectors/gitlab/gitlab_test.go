package gitlab

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/apierror"
)

const testToken = "glpat-test-token-do-not-log"

func TestParseHook(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Hook
		path string
		err  bool
	}{
		{in: "projects/15/hooks/3", want: Hook{Kind: "projects", Parent: "15", ID: 3}, path: "projects/15/hooks/3/events"},
		{in: "groups/7/hooks/1", want: Hook{Kind: "groups", Parent: "7", ID: 1}, path: "groups/7/hooks/1/events"},
		{in: "projects/grp/app/hooks/3", want: Hook{Kind: "projects", Parent: "grp/app", ID: 3}, path: "projects/grp%2Fapp/hooks/3/events"},
		{in: "projects/hooks/3", err: true},
		{in: "projects/15/hooks/x", err: true},
		{in: "users/15/hooks/3", err: true},
		{in: "repos/o/r/hooks/1", err: true},
		{in: "app", err: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			h, err := ParseHook(tc.in)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, h)
			require.Equal(t, tc.in, h.String())
			require.Equal(t, tc.path, h.path())
		})
	}
}

// event is a hook event as GitLab's API answers it (API::Entities::WebHookLog).
func event(id int, created string) string {
	return fmt.Sprintf(`{"id":%d,"url":"https://example.net/hooks/x","trigger":"push_hooks",
		"request_headers":{"Content-Type":"application/json","User-Agent":"GitLab/17.6.0","Idempotency-Key":"idem-%d","X-Gitlab-Event":"Push Hook","X-Gitlab-Token":"[REDACTED]","X-Gitlab-Event-UUID":"ev-%d"},
		"request_data":{"object_kind":"push","ref":"refs/heads/main"},
		"response_headers":{"Content-Type":"application/json"},"response_body":"{}","execution_duration":0.12,
		"response_status":"200","created_at":"%s"}`, id, id, id, created)
}

func newClient(t *testing.T, h http.Handler) (*Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(Options{BaseURL: srv.URL + "/api/v4"})
	require.NoError(t, err)
	return c, srv
}

func TestListHookEventsPages(t *testing.T) {
	t.Parallel()
	var srv *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v4/projects/{id}/hooks/3/events", func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, testToken, r.Header.Get("PRIVATE-TOKEN"))
		require.Equal(t, "grp/app", r.PathValue("id"))
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Query().Get("page") {
		case "":
			w.Header().Set("Link", fmt.Sprintf(`<%s/api/v4/projects/grp%%2Fapp/hooks/3/events?page=2&per_page=100>; rel="next", <%s/api/v4/projects/grp%%2Fapp/hooks/3/events?page=1&per_page=100>; rel="first"`, srv.URL, srv.URL))
			fmt.Fprintf(w, "[%s]", event(2, "2026-12-01T10:00:02.000Z"))
		case "2":
			// No Link: X-Next-Page alone says there is more.
			w.Header().Set("X-Next-Page", "3")
			fmt.Fprintf(w, "[%s]", event(1, "2026-12-01T10:00:01.000Z"))
		default:
			_, _ = w.Write([]byte(`[]`))
		}
	})
	c, s := newClient(t, mux)
	srv = s
	ctx := context.Background()
	hook := Hook{Kind: "projects", Parent: "grp/app", ID: 3}
	p, err := c.ListHookEvents(ctx, testToken, hook, "")
	require.NoError(t, err)
	require.Equal(t, []HookEvent{{ID: 2, Trigger: "push_hooks", ObjectKind: "push", ResponseStatus: "200",
		CreatedAt:      time.Date(2026, 12, 1, 10, 0, 2, 0, time.UTC),
		RequestHeaders: map[string]string{"Content-Type": "application/json", "User-Agent": "GitLab/17.6.0", "Idempotency-Key": "idem-2", "X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "[REDACTED]", "X-Gitlab-Event-UUID": "ev-2"}}}, p.Events)
	p, err = c.ListHookEvents(ctx, testToken, hook, p.Next)
	require.NoError(t, err)
	require.Len(t, p.Events, 1)
	require.Equal(t, int64(1), p.Events[0].ID)
	p, err = c.ListHookEvents(ctx, testToken, hook, p.Next)
	require.NoError(t, err)
	require.Empty(t, p.Events)
	require.Empty(t, p.Next)

	// A next link to another host: only its page is taken.
	p, err = c.ListHookEvents(ctx, testToken, hook, "https://elsewhere.example/api/v4/projects/1/hooks/3/events?page=2&per_page=100")
	require.NoError(t, err)
	require.Equal(t, int64(1), p.Events[0].ID)
}

func TestErrors(t *testing.T) {
	t.Parallel()
	reset := time.Now().Add(90 * time.Second).Unix()
	for _, tc := range []struct {
		name      string
		status    int
		header    map[string]string
		body      string
		message   string
		retryable bool
		waitMin   time.Duration
		waitMax   time.Duration
	}{
		{name: "401", status: 401, body: `{"message":"401 Unauthorized"}`, message: "401 Unauthorized"},
		{name: "404 hook", status: 404, body: `{"message":"404 Not found"}`, message: "404 Not found"},
		{name: "422", status: 422, body: `{"message":"The hook URL has changed, and this log entry cannot be retried"}`, message: "The hook URL has changed"},
		{name: "429 retry-after", status: 429, header: map[string]string{"Retry-After": "60"}, body: `{"message":{"error":"This endpoint has been requested too many times. Try again later."}}`,
			message: "requested too many times", retryable: true, waitMin: 60 * time.Second, waitMax: 60 * time.Second},
		{name: "429 reset", status: 429, header: map[string]string{"RateLimit-Reset": strconv.FormatInt(reset, 10)}, body: `{"message":"Retry later"}`,
			message: "Retry later", retryable: true, waitMin: 80 * time.Second, waitMax: 91 * time.Second},
		{name: "500", status: 500, body: `{"message":"500 Internal Server Error"}`, retryable: true},
		{name: "echoed token", status: 400, body: `{"error":"bad token ` + testToken + `"}`, message: "bad token [token]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _ := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			hook := Hook{Kind: "groups", Parent: "7", ID: 1}
			for _, call := range []func() error{
				func() error { _, err := c.ListHookEvents(context.Background(), testToken, hook, ""); return err },
				func() error { return c.ResendHookEvent(context.Background(), testToken, hook, 5) },
			} {
				err := call()
				require.Error(t, err)
				require.NotContains(t, err.Error(), testToken)
				e, ok := apierror.As(err)
				require.True(t, ok)
				require.Equal(t, System, e.System)
				require.Equal(t, tc.status, e.Status)
				require.Contains(t, e.Message, tc.message)
				require.Equal(t, tc.retryable, e.Retryable())
				require.GreaterOrEqual(t, e.RetryAfter, tc.waitMin)
				require.LessOrEqual(t, e.RetryAfter, tc.waitMax)
			}
		})
	}
}

func TestResendHookEvent(t *testing.T) {
	t.Parallel()
	var got string
	c, _ := newClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Method + " " + r.URL.EscapedPath() + " " + r.Header.Get("PRIVATE-TOKEN")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"response_status":200}`))
	}))
	require.NoError(t, c.ResendHookEvent(context.Background(), testToken, Hook{Kind: "projects", Parent: "grp/app", ID: 3}, 42))
	require.Equal(t, "POST /api/v4/projects/grp%2Fapp/hooks/3/events/42/resend "+testToken, got)
}
