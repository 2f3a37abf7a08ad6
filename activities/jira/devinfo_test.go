package jira

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/activities/activitytest"
	"github.com/hookflow/hookflow/activities/classify"
	jiraconn "github.com/hookflow/hookflow/connectors/jira"
	"github.com/hookflow/hookflow/connectors/tokens"
)

const devCred = "cl1entID:s3cr3t-client-secret"

func TestDevInfoActivities(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies [][]byte
	var auths []string
	status := http.StatusAccepted
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/oauth/token" {
			_, _ = io.WriteString(w, `{"access_token":"eyJ-access","expires_in":3600,"token_type":"Bearer"}`)
			return
		}
		bodies = append(bodies, b)
		auths = append(auths, r.Header.Get("Authorization"))
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "45")
		}
		w.WriteHeader(status)
		if r.Method == http.MethodPost {
			_, _ = io.WriteString(w, `{"acceptedDevinfoEntities":{"acme/payments":{"commits":["c1"],"branches":[],"pullRequests":["42"]}},"unknownIssueKeys":[]}`)
		}
	}))
	t.Cleanup(srv.Close)
	d, err := jiraconn.NewDevInfo(jiraconn.DevInfoOptions{APIURL: srv.URL, TokenURL: srv.URL + "/oauth/token", CloudID: "cloud-1"})
	require.NoError(t, err)
	e := activitytest.Env()
	Register(e, &Activities{DevInfo: d, Tokens: tokens.Static{DevInfoSystem: devCred}})

	in := UploadDevInfoInput{Installation: "acme.atlassian.net", Repositories: []DevRepository{{ID: "acme/payments", Name: "payments", URL: "https://bitbucket.org/acme/payments",
		UpdateSequenceID: 2, Commits: []DevCommit{{ID: "c1", Hash: "c1", Message: "PROJ-1 x", IssueKeys: []string{"PROJ-1"}, UpdateSequenceID: 2, AuthorName: "Emma"}},
		PullRequests: []DevPullRequest{{ID: "42", Status: "OPEN", Title: "PROJ-1 retry", IssueKeys: []string{"PROJ-1"}, UpdateSequenceID: 2, SourceBranch: "PROJ-1-retry"}}}}}
	v, err := e.ExecuteActivity(UploadDevInfo, in)
	require.NoError(t, err)
	var out UploadDevInfoOutput
	require.NoError(t, v.Get(&out))
	require.Equal(t, 2, out.Accepted)
	var sent struct {
		Repositories []map[string]any `json:"repositories"`
	}
	require.NoError(t, json.Unmarshal(bodies[0], &sent))
	require.Equal(t, "acme/payments", sent.Repositories[0]["id"])
	require.Equal(t, "Bearer eyJ-access", auths[0])

	_, err = e.ExecuteActivity(DeleteDevBranch, DeleteDevBranchInput{RepositoryID: "acme/payments", BranchID: "PROJ-1-retry", UpdateSequenceID: 3})
	require.NoError(t, err)

	mu.Lock()
	status = http.StatusServiceUnavailable
	mu.Unlock()
	_, err = e.ExecuteActivity(UploadDevInfo, in)
	appErr := activitytest.RequireAppError(t, err, classify.TypeRateLimited, false, "s3cr3t")
	require.Equal(t, 45*time.Second, appErr.NextRetryDelay())

	for name, bad := range map[string]any{
		UploadDevInfo:   UploadDevInfoInput{},
		DeleteDevBranch: DeleteDevBranchInput{RepositoryID: "r"},
	} {
		_, err := e.ExecuteActivity(name, bad)
		activitytest.RequireAppError(t, err, classify.TypeValidation, true, "s3cr3t")
	}
	unconfigured := activitytest.Env()
	Register(unconfigured, &Activities{Tokens: tokens.Static{}})
	_, err = unconfigured.ExecuteActivity(UploadDevInfo, in)
	activitytest.RequireAppError(t, err, classify.TypeValidation, true, "s3cr3t")
}
