package github

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseProtectionCallback(t *testing.T) {
	t.Parallel()
	c, err := New(Options{BaseURL: "https://ghe.example/api/v3/"})
	require.NoError(t, err)
	for _, tc := range []struct {
		url   string
		ok    bool
		owner string
		run   int64
	}{
		{"https://ghe.example/api/v3/repos/acme/api/actions/runs/42/deployment_protection_rule", true, "acme", 42},
		{"https://evil.example/api/v3/repos/acme/api/actions/runs/42/deployment_protection_rule", false, "", 0},
		{"http://ghe.example/api/v3/repos/acme/api/actions/runs/42/deployment_protection_rule", false, "", 0},
		{"https://ghe.example/api/v3/repos/acme/api/actions/runs/x/deployment_protection_rule", false, "", 0},
		{"https://ghe.example/api/v3/repos/acme/api/issues/1/comments", false, "", 0},
		{"https://ghe.example/repos/acme/api/actions/runs/42/deployment_protection_rule", false, "", 0},
	} {
		owner, repo, run, err := c.ParseProtectionCallback(tc.url)
		if !tc.ok {
			require.Error(t, err, tc.url)
			continue
		}
		require.NoError(t, err, tc.url)
		require.Equal(t, tc.owner, owner)
		require.Equal(t, "api", repo)
		require.Equal(t, tc.run, run)
	}
}

func TestReviewProtectionRule(t *testing.T) {
	t.Parallel()
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization")+" "+string(b))
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	c, err := New(Options{BaseURL: srv.URL + "/"})
	require.NoError(t, err)
	owner, repo, run, err := c.ParseProtectionCallback(srv.URL + "/repos/o/r/actions/runs/7/deployment_protection_rule")
	require.NoError(t, err)
	err = c.ReviewProtectionRule(context.Background(), "tok", owner, repo, run, ProtectionRuleReview{EnvironmentName: "production", State: "approved", Comment: "CHG1"})
	require.NoError(t, err)
	require.Equal(t, []string{`POST /repos/o/r/actions/runs/7/deployment_protection_rule Bearer tok {"comment":"CHG1","environment_name":"production","state":"approved"}` + "\n"}, got)
}
