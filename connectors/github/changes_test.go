package github

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// The answers follow GitHub's REST reference for "List deployments",
// "List deployment statuses" and "Compare two commits".
func TestChangesSinceLastSuccess(t *testing.T) {
	t.Parallel()
	var got []string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repos/o/r/deployments", func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.RawQuery)
		_, _ = w.Write([]byte(`[{"id":3,"sha":"ccc"},{"id":2,"sha":"bbb"},{"id":1,"sha":"aaa"}]`))
	})
	mux.HandleFunc("GET /repos/o/r/deployments/2/statuses", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`[{"id":20,"state":"failure"}]`))
	})
	mux.HandleFunc("GET /repos/o/r/deployments/1/statuses", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`[{"id":10,"state":"success"}]`))
	})
	mux.HandleFunc("GET /repos/o/r/compare/aaa...ccc", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"total_commits":2,"commits":[` +
			`{"sha":"b1","commit":{"message":"PAY-1: fix (#7)\n\nlonger","author":{"name":"Mona"}},"author":{"login":"mona"}},` +
			`{"sha":"c1","commit":{"message":"docs","author":{"name":"Hubot"}},"author":null}]}`))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c, err := New(Options{BaseURL: srv.URL + "/"})
	require.NoError(t, err)
	ch, err := c.ChangesSinceLastSuccess(context.Background(), "tok", "o", "r", "production", "ccc", 3, 0)
	require.NoError(t, err)
	require.Equal(t, []string{"environment=production&per_page=30"}, got)
	require.Equal(t, DeploymentChanges{BaseSHA: "aaa", BaseDeployment: 1, Total: 2, Commits: []DeployedCommit{
		{SHA: "b1", Message: "PAY-1: fix (#7)", Author: "mona", Body: "longer"},
		{SHA: "c1", Message: "docs", Author: "Hubot"},
	}}, ch)
}
