package github

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/apierror"
)

func TestParseHook(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Hook
		path string
		err  bool
	}{
		{in: "app", want: Hook{Kind: "app"}, path: "app/hook/deliveries"},
		{in: "repos/octo/hello/hooks/12", want: Hook{Kind: "repos", Owner: "octo", Repo: "hello", ID: 12}, path: "repos/octo/hello/hooks/12/deliveries"},
		{in: "orgs/octo/hooks/7", want: Hook{Kind: "orgs", Owner: "octo", ID: 7}, path: "orgs/octo/hooks/7/deliveries"},
		{in: "repos/octo/hooks/12", err: true},
		{in: "repos/octo/hello/hooks/x", err: true},
		{in: "repos/octo/hello/hooks/0", err: true},
		{in: "orgs//hooks/1", err: true},
		{in: "projects/1/hooks/2", err: true},
		{in: "", err: true},
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

func TestListHookDeliveriesFollowsTheLinkHeader(t *testing.T) {
	t.Parallel()
	var srvURL string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v3/repos/o/r/hooks/1/deliveries", func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "Bearer "+testToken, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Remaining", "4999")
		w.Header().Set("X-RateLimit-Reset", "1924992000")
		if r.URL.Query().Get("cursor") == "" {
			require.Equal(t, "100", r.URL.Query().Get("per_page"))
			w.Header().Set("Link", fmt.Sprintf(`<%s/api/v3/repos/o/r/hooks/1/deliveries?per_page=100&cursor=v1_2>; rel="next"`, srvURL))
			_, _ = w.Write([]byte(`[{"id":3,"guid":"g3","delivered_at":"2026-12-01T10:00:03Z","redelivery":false,"duration":0.2,"status":"OK","status_code":202,"event":"push","action":null,"installation_id":9,"repository_id":5,"throttled_at":null}]`))
			return
		}
		require.Equal(t, "v1_2", r.URL.Query().Get("cursor"))
		_, _ = w.Write([]byte(`[{"id":2,"guid":"g2","delivered_at":"2026-12-01T10:00:02Z","redelivery":true,"duration":10.0,"status":"timed out","status_code":0,"event":"pull_request","action":"opened","installation_id":null,"repository_id":5}]`))
	})
	c := clientFor(t, mux)
	srvURL = "http://" + c.base.Host
	ctx := context.Background()
	hook := Hook{Kind: "repos", Owner: "o", Repo: "r", ID: 1}
	p1, err := c.ListHookDeliveries(ctx, testToken, hook, "")
	require.NoError(t, err)
	require.Equal(t, []HookDelivery{{ID: 3, GUID: "g3", DeliveredAt: time.Date(2026, 12, 1, 10, 0, 3, 0, time.UTC), Status: "OK", StatusCode: 202, Event: "push", InstallationID: 9}}, p1.Deliveries)
	require.NotEmpty(t, p1.Next)
	p2, err := c.ListHookDeliveries(ctx, testToken, hook, p1.Next)
	require.NoError(t, err)
	require.Equal(t, []HookDelivery{{ID: 2, GUID: "g2", DeliveredAt: time.Date(2026, 12, 1, 10, 0, 2, 0, time.UTC), Redelivery: true, Status: "timed out", Event: "pull_request", Action: "opened"}}, p2.Deliveries)
	require.Empty(t, p2.Next)

	require.Equal(t, 5000, p2.Rate.Limit)
	require.Equal(t, 4999, p2.Rate.Remaining)

	// A next link to another host: only its cursor is taken; the token
	// goes to the API root, never elsewhere.
	p3, err := c.ListHookDeliveries(ctx, testToken, hook, "https://elsewhere.example/api/v3/repos/o/r/hooks/1/deliveries?per_page=100&cursor=v1_2")
	require.NoError(t, err)
	require.Equal(t, p2.Deliveries, p3.Deliveries)
	_, err = c.ListHookDeliveries(ctx, testToken, hook, "https://elsewhere.example/no-query")
	require.ErrorContains(t, err, "holds no query")
}

func TestRedeliverHookDelivery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   int // apierror status; 0: no error
	}{
		{name: "accepted", status: http.StatusAccepted, body: `{}`},
		{name: "bad credentials", status: http.StatusUnauthorized, body: `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`, want: 401},
		{name: "no such hook", status: http.StatusNotFound, body: `{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}`, want: 404},
		{name: "unprocessable", status: http.StatusUnprocessableEntity, body: `{"message":"Validation Failed"}`, want: 422},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got string
			c := clientFor(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.Method + " " + r.URL.Path
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			_, err := c.RedeliverHookDelivery(context.Background(), testToken, Hook{Kind: "orgs", Owner: "octo", ID: 4}, 99)
			require.Equal(t, "POST /api/v3/orgs/octo/hooks/4/deliveries/99/attempts", got)
			if tc.want == 0 {
				require.NoError(t, err)
				return
			}
			e, ok := apierror.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, tc.want, e.Status)
			require.NotContains(t, err.Error(), testToken)
		})
	}
}

func TestNextLink(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		``: ``,
		`<https://api.github.com/x?cursor=a>; rel="next"`:                                                `https://api.github.com/x?cursor=a`,
		`<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?cursor=b>; rel="next"`: `https://api.github.com/x?cursor=b`,
		`<https://api.github.com/x?cursor=a>; rel=next`:                                                  `https://api.github.com/x?cursor=a`,
		`<https://api.github.com/x?cursor=a>; rel="last"`:                                                ``,
		`garbage`: ``,
	} {
		require.Equal(t, want, nextLink(in), in)
	}
}
