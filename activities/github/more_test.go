package github

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/activities/classify"
)

// newInputs are valid inputs of the activities added beside the comment,
// label and status ones.
var newInputs = map[string]any{
	CreateCheckRun:         CreateCheckRunInput{Installation: "1", Owner: "o", Repo: "r", Name: "n", HeadSHA: "abc", ExternalID: "x"},
	UpdateCheckRun:         UpdateCheckRunInput{Installation: "1", Owner: "o", Repo: "r", CheckRunID: 4, Status: "completed", Conclusion: "success"},
	CreateDeployment:       CreateDeploymentInput{Installation: "1", Owner: "o", Repo: "r", Ref: "main", Key: "k"},
	CreateDeploymentStatus: CreateDeploymentStatusInput{Installation: "1", Owner: "o", Repo: "r", DeploymentID: 1, State: "success"},
	RequestReviewers:       RequestReviewersInput{Installation: "1", Owner: "o", Repo: "r", Number: 1, Reviewers: []string{"u"}},
	MergePullRequest:       MergePullRequestInput{Installation: "1", Owner: "o", Repo: "r", Number: 1},
	GetFileContents:        GetFileContentsInput{Installation: "1", Owner: "o", Repo: "r", Path: "README.md"},
	UpsertComment:          UpsertCommentInput{Installation: "1", Owner: "o", Repo: "r", Number: 1, Body: "b", Marker: "m"},
	ListPullRequestCommits: ListPullRequestCommitsInput{Installation: "1", Owner: "o", Repo: "r", Number: 1},
}

func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%T %v", err, err)
	return appErr
}

// TestErrorClassification replays GitHub's error answers to every new
// activity: auth and validation fail once; limits and outages are retried
// after the wait GitHub asked for.
func TestErrorClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture      string
		wantType     string
		nonRetryable bool
		delay        time.Duration
	}{
		{"error_401.http", classify.TypeAuth, true, 0},
		{"error_404.http", classify.TypeNotFound, true, 0},
		{"error_409.http", classify.TypeConflict, true, 0},
		{"error_422.http", classify.TypeValidation, true, 0},
		{"error_429.http", classify.TypeRateLimited, false, 60 * time.Second},
		{"error_403_secondary.http", classify.TypeRateLimited, false, 30 * time.Second},
		{"error_500.http", classify.TypeUnavailable, false, 0},
		{"error_503.http", classify.TypeUnavailable, false, 0},
		{"malformed_200.http", classify.TypeUnavailable, false, 0},
	}
	for _, tt := range tests {
		for name, in := range newInputs {
			t.Run(tt.fixture+"/"+name, func(t *testing.T) {
				t.Parallel()
				_, err := ghEnv(t, ghServer(t, tt.fixture, nil, nil), ghStore).ExecuteActivity(name, in)
				appErr := appError(t, err)
				require.NotContains(t, err.Error(), ghSecret)
				require.Contains(t, err.Error(), `installation "1"`)
				require.Equal(t, tt.wantType, appErr.Type())
				require.Equal(t, tt.nonRetryable, appErr.NonRetryable())
				require.Equal(t, tt.delay, appErr.NextRetryDelay())
			})
		}
	}
}

func TestInvalidInputs(t *testing.T) {
	t.Parallel()
	tests := map[string]any{
		CreateCheckRun:         CreateCheckRunInput{Owner: "o", Repo: "r", Name: "n", HeadSHA: "abc"}, // no external ID
		UpdateCheckRun:         UpdateCheckRunInput{Owner: "o", Repo: "r"},
		CreateDeployment:       CreateDeploymentInput{Owner: "o", Repo: "r", Ref: "main"}, // no key
		CreateDeploymentStatus: CreateDeploymentStatusInput{Owner: "o", Repo: "r", DeploymentID: 1, State: "done"},
		RequestReviewers:       RequestReviewersInput{Owner: "o", Repo: "r", Number: 1},
		MergePullRequest:       MergePullRequestInput{Owner: "o", Repo: "r", Number: 1, Method: "fast-forward"},
		GetFileContents:        GetFileContentsInput{Owner: "o", Repo: "r"},
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := ghEnv(t, "https://api.github.com/", ghStore).ExecuteActivity(name, in)
			appErr := appError(t, err)
			require.Equal(t, classify.TypeValidation, appErr.Type())
			require.True(t, appErr.NonRetryable())
		})
	}
}

func TestActivities(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, fixture string
		in            any
		out, want     any
		sent          string
	}{
		{
			name: CreateCheckRun, fixture: "checkrun_201.http",
			in:  CreateCheckRunInput{Owner: "github", Repo: "hello-world", Name: "mighty_readme", HeadSHA: "ce587453ced02b1526dfb4cb910479d431683101", ExternalID: "hookflow-run-1", Status: "in_progress"},
			out: &CreateCheckRunOutput{}, want: &CreateCheckRunOutput{CheckRunID: 4, URL: "https://github.com/github/hello-world/runs/4", Created: true},
			sent: `{"name":"mighty_readme","head_sha":"ce587453ced02b1526dfb4cb910479d431683101","external_id":"hookflow-run-1","status":"in_progress"}`,
		},
		{
			name: UpdateCheckRun, fixture: "checkrun_200.http",
			in:  UpdateCheckRunInput{Owner: "github", Repo: "hello-world", CheckRunID: 4, Conclusion: "neutral", Title: "Mighty Readme report", Summary: "There are 0 failures found in 3 files"},
			out: &UpdateCheckRunOutput{}, want: &UpdateCheckRunOutput{CheckRunID: 4, URL: "https://github.com/github/hello-world/runs/4", Status: "completed"},
			sent: `{"conclusion":"neutral","output":{"title":"Mighty Readme report","summary":"There are 0 failures found in 3 files"}}`,
		},
		{
			name: CreateDeploymentStatus, fixture: "deployment_status_201.http",
			in:  CreateDeploymentStatusInput{Owner: "octocat", Repo: "example", DeploymentID: 42, State: "success", EnvironmentURL: "https://test-branch.lab.acme.com"},
			out: &CreateDeploymentStatusOutput{}, want: &CreateDeploymentStatusOutput{StatusID: 1},
			sent: `{"state":"success","environment_url":"https://test-branch.lab.acme.com"}`,
		},
		{
			name: RequestReviewers, fixture: "reviewers_201.http",
			in:  RequestReviewersInput{Owner: "octocat", Repo: "Hello-World", Number: 1347, Reviewers: []string{"other_user"}},
			out: &RequestReviewersOutput{}, want: &RequestReviewersOutput{Reviewers: []string{"other_user"}, TeamReviewers: []string{"justice-league"}},
			sent: `{"reviewers":["other_user"]}`,
		},
		{
			name: MergePullRequest, fixture: "merge_200.http",
			in:  MergePullRequestInput{Owner: "octocat", Repo: "Hello-World", Number: 1347, Method: "squash", SHA: "6dcb09b5b57875f334f61aebed695e2e4193db5e"},
			out: &MergePullRequestOutput{}, want: &MergePullRequestOutput{SHA: "6dcb09b5b57875f334f61aebed695e2e4193db5e"},
			sent: `{"merge_method":"squash","sha":"6dcb09b5b57875f334f61aebed695e2e4193db5e"}`,
		},
		{
			name: ListPullRequestCommits, fixture: "pull_commits_200.http",
			in:  ListPullRequestCommitsInput{Owner: "octocat", Repo: "Hello-World", Number: 1347},
			out: &ListPullRequestCommitsOutput{}, want: &ListPullRequestCommitsOutput{Commits: []PullCommit{{SHA: "6dcb09b5b57875f334f61aebed695e2e4193db5e", Message: "Fix all the bugs"}}},
		},
		{
			name: GetFileContents, fixture: "contents_file_200.http",
			in:  GetFileContentsInput{Owner: "octokit", Repo: "octokit.rb", Path: "README.md", Ref: "main"},
			out: &GetFileContentsOutput{}, want: &GetFileContentsOutput{Path: "README.md", SHA: "3d21ec53a331a6f037a91c368710b99387d012c1", Size: 56, Content: []byte("# Hello World\n\nThis is a file read by Hookflow's tests.\n")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var body []byte
			var auth string
			v, err := ghEnv(t, ghServer(t, tt.fixture, &body, &auth), ghStore).ExecuteActivity(tt.name, tt.in)
			require.NoError(t, err)
			require.NoError(t, v.Get(tt.out))
			require.Equal(t, tt.want, tt.out)
			require.Equal(t, "Bearer "+ghSecret, auth)
			if tt.sent != "" {
				require.JSONEq(t, tt.sent, string(body))
			}
		})
	}
}

func TestCreateDeploymentPayload(t *testing.T) {
	t.Parallel()
	var body []byte
	// The list holds no deployment with the key, so the activity creates one.
	url := ghRoutes(t, map[string]string{
		"GET /repos/octocat/example/deployments":  "deployments_list_200.http",
		"POST /repos/octocat/example/deployments": "deployment_201.http",
	}, &body)
	v, err := ghEnv(t, url, ghStore).ExecuteActivity(CreateDeployment, CreateDeploymentInput{
		Owner: "octocat", Repo: "example", Ref: "topic-branch", Key: "wf-1/delivery-9", RequiredContexts: []string{}, Payload: map[string]any{"deploy": "migrate"},
	})
	require.NoError(t, err)
	var out CreateDeploymentOutput
	require.NoError(t, v.Get(&out))
	require.Equal(t, CreateDeploymentOutput{DeploymentID: 1, URL: "https://api.github.com/repos/octocat/example/deployments/1", SHA: "a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d", Created: true}, out)
	var sent map[string]any
	require.NoError(t, json.Unmarshal(body, &sent))
	require.Equal(t, []any{}, sent["required_contexts"])
	require.Equal(t, map[string]any{"deploy": "migrate", "hookflow_key": "wf-1/delivery-9"}, sent["payload"])
}

func TestMergeNotMergeableIsFinalConflict(t *testing.T) {
	t.Parallel()
	// Every request answers 405, the follow-up GET included: the
	// malformed 405 body for a pull request is not "merged".
	_, err := ghEnv(t, ghServer(t, "merge_405.http", nil, nil), ghStore).ExecuteActivity(MergePullRequest, MergePullRequestInput{Installation: "7", Owner: "o", Repo: "r", Number: 1})
	appErr := appError(t, err)
	require.Equal(t, classify.TypeConflict, appErr.Type())
	require.True(t, appErr.NonRetryable())
	require.Contains(t, err.Error(), `installation "7"`)
	require.Contains(t, err.Error(), "not mergeable (merge conflicts, failing required status checks or missing reviews)")

	_, err = ghEnv(t, ghServer(t, "merge_409.http", nil, nil), ghStore).ExecuteActivity(MergePullRequest, MergePullRequestInput{Owner: "o", Repo: "r", Number: 1, SHA: "abc"})
	appErr = appError(t, err)
	require.Equal(t, classify.TypeConflict, appErr.Type())
	require.True(t, appErr.NonRetryable())
	require.Contains(t, err.Error(), "the head branch moved on from abc")
}

func TestGetFileContentsLimit(t *testing.T) {
	t.Parallel()
	_, err := ghEnv(t, ghServer(t, "contents_file_200.http", nil, nil), ghStore).ExecuteActivity(GetFileContents, GetFileContentsInput{Owner: "o", Repo: "r", Path: "README.md", MaxBytes: 10})
	appErr := appError(t, err)
	require.Equal(t, classify.TypeValidation, appErr.Type())
	require.True(t, appErr.NonRetryable())
	require.Contains(t, err.Error(), "56 bytes, over the limit of 10")
}

// ghRoutes is ghServer with a fixture per "METHOD /path"; body receives
// the last POST's body.
func ghRoutes(t *testing.T, routes map[string]string, body *[]byte) string {
	t.Helper()
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fixture, ok := routes[r.Method+" "+r.URL.Path]
		if !ok {
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusTeapot)
			return
		}
		if r.Method == http.MethodPost && body != nil {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			*body = b
			mu.Unlock()
		}
		writeFixture(t, w, fixture)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// writeFixture answers with a recorded response of
// connectors/github/testdata; a broken fixture is a 500 (and a test
// error when t is given).
func writeFixture(t *testing.T, w http.ResponseWriter, fixture string) {
	f, err := os.Open(filepath.Join("..", "..", "connectors", "github", "testdata", fixture))
	var resp *http.Response
	if err == nil {
		defer f.Close()
		resp, err = http.ReadResponse(bufio.NewReader(f), nil)
	}
	if err != nil {
		if t != nil {
			t.Errorf("fixture: %v", err)
		}
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	rb, _ := io.ReadAll(resp.Body)
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(rb)
}
