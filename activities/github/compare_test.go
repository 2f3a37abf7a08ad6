package github

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/activities/classify"
)

// fakeCompare is GitHub's "Compare two commits" over a line of n commits
// after base, answered in the documented shape: status, ahead_by,
// behind_by, total_commits, commits oldest first (each with
// commit.author.date and commit.committer.date), files on the first page
// only, and pages of per_page commits linked with Link rel="next". Every
// request is recorded.
type fakeCompare struct {
	*httptest.Server
	mu   sync.Mutex
	got  []string
	auth []string
}

func newFakeCompare(t *testing.T, owner, repo, base, head string, n int) *fakeCompare {
	t.Helper()
	f := &fakeCompare{}
	t0 := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	commit := func(i int) map[string]any {
		sha := fmt.Sprintf("%040x", i+1)
		person := func(at time.Time) map[string]any {
			return map[string]any{"name": "Monalisa Octocat", "email": "support@github.com", "date": at.Format(time.RFC3339)}
		}
		return map[string]any{
			"url": "https://api.github.com/repos/" + owner + "/" + repo + "/commits/" + sha, "sha": sha,
			"html_url": "https://github.com/" + owner + "/" + repo + "/commit/" + sha,
			"commit": map[string]any{
				// Written an hour before it was committed (a rebase).
				"author":    person(t0.Add(time.Duration(i)*time.Minute - time.Hour)),
				"committer": person(t0.Add(time.Duration(i) * time.Minute)),
				"message":   fmt.Sprintf("change %d", i), "comment_count": 0,
			},
			"author":  map[string]any{"login": "octocat", "id": 1},
			"parents": []any{map[string]any{"sha": fmt.Sprintf("%040x", i)}},
		}
	}
	path := "/repos/" + owner + "/" + repo + "/compare/" + base + "..." + head
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.got = append(f.got, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if r.Method != http.MethodGet || r.URL.Path != path {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"message":"Not Found","documentation_url":"https://docs.github.com/rest/commits/commits#compare-two-commits","status":"404"}`))
			return
		}
		perPage, page := 250, 1
		if v, err := strconv.Atoi(r.URL.Query().Get("per_page")); err == nil {
			perPage = v
		}
		if v, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil {
			page = v
		}
		var commits []any
		for i := (page - 1) * perPage; i < n && i < page*perPage; i++ {
			commits = append(commits, commit(i))
		}
		body := map[string]any{
			"url": "https://api.github.com" + path, "html_url": "https://github.com/" + owner + "/" + repo + "/compare/" + base + "..." + head,
			"status": "ahead", "ahead_by": n, "behind_by": 0, "total_commits": n, "commits": commits,
			"base_commit": map[string]any{"sha": base}, "merge_base_commit": map[string]any{"sha": base},
		}
		if page == 1 {
			body["files"] = []any{map[string]any{"sha": "bbcd538c8e72b8c175046e27cc8f907076331401", "filename": "file1.txt", "status": "modified", "additions": 1, "deletions": 0, "changes": 1}}
		}
		if page*perPage < n {
			next := fmt.Sprintf("%s%s?per_page=%d&page=%d", f.URL, path, perPage, page+1)
			w.Header().Set("Link", `<`+next+`>; rel="next"`)
		}
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeCompare) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.got...)
}

func TestCompareCommitsReadsEveryPage(t *testing.T) {
	t.Parallel()
	const base, head = "9f2c1e7aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "1b3d5f7bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	gh := newFakeCompare(t, "acme", "api", base, head, 130)
	v, err := ghEnv(t, gh.URL, ghStore).ExecuteActivity(CompareCommits, CompareCommitsInput{Owner: "acme", Repo: "api", Base: base, Head: head})
	require.NoError(t, err)
	var out CompareCommitsOutput
	require.NoError(t, v.Get(&out))

	// Two pages of 100, each asked for once, with the token.
	require.Equal(t, []string{
		"GET /repos/acme/api/compare/" + base + "..." + head + "?per_page=100",
		"GET /repos/acme/api/compare/" + base + "..." + head + "?page=2&per_page=100",
	}, gh.requests())
	require.Equal(t, []string{"Bearer " + ghSecret, "Bearer " + ghSecret}, gh.auth)
	require.Equal(t, "ahead", out.Status)
	require.Equal(t, 130, out.Total)
	require.Len(t, out.Commits, 130)
	t0 := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	for i, c := range out.Commits {
		require.Equal(t, fmt.Sprintf("%040x", i+1), c.SHA, "oldest first")
		require.True(t, t0.Add(time.Duration(i)*time.Minute).Equal(c.CommittedAt), "the committer date, not the author date: %v", c.CommittedAt)
	}
}

func TestCompareCommitsStopsAtMaxCommits(t *testing.T) {
	t.Parallel()
	gh := newFakeCompare(t, "acme", "api", "aaa", "bbb", 130)
	v, err := ghEnv(t, gh.URL, ghStore).ExecuteActivity(CompareCommits, CompareCommitsInput{Owner: "acme", Repo: "api", Base: "aaa", Head: "bbb", MaxCommits: 100})
	require.NoError(t, err)
	var out CompareCommitsOutput
	require.NoError(t, v.Get(&out))
	require.Equal(t, []string{"GET /repos/acme/api/compare/aaa...bbb?per_page=100"}, gh.requests(), "the second page is not read")
	require.Len(t, out.Commits, 100)
	require.Equal(t, 130, out.Total)
}

func TestCompareCommitsUnknownSHAIsFinal(t *testing.T) {
	t.Parallel()
	gh := newFakeCompare(t, "acme", "api", "aaa", "bbb", 3)
	_, err := ghEnv(t, gh.URL, ghStore).ExecuteActivity(CompareCommits, CompareCommitsInput{Installation: "9", Owner: "acme", Repo: "api", Base: "aaa", Head: "ccc"})
	appErr := appError(t, err)
	require.Equal(t, TypeCompareRefused, appErr.Type())
	require.True(t, appErr.NonRetryable())
	require.NotContains(t, err.Error(), ghSecret)
	require.Equal(t, []string{"GET /repos/acme/api/compare/aaa...ccc?per_page=100"}, gh.requests(), "asked once")

	_, err = ghEnv(t, gh.URL, ghStore).ExecuteActivity(CompareCommits, CompareCommitsInput{Owner: "acme", Repo: "api", Head: "ccc"})
	require.Equal(t, classify.TypeValidation, appError(t, err).Type())
}

// GitHub's error answers: a refused comparison (404, 422) has its own
// final type; auth fails once; limits and outages are retried after the
// wait GitHub asked for.
func TestCompareCommitsErrorClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture      string
		wantType     string
		nonRetryable bool
		delay        time.Duration
	}{
		{"error_401.http", classify.TypeAuth, true, 0},
		{"error_404.http", TypeCompareRefused, true, 0},
		{"error_422.http", TypeCompareRefused, true, 0},
		{"error_429.http", classify.TypeRateLimited, false, 60 * time.Second},
		{"error_403_secondary.http", classify.TypeRateLimited, false, 30 * time.Second},
		{"error_500.http", classify.TypeUnavailable, false, 0},
		{"error_503.http", classify.TypeUnavailable, false, 0},
		{"malformed_200.http", classify.TypeUnavailable, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			_, err := ghEnv(t, ghServer(t, tt.fixture, nil, nil), ghStore).ExecuteActivity(CompareCommits,
				CompareCommitsInput{Installation: "1", Owner: "o", Repo: "r", Base: "aaa", Head: "bbb"})
			appErr := appError(t, err)
			require.NotContains(t, err.Error(), ghSecret)
			require.Contains(t, err.Error(), `installation "1"`)
			require.Equal(t, tt.wantType, appErr.Type())
			require.Equal(t, tt.nonRetryable, appErr.NonRetryable())
			require.Equal(t, tt.delay, appErr.NextRetryDelay())
		})
	}
}
