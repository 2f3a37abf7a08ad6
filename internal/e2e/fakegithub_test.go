package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeGitHub serves the issue-comment endpoints from recorded responses and
// remembers what was posted.
type fakeGitHub struct {
	*httptest.Server
	mu         sync.Mutex
	comments   []map[string]any
	postCount  int
	listCount  int
	lastAuth   string
	failOnPost bool
	revoked    bool
	denied     int
	// compares are the compare requests received ("path?query").
	compares []string
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	raw, err := os.ReadFile(filepath.Join("testdata", "github-api", "create-comment.201.json"))
	require.NoError(t, err)
	f := &fakeGitHub{}
	mux := http.NewServeMux()
	// Recorded answer of GitHub's REST API to a revoked or unknown token.
	const badCredentials = `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}`
	revoked := func(w http.ResponseWriter) bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.revoked {
			return false
		}
		f.denied++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(badCredentials))
		return true
	}
	mux.HandleFunc("GET /repos/{owner}/{repo}/issues/{number}/comments", func(w http.ResponseWriter, r *http.Request) {
		if revoked(w) {
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.lastAuth = r.Header.Get("Authorization")
		f.listCount++
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(append([]map[string]any{}, f.comments...))
	})
	mux.HandleFunc("POST /repos/{owner}/{repo}/issues/{number}/comments", func(w http.ResponseWriter, r *http.Request) {
		if revoked(w) {
			return
		}
		var in struct{ Body string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, `{"message":"Problems parsing JSON"}`, http.StatusBadRequest)
			return
		}
		var c map[string]any
		if err := json.Unmarshal(raw, &c); err != nil {
			panic(err)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.postCount++
		f.lastAuth = r.Header.Get("Authorization")
		c["id"] = len(f.comments) + 1
		c["body"] = in.Body
		c["html_url"] = fmt.Sprintf("https://github.com/%s/%s/pull/%s#issuecomment-%d", r.PathValue("owner"), r.PathValue("repo"), r.PathValue("number"), len(f.comments)+1)
		f.comments = append(f.comments, c)
		if f.failOnPost {
			f.failOnPost = false
			http.Error(w, `{"message":"Server Error"}`, http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(c)
	})
	// "Compare two commits" for acme/lead: one commit, c-lead-1,
	// committed at 2026-12-02T09:00:00Z (written the day before), in the
	// documented shape.
	mux.HandleFunc("GET /repos/{owner}/{repo}/compare/{basehead}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.compares = append(f.compares, r.URL.Path+"?"+r.URL.RawQuery)
		f.lastAuth = r.Header.Get("Authorization")
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if r.PathValue("owner")+"/"+r.PathValue("repo") != "acme/lead" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"message":"Not Found","documentation_url":"https://docs.github.com/rest/commits/commits#compare-two-commits","status":"404"}`))
			return
		}
		_, _ = fmt.Fprintf(w, `{"url":"https://api.github.com/repos/acme/lead/compare/%[1]s","html_url":"https://github.com/acme/lead/compare/%[1]s",
			"status":"ahead","ahead_by":1,"behind_by":0,"total_commits":1,
			"commits":[{"sha":"c-lead-1","commit":{"author":{"name":"Mona","email":"mona@example.com","date":"2026-12-01T09:00:00Z"},
				"committer":{"name":"Mona","email":"mona@example.com","date":"2026-12-02T09:00:00Z"},"message":"ship it","comment_count":0},
				"author":{"login":"mona","id":1},"parents":[]}],"files":[]}`, r.PathValue("basehead"))
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func (f *fakeGitHub) compareRequests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.compares...)
}

func (f *fakeGitHub) failNextPostAfterStoring() { f.mu.Lock(); f.failOnPost = true; f.mu.Unlock() }
func (f *fakeGitHub) posts() int                { f.mu.Lock(); defer f.mu.Unlock(); return f.postCount }
func (f *fakeGitHub) revoke()                   { f.mu.Lock(); f.revoked = true; f.mu.Unlock() }
func (f *fakeGitHub) unauthorized() int         { f.mu.Lock(); defer f.mu.Unlock(); return f.denied }
func (f *fakeGitHub) lists() int                { f.mu.Lock(); defer f.mu.Unlock(); return f.listCount }
func (f *fakeGitHub) stored() int               { f.mu.Lock(); defer f.mu.Unlock(); return len(f.comments) }
func (f *fakeGitHub) auth() string              { f.mu.Lock(); defer f.mu.Unlock(); return f.lastAuth }

// bodies returns the bodies of the comments GitHub holds.
func (f *fakeGitHub) bodies() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.comments {
		out = append(out, fmt.Sprint(c["body"]))
	}
	return out
}
