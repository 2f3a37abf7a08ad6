package backstage_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/apierror"
	"github.com/hookflow/hookflow/connectors/backstage"
	"github.com/hookflow/hookflow/internal/backstagetest"
)

const token = "bk-st4tic-7f3a9c"

const target = "https://github.com/acme/payments/blob/main/catalog-info.yaml"

var payments = backstagetest.Entity{Kind: "Component", Name: "payments", Annotations: map[string]string{"github.com/project-slug": "acme/payments"}}

func newClient(t *testing.T, fake *backstagetest.Server) *backstage.Client {
	t.Helper()
	c, err := backstage.New(backstage.Options{BaseURL: fake.URL + "/"})
	require.NoError(t, err)
	return c
}

func TestRegisterLocation(t *testing.T) {
	t.Parallel()
	fake := backstagetest.New(t, token)
	fake.Declare(target, payments, backstagetest.Entity{Kind: "API", Namespace: "payments", Name: "settlement"})
	c := newClient(t, fake)

	reg, err := c.RegisterLocation(context.Background(), token, target)
	require.NoError(t, err)
	require.False(t, reg.AlreadyRegistered)
	require.Equal(t, "url", reg.Location.Type)
	require.Equal(t, target, reg.Location.Target)
	require.Equal(t, fake.Locations()[target], reg.Location.ID)
	require.Equal(t, []backstage.EntityRef{
		{Kind: "Component", Namespace: "default", Name: "payments"},
		{Kind: "API", Namespace: "payments", Name: "settlement"},
	}, reg.Entities)

	got := fake.Received(http.MethodPost, "/api/catalog/locations")
	require.Len(t, got, 1)
	require.JSONEq(t, `{"type":"url","target":"`+target+`"}`, got[0].Body)
	require.Equal(t, "Bearer "+token, got[0].Authorization)
	require.Empty(t, got[0].Query, "not a dry run")
}

func TestRegisterLocationAlreadyRegisteredIsNotAnError(t *testing.T) {
	t.Parallel()
	fake := backstagetest.New(t, token)
	fake.Declare(target, payments)
	fake.Register(target)
	c := newClient(t, fake)

	reg, err := c.RegisterLocation(context.Background(), token, target)
	require.NoError(t, err)
	require.Equal(t, backstage.Registration{AlreadyRegistered: true}, reg)
	got := fake.Received(http.MethodPost, "/api/catalog/locations")
	require.Len(t, got, 1)
	require.Equal(t, http.StatusConflict, got[0].Status)
}

func TestRefreshEntity(t *testing.T) {
	t.Parallel()
	fake := backstagetest.New(t, token)
	fake.Declare(target, payments)
	fake.Register(target)
	c := newClient(t, fake)

	ref, err := backstage.ParseEntityRef("Component:payments")
	require.NoError(t, err)
	require.NoError(t, c.RefreshEntity(context.Background(), token, ref))
	got := fake.Received(http.MethodPost, "/api/catalog/refresh")
	require.Len(t, got, 1)
	require.JSONEq(t, `{"entityRef":"component:default/payments"}`, got[0].Body)
	require.Equal(t, http.StatusOK, got[0].Status)

	err = c.RefreshEntity(context.Background(), token, backstage.EntityRef{Kind: "component", Namespace: "default", Name: "unknown"})
	e, ok := apierror.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, http.StatusNotFound, e.Status)
	require.False(t, e.Retryable())
	require.Contains(t, e.Error(), "NotFoundError: Entity component:default/unknown not found")
}

func TestGetEntity(t *testing.T) {
	t.Parallel()
	fake := backstagetest.New(t, token)
	fake.Declare(target, payments)
	fake.Register(target)
	c := newClient(t, fake)

	e, err := c.GetEntity(context.Background(), token, backstage.EntityRef{Kind: "component", Namespace: "default", Name: "payments"})
	require.NoError(t, err)
	require.Equal(t, backstage.EntityRef{Kind: "Component", Namespace: "default", Name: "payments"}, e.Ref)
	require.Equal(t, "acme/payments", e.Annotations["github.com/project-slug"])
	require.NotEmpty(t, e.UID)
	require.Len(t, fake.Received(http.MethodGet, "/api/catalog/entities/by-name/component/default/payments"), 1)

	_, err = c.GetEntity(context.Background(), token, backstage.EntityRef{Kind: "component", Namespace: "default", Name: "other"})
	ae, ok := apierror.As(err)
	require.True(t, ok)
	require.Equal(t, http.StatusNotFound, ae.Status)

	_, err = c.GetEntity(context.Background(), token, backstage.EntityRef{Kind: "component", Name: "x"})
	require.ErrorContains(t, err, "needs a kind, a namespace and a name")
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		token      string
		fail       func(*backstagetest.Server)
		status     int
		retryable  bool
		retryAfter time.Duration
	}{
		{name: "wrong token", token: "not-the-token", status: http.StatusUnauthorized},
		{name: "down", token: token, fail: func(s *backstagetest.Server) { s.FailNext(1, http.StatusServiceUnavailable, "") }, status: http.StatusServiceUnavailable, retryable: true},
		{name: "rate limited", token: token, fail: func(s *backstagetest.Server) { s.FailNext(1, http.StatusTooManyRequests, "7") }, status: http.StatusTooManyRequests, retryable: true, retryAfter: 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := backstagetest.New(t, token)
			if tt.fail != nil {
				tt.fail(fake)
			}
			_, err := newClient(t, fake).RegisterLocation(context.Background(), tt.token, target)
			e, ok := apierror.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, backstage.System, e.System)
			require.Equal(t, tt.status, e.Status)
			require.Equal(t, tt.retryable, e.Retryable())
			require.Equal(t, tt.retryAfter, e.RetryAfter)
			require.NotContains(t, err.Error(), token)
			require.NotContains(t, err.Error(), tt.token)
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		c, err := backstage.New(backstage.Options{BaseURL: "http://127.0.0.1:1"})
		require.NoError(t, err)
		_, err = c.RegisterLocation(context.Background(), token, target)
		e, ok := apierror.As(err)
		require.True(t, ok, "%v", err)
		require.Zero(t, e.Status)
		require.True(t, e.Retryable())
	})
}

func TestNewRefusesBadBaseURLs(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "backstage.example.com", "ftp://backstage.example.com", "https://"} {
		_, err := backstage.New(backstage.Options{BaseURL: u})
		require.Error(t, err, u)
	}
}

func TestParseEntityRef(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want backstage.EntityRef
		str  string
	}{
		{in: "component:default/payments", want: backstage.EntityRef{Kind: "component", Namespace: "default", Name: "payments"}, str: "component:default/payments"},
		{in: "Component:payments", want: backstage.EntityRef{Kind: "Component", Namespace: "default", Name: "payments"}, str: "component:default/payments"},
		{in: " API:Team-A/settlement ", want: backstage.EntityRef{Kind: "API", Namespace: "Team-A", Name: "settlement"}, str: "api:team-a/settlement"},
		{in: "payments"},
		{in: ":default/payments"},
		{in: "component:"},
		{in: "component:/payments"},
		{in: "component:default/"},
		{in: "component:a/b/c"},
	}
	for _, tt := range tests {
		got, err := backstage.ParseEntityRef(tt.in)
		if tt.str == "" {
			require.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, got)
		require.Equal(t, tt.str, got.String())
	}
}

// The fake answers as Backstage documents, whatever the client: these
// requests are raw.
func TestFakeFollowsTheDocumentedAPI(t *testing.T) {
	t.Parallel()
	fake := backstagetest.New(t, token)
	fake.Declare(target, payments)
	post := func(path, body string) int {
		req, err := http.NewRequest(http.MethodPost, fake.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusBadRequest, post("/api/catalog/locations", `{"type":"url"}`))
	require.Equal(t, http.StatusCreated, post("/api/catalog/locations?dryRun=true", `{"type":"url","target":"`+target+`"}`))
	require.Empty(t, fake.Locations(), "a dry run registers nothing")
	require.Equal(t, http.StatusCreated, post("/api/catalog/locations", `{"type":"url","target":"`+target+`"}`))
	require.Equal(t, http.StatusConflict, post("/api/catalog/locations", `{"type":"url","target":"`+target+`"}`))
	require.Equal(t, http.StatusBadRequest, post("/api/catalog/refresh", `{"entityRef":"component:default/payments","extra":1}`))
	require.Equal(t, http.StatusBadRequest, post("/api/catalog/refresh", `{}`))
	require.Equal(t, http.StatusOK, post("/api/catalog/refresh", `{"entityRef":"COMPONENT:default/Payments"}`))
	require.Len(t, fake.Requests(), 7)
}

func FuzzParseEntityRef(f *testing.F) {
	for _, s := range []string{"component:default/payments", "API:payments", "a:b/c/d", ":", "x:/", "ü:ns/ñ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := backstage.ParseEntityRef(s)
		if err != nil {
			return
		}
		// What String gives back parses to the same entity, in lower case.
		again, err := backstage.ParseEntityRef(ref.String())
		require.NoError(t, err)
		require.Equal(t, ref.String(), again.String())
	})
}
