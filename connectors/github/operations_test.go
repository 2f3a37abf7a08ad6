package github

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/apierror"
)

// operations calls each connector method once with valid arguments.
var operations = map[string]func(ctx context.Context, c *Client) error{
	"EnsureComment": func(ctx context.Context, c *Client) error {
		_, _, err := c.EnsureComment(ctx, testToken, "o", "r", 1, "hi", "m")
		return err
	},
	"UpsertComment": func(ctx context.Context, c *Client) error {
		_, _, err := c.UpsertComment(ctx, testToken, "o", "r", 1, "hi", "m")
		return err
	},
	"ListPullRequestCommits": func(ctx context.Context, c *Client) error {
		_, err := c.ListPullRequestCommits(ctx, testToken, "o", "r", 1)
		return err
	},
	"AddLabels": func(ctx context.Context, c *Client) error {
		_, err := c.AddLabels(ctx, testToken, "o", "r", 1, []string{"bug"})
		return err
	},
	"CreateStatus": func(ctx context.Context, c *Client) error {
		_, err := c.CreateStatus(ctx, testToken, "o", "r", "abc", Status{State: "success"})
		return err
	},
	"CreateCheckRun": func(ctx context.Context, c *Client) error {
		_, _, err := c.CreateCheckRun(ctx, testToken, "o", "r", CheckRun{Name: "n", HeadSHA: "abc", ExternalID: "x"})
		return err
	},
	"UpdateCheckRun": func(ctx context.Context, c *Client) error {
		_, err := c.UpdateCheckRun(ctx, testToken, "o", "r", 4, CheckRun{Status: "completed", Conclusion: "success"})
		return err
	},
	"CreateDeployment": func(ctx context.Context, c *Client) error {
		_, _, err := c.CreateDeployment(ctx, testToken, "o", "r", Deployment{Ref: "main", Key: "k"})
		return err
	},
	"CreateDeploymentStatus": func(ctx context.Context, c *Client) error {
		_, err := c.CreateDeploymentStatus(ctx, testToken, "o", "r", 1, DeploymentStatus{State: "success"})
		return err
	},
	"RequestReviewers": func(ctx context.Context, c *Client) error {
		_, _, err := c.RequestReviewers(ctx, testToken, "o", "r", 1, []string{"u"}, nil)
		return err
	},
	"MergePullRequest": func(ctx context.Context, c *Client) error {
		_, err := c.MergePullRequest(ctx, testToken, "o", "r", 1, Merge{})
		return err
	},
	"GetFileContents": func(ctx context.Context, c *Client) error {
		_, err := c.GetFileContents(ctx, testToken, "o", "r", "README.md", "main")
		return err
	},
	"ListHookDeliveries": func(ctx context.Context, c *Client) error {
		_, err := c.ListHookDeliveries(ctx, testToken, Hook{Kind: "repos", Owner: "o", Repo: "r", ID: 1}, "")
		return err
	},
	"AppTokens.Token": func(ctx context.Context, c *Client) error {
		_, err := c.AppTokens(AppTokensOptions{}).Token(ctx, "1", 2, testKeyPEM)
		return err
	},
}

// TestErrors replays GitHub's error answers to every operation and checks
// what the activity layer classifies on: the status, the wait GitHub asked
// for, and that no message carries the token.
func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture   string
		status    int
		retryable bool
		// wait is the RetryAfter wanted; waitMin > 0 asks for a range
		// instead (a reset computed from the clock).
		wait, waitMin time.Duration
	}{
		{fixture: "error_401.http", status: 401},
		{fixture: "error_404.http", status: 404},
		{fixture: "error_409.http", status: 409},
		{fixture: "error_422.http", status: 422},
		{fixture: "error_429.http", status: 429, retryable: true, wait: 60 * time.Second},
		{fixture: "error_403_secondary.http", status: 429, retryable: true, wait: 30 * time.Second},
		{fixture: "error_403_ratelimit.http", status: 429, retryable: true, waitMin: 100 * time.Second, wait: 121 * time.Second},
		{fixture: "error_429_ratelimit.http", status: 429, retryable: true, waitMin: 100 * time.Second, wait: 121 * time.Second},
		{fixture: "error_500.http", status: 500, retryable: true},
		{fixture: "error_503.http", status: 503, retryable: true},
		{fixture: "malformed_200.http", status: 0, retryable: true},
	}
	for _, tt := range tests {
		for name, op := range operations {
			t.Run(tt.fixture+"/"+name, func(t *testing.T) {
				t.Parallel()
				c, _ := replay(t, map[string]string{"*": tt.fixture})
				err := op(context.Background(), c)
				require.Error(t, err)
				require.NotContains(t, err.Error(), testToken)
				require.NotContains(t, err.Error(), "PRIVATE KEY")
				e, ok := apierror.As(err)
				require.True(t, ok, "%T %v", err, err)
				require.Equal(t, System, e.System)
				require.Equal(t, tt.status, e.Status)
				require.Equal(t, tt.retryable, e.Retryable())
				if tt.waitMin > 0 {
					require.GreaterOrEqual(t, e.RetryAfter, tt.waitMin)
					require.LessOrEqual(t, e.RetryAfter, tt.wait)
				} else {
					require.Equal(t, tt.wait, e.RetryAfter)
				}
			})
		}
	}
}

func TestSecondaryLimitWithoutRetryAfterWaitsAMinute(t *testing.T) {
	t.Parallel()
	srv := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"message":"You have exceeded a secondary rate limit.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`))
	}
	c := clientFor(t, http.HandlerFunc(srv))
	_, err := c.AddLabels(context.Background(), testToken, "o", "r", 1, []string{"x"})
	e, ok := apierror.As(err)
	require.True(t, ok)
	require.True(t, e.Retryable())
	require.Equal(t, time.Minute, e.RetryAfter)
}

func TestCreateCheckRun(t *testing.T) {
	t.Parallel()
	const list = "GET /repos/github/hello-world/commits/ce587453ced02b1526dfb4cb910479d431683101/check-runs"
	const create = "POST /repos/github/hello-world/check-runs"
	run := CheckRun{Name: "mighty_readme", HeadSHA: "ce587453ced02b1526dfb4cb910479d431683101", ExternalID: "hookflow-run-1",
		Status: "in_progress", DetailsURL: "https://example.com", Title: "Mighty Readme report", Summary: "There are 0 failures found in 3 files"}
	tests := []struct {
		name     string
		routes   map[string]string
		run      CheckRun
		wantID   int64
		created  bool
		requests []string
	}{
		{"new", map[string]string{list: "checkruns_list_200.http", create: "checkrun_201.http"}, run, 4, true, []string{list, create}},
		{"retried", map[string]string{list: "checkruns_list_match_200.http"}, run, 42, false, []string{list}},
		{"no external ID", map[string]string{create: "checkrun_201.http"}, CheckRun{Name: run.Name, HeadSHA: run.HeadSHA}, 4, true, []string{create}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, f := replay(t, tt.routes)
			got, created, err := c.CreateCheckRun(context.Background(), testToken, "github", "hello-world", tt.run)
			require.NoError(t, err)
			require.Equal(t, tt.wantID, got.ID)
			require.Equal(t, tt.created, created)
			reqs := f.requests()
			require.Len(t, reqs, len(tt.requests))
			for i, r := range reqs {
				require.Equal(t, tt.requests[i], r.Method+" "+r.Path)
				require.Equal(t, "Bearer "+testToken, r.Auth)
				switch r.Method {
				case http.MethodGet:
					q, err := url.ParseQuery(r.Query)
					require.NoError(t, err)
					require.Equal(t, "mighty_readme", q.Get("check_name"))
					require.Equal(t, "all", q.Get("filter"))
				case http.MethodPost:
					var sent map[string]any
					require.NoError(t, json.Unmarshal(r.Body, &sent))
					require.Equal(t, "mighty_readme", sent["name"])
					require.Equal(t, tt.run.HeadSHA, sent["head_sha"])
					if tt.run.ExternalID != "" {
						require.Equal(t, "hookflow-run-1", sent["external_id"])
						require.Equal(t, map[string]any{"title": "Mighty Readme report", "summary": "There are 0 failures found in 3 files"}, sent["output"])
					} else {
						require.NotContains(t, sent, "external_id")
						require.NotContains(t, sent, "output")
					}
				}
			}
		})
	}
}

func TestUpdateCheckRun(t *testing.T) {
	t.Parallel()
	c, f := replay(t, map[string]string{"PATCH /repos/github/hello-world/check-runs/4": "checkrun_200.http"})
	got, err := c.UpdateCheckRun(context.Background(), testToken, "github", "hello-world", 4, CheckRun{Status: "completed", Conclusion: "neutral"})
	require.NoError(t, err)
	require.Equal(t, CheckRunResult{ID: 4, HTMLURL: "https://github.com/github/hello-world/runs/4", Status: "completed"}, got)
	require.JSONEq(t, `{"status":"completed","conclusion":"neutral"}`, string(f.requests()[0].Body))
}

func TestCreateDeployment(t *testing.T) {
	t.Parallel()
	const list = "GET /repos/octocat/example/deployments"
	const create = "POST /repos/octocat/example/deployments"
	tests := []struct {
		name    string
		routes  map[string]string
		key     string
		wantID  int64
		created bool
		posts   int
		wantErr string
	}{
		{name: "created", routes: map[string]string{create: "deployment_201.http"}, wantID: 1, created: true, posts: 1},
		{name: "after auto-merge", routes: map[string]string{create: "deployment_202.http|deployment_202.http|deployment_201.http"}, wantID: 1, created: true, posts: 3},
		{name: "auto-merge every time", routes: map[string]string{create: "deployment_202.http"}, posts: 3, wantErr: "202"},
		{name: "key not found", routes: map[string]string{list: "deployments_list_200.http", create: "deployment_201.http"}, key: "deploy-2", wantID: 1, created: true, posts: 1},
		{name: "retried", routes: map[string]string{list: "deployments_list_200.http"}, key: "deploy-1", wantID: 7, created: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, f := replay(t, tt.routes)
			got, created, err := c.CreateDeployment(context.Background(), testToken, "octocat", "example", Deployment{
				Ref: "topic-branch", Environment: "production", Description: "Deploy request from hubot", Key: tt.key, Payload: map[string]any{"deploy": "migrate"},
			})
			posts := 0
			for _, r := range f.requests() {
				if r.Method == http.MethodPost {
					posts++
					var sent map[string]any
					require.NoError(t, json.Unmarshal(r.Body, &sent))
					require.Equal(t, "topic-branch", sent["ref"])
					want := map[string]any{"deploy": "migrate"}
					if tt.key != "" {
						want[KeyField] = tt.key
					}
					require.Equal(t, want, sent["payload"])
				} else {
					require.Equal(t, "environment=production&per_page=100&ref=topic-branch", r.Query)
				}
			}
			require.Equal(t, tt.posts, posts)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				e, ok := apierror.As(err)
				require.True(t, ok)
				require.True(t, e.Retryable())
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantID, got.ID)
			require.Equal(t, tt.created, created)
		})
	}
}

func TestCreateDeploymentStatus(t *testing.T) {
	t.Parallel()
	c, f := replay(t, map[string]string{"POST /repos/octocat/example/deployments/42/statuses": "deployment_status_201.http"})
	id, err := c.CreateDeploymentStatus(context.Background(), testToken, "octocat", "example", 42, DeploymentStatus{
		State: "success", LogURL: "https://example.com/deployment/42/output", EnvironmentURL: "https://test-branch.lab.acme.com",
	})
	require.NoError(t, err)
	require.Equal(t, int64(1), id)
	require.JSONEq(t, `{"state":"success","log_url":"https://example.com/deployment/42/output","environment_url":"https://test-branch.lab.acme.com"}`, string(f.requests()[0].Body))
}

func TestRequestReviewers(t *testing.T) {
	t.Parallel()
	c, f := replay(t, map[string]string{"POST /repos/octocat/Hello-World/pulls/1347/requested_reviewers": "reviewers_201.http"})
	users, teams, err := c.RequestReviewers(context.Background(), testToken, "octocat", "Hello-World", 1347, []string{"other_user"}, []string{"justice-league"})
	require.NoError(t, err)
	require.Equal(t, []string{"other_user"}, users)
	require.Equal(t, []string{"justice-league"}, teams)
	require.JSONEq(t, `{"reviewers":["other_user"],"team_reviewers":["justice-league"]}`, string(f.requests()[0].Body))
}

func TestMergePullRequest(t *testing.T) {
	t.Parallel()
	const merge = "PUT /repos/octocat/Hello-World/pulls/1347/merge"
	const get = "GET /repos/octocat/Hello-World/pulls/1347"
	const head = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
	tests := []struct {
		name    string
		routes  map[string]string
		sha     string
		want    MergeResult
		status  int
		message string
	}{
		{name: "merged", routes: map[string]string{merge: "merge_200.http"}, sha: head, want: MergeResult{SHA: head}},
		{name: "merged before", routes: map[string]string{merge: "merge_405.http", get: "pull_merged_200.http"}, sha: head,
			want: MergeResult{SHA: "e5bd3914e2e596debea16f433f57875b5b90bcd6", AlreadyMerged: true}},
		{name: "merged before at another head", routes: map[string]string{merge: "merge_405.http", get: "pull_merged_200.http"}, sha: "0000000000000000000000000000000000000000",
			status: 405, message: "not mergeable"},
		{name: "not mergeable", routes: map[string]string{merge: "merge_405.http", get: "reviewers_201.http"}, sha: head,
			status: 405, message: "not mergeable (merge conflicts, failing required status checks or missing reviews); GitHub says: Pull Request is not mergeable"},
		{name: "head moved", routes: map[string]string{merge: "merge_409.http"}, sha: head,
			status: 409, message: "the head branch moved on from " + head},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, f := replay(t, tt.routes)
			got, err := c.MergePullRequest(context.Background(), testToken, "octocat", "Hello-World", 1347, Merge{Method: "squash", SHA: tt.sha})
			require.JSONEq(t, `{"merge_method":"squash","sha":"`+tt.sha+`"}`, string(f.requests()[0].Body))
			if tt.status != 0 {
				e, ok := apierror.As(err)
				require.True(t, ok, "%v", err)
				require.Equal(t, tt.status, e.Status)
				require.False(t, e.Retryable())
				require.Contains(t, e.Message, tt.message)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestGetFileContents(t *testing.T) {
	t.Parallel()
	const contents = "GET /repos/octokit/octokit.rb/contents/README.md"
	tests := []struct {
		name    string
		routes  map[string]string
		want    string
		wantErr string
	}{
		{name: "file", routes: map[string]string{contents: "contents_file_200.http"}, want: "# Hello World\n\nThis is a file read by Hookflow's tests.\n"},
		{name: "over 1 MB", routes: map[string]string{contents: "contents_large_200.http", "GET /repos/octokit/octokit.rb/git/blobs/3d21ec53a331a6f037a91c368710b99387d012c1": "blob_raw_200.http"}, want: "large file contents\n"},
		{name: "directory", routes: map[string]string{contents: "contents_dir_200.http"}, wantErr: "HTTP 422: the path is a directory, not a file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, f := replay(t, tt.routes)
			got, err := c.GetFileContents(context.Background(), testToken, "octokit", "octokit.rb", "README.md", "v1.0")
			require.Equal(t, "ref=v1.0", f.requests()[0].Query)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				e, ok := apierror.As(err)
				require.True(t, ok)
				require.False(t, e.Retryable())
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, string(got.Content))
			require.Equal(t, "3d21ec53a331a6f037a91c368710b99387d012c1", got.SHA)
		})
	}
}

func TestUpsertComment(t *testing.T) {
	t.Parallel()
	const list, edit, create = "GET /repos/o/r/issues/1347/comments", "PATCH /repos/o/r/issues/comments/2", "POST /repos/o/r/issues/1347/comments"
	tests := []struct {
		name, body, marker, want string
		wantCalls                []string
		wantSent                 string
	}{
		{"unchanged", "Linked Jira issues: PROJ-1", "m", "unchanged", []string{list}, ""},
		{"edited in place", "Linked Jira issues: PROJ-1, PROJ-2", "m", "updated", []string{list, edit}, "Linked Jira issues: PROJ-1, PROJ-2\n\n<!-- m -->"},
		{"created", "Linked Jira issues: PROJ-1", "other", "created", []string{list, create}, "Linked Jira issues: PROJ-1\n\n<!-- other -->"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, f := replay(t, map[string]string{list: "issue_comments_200.http", edit: "issue_comment_200.http", create: "issue_comment_201.http"})
			cm, did, err := c.UpsertComment(context.Background(), testToken, "o", "r", 1347, tt.body, tt.marker)
			require.NoError(t, err)
			require.Equal(t, tt.want, did)
			require.NotZero(t, cm.ID)
			var calls []string
			for _, r := range f.requests() {
				calls = append(calls, r.Method+" "+r.Path)
				require.Equal(t, "Bearer "+testToken, r.Auth)
			}
			require.Equal(t, tt.wantCalls, calls)
			if tt.wantSent != "" {
				var sent struct{ Body string }
				require.NoError(t, json.Unmarshal(f.requests()[1].Body, &sent))
				require.Equal(t, tt.wantSent, sent.Body)
			}
		})
	}
}

func TestListPullRequestCommits(t *testing.T) {
	t.Parallel()
	c, f := replay(t, map[string]string{"GET /repos/octocat/Hello-World/pulls/1347/commits": "pull_commits_200.http"})
	got, err := c.ListPullRequestCommits(context.Background(), testToken, "octocat", "Hello-World", 1347)
	require.NoError(t, err)
	require.Equal(t, []PullCommit{{SHA: "6dcb09b5b57875f334f61aebed695e2e4193db5e", Message: "Fix all the bugs"}}, got)
	require.Equal(t, "per_page=100", f.requests()[0].Query)
}
