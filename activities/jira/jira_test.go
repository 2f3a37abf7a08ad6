package jira

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/hookflow/hookflow/activities/activitytest"
	"github.com/hookflow/hookflow/activities/classify"
	jiraconn "github.com/hookflow/hookflow/connectors/jira"
	"github.com/hookflow/hookflow/connectors/replaytest"
	"github.com/hookflow/hookflow/connectors/tokens"
)

const secret = "bot@example.com:ATATT3xFfGF0-s3cr3t-api-token"

// fixtures are the connector's recorded responses.
var fixtures = filepath.Join("..", "..", "connectors", "jira", "testdata")

// server answers "METHOD /path" with the recorded response named in routes.
func server(t *testing.T, routes map[string]string) string {
	return replaytest.Routes(t, fixtures, routes)
}

func env(t *testing.T, baseURL string, store tokens.Store) *testsuite.TestActivityEnvironment {
	t.Helper()
	c, err := jiraconn.New(jiraconn.Options{BaseURL: baseURL})
	require.NoError(t, err)
	e := activitytest.Env()
	Register(e, &Activities{Client: c, Tokens: store})
	return e
}

func TestActivitiesSucceed(t *testing.T) {
	t.Parallel()
	routes := map[string]string{
		"GET /rest/api/2/issue/EX-1":              "get_issue_200.http",
		"GET /rest/api/2/issue/EX-1/comment":      "comments_200.http",
		"POST /rest/api/2/issue/EX-1/comment":     "add_comment_201.http",
		"GET /rest/api/2/issue/EX-1/transitions":  "transitions_200.http",
		"POST /rest/api/2/issue/EX-1/transitions": "no_content_204.http",
		"POST /rest/api/2/issue/EX-1/remotelink":  "remote_link_201.http",
		"PUT /rest/api/2/issue/EX-1":              "no_content_204.http",
		"POST /rest/api/2/issue":                  "create_issue_201.http",
	}
	e := env(t, server(t, routes), tokens.Static{"jira": secret})
	tests := []struct {
		name  string
		input any
		check func(t *testing.T, v interface{ Get(any) error })
	}{
		{GetIssue, GetIssueInput{Key: "EX-1"}, func(t *testing.T, v interface{ Get(any) error }) {
			var out GetIssueOutput
			require.NoError(t, v.Get(&out))
			require.Equal(t, "EX-1", out.Issue.Key)
		}},
		{AddComment, AddCommentInput{Key: "EX-1", Body: "hi", Marker: "wf-1/delivery-9"}, func(t *testing.T, v interface{ Get(any) error }) {
			var out AddCommentOutput
			require.NoError(t, v.Get(&out))
			require.Equal(t, AddCommentOutput{CommentID: "10001", Self: "https://your-domain.atlassian.net/rest/api/2/issue/10010/comment/10001"}, out)
		}},
		{TransitionIssue, TransitionIssueInput{Key: "EX-1", Transition: "QA Review"}, func(t *testing.T, v interface{ Get(any) error }) {
			var out TransitionIssueOutput
			require.NoError(t, v.Get(&out))
			require.Equal(t, TransitionIssueOutput{TransitionID: "711", Status: "Closed", Changed: true}, out)
		}},
		{AddRemoteLink, AddRemoteLinkInput{Key: "EX-1", Link: RemoteLink{URL: "https://x/", Title: "x"}}, func(t *testing.T, v interface{ Get(any) error }) {
			var out AddRemoteLinkOutput
			require.NoError(t, v.Get(&out))
			require.Equal(t, 10000, out.LinkID)
		}},
		{SetFields, SetFieldsInput{Key: "EX-1", Fields: map[string]any{"summary": "s"}}, func(t *testing.T, v interface{ Get(any) error }) {
			var out SetFieldsOutput
			require.NoError(t, v.Get(&out))
		}},
		{CreateIssue, CreateIssueInput{Issue: NewIssue{Project: "ED", IssueType: "Task", Summary: "s"}}, func(t *testing.T, v interface{ Get(any) error }) {
			var out CreateIssueOutput
			require.NoError(t, v.Get(&out))
			require.Equal(t, "ED-24", out.Key)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := e.ExecuteActivity(tt.name, tt.input)
			require.NoError(t, err)
			tt.check(t, v)
		})
	}
}

// inputs is one valid input per activity, for the error tests.
var inputs = map[string]any{
	GetIssue:        GetIssueInput{Installation: "acme", Key: "EX-1"},
	AddComment:      AddCommentInput{Installation: "acme", Key: "EX-1", Body: "hi", Marker: "m"},
	TransitionIssue: TransitionIssueInput{Installation: "acme", Key: "EX-1", Transition: "QA Review"},
	AddRemoteLink:   AddRemoteLinkInput{Installation: "acme", Key: "EX-1", Link: RemoteLink{URL: "https://x/", Title: "x"}},
	SetFields:       SetFieldsInput{Installation: "acme", Key: "EX-1", Fields: map[string]any{"summary": "s"}},
	CreateIssue:     CreateIssueInput{Installation: "acme", Issue: NewIssue{Project: "ED", IssueType: "Task", Summary: "s"}},

	TransitionToStatus: TransitionToStatusInput{Installation: "acme", Key: "EX-1", Status: "Closed"},
	UpsertComment:      UpsertCommentInput{Installation: "acme", Key: "EX-1", Body: "hi", Marker: "m"},
}

func TestActivityErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture      string
		wantType     string
		nonRetryable bool
		delay        time.Duration
	}{
		{"error_400.http", classify.TypeValidation, true, 0},
		{"error_401.http", classify.TypeAuth, true, 0},
		{"error_403.http", classify.TypeAuth, true, 0},
		{"error_404.http", classify.TypeNotFound, true, 0},
		{"error_409.http", classify.TypeConflict, true, 0},
		{"error_422.http", classify.TypeValidation, true, 0},
		{"error_429.http", classify.TypeRateLimited, false, 17 * time.Second},
		{"error_503.http", classify.TypeUnavailable, false, 0},
		{"malformed_200.http", classify.TypeUnavailable, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			e := env(t, server(t, map[string]string{"*": tt.fixture}), tokens.Static{"jira": secret})
			for name, in := range inputs {
				if name == SetFields && tt.fixture == "malformed_200.http" {
					continue // an edit's 2xx body is not read
				}
				_, err := e.ExecuteActivity(name, in)
				requireAppError(t, err, tt.wantType, tt.nonRetryable)
				var appErr *temporal.ApplicationError
				require.True(t, errors.As(err, &appErr))
				require.Equal(t, tt.delay, appErr.NextRetryDelay(), name)
			}
		})
	}
}

func TestActivityFinalErrors(t *testing.T) {
	t.Parallel()
	url := server(t, map[string]string{"GET /rest/api/2/issue/EX-1/transitions": "transitions_200.http", "GET /rest/api/2/issue/EX-1": "get_issue_200.http"})
	tests := []struct {
		name     string
		store    tokens.Store
		activity string
		input    any
		wantType string
		wantMsg  string
	}{
		{"missing token", tokens.Static{}, GetIssue, inputs[GetIssue], classify.TypeAuth, `jira: no credential for site "acme"`},
		{"transition not found", tokens.Static{"jira": secret}, TransitionIssue, TransitionIssueInput{Key: "EX-1", Transition: "Deploy"}, TypeTransitionNotFound, `available: "Close Issue", "QA Review"`},
		{"no transition to status", tokens.Static{"jira": secret}, TransitionToStatus, TransitionToStatusInput{Key: "EX-1", Status: "In Review"}, TypeTransitionNotFound, `no transition to status "In Review"`},
		{"status required", tokens.Static{"jira": secret}, TransitionToStatus, TransitionToStatusInput{Key: "EX-1"}, classify.TypeValidation, "status are required"},
		{"global ID required", tokens.Static{"jira": secret}, DeleteRemoteLink, DeleteRemoteLinkInput{Key: "EX-1"}, classify.TypeValidation, "global ID are required"},
		{"invalid input", tokens.Static{"jira": secret}, AddComment, AddCommentInput{Key: "EX-1", Body: "x"}, classify.TypeValidation, "marker are required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := env(t, url, tt.store).ExecuteActivity(tt.activity, tt.input)
			requireAppError(t, err, tt.wantType, true)
			require.Contains(t, err.Error(), tt.wantMsg)
		})
	}
}

func requireAppError(t *testing.T, err error, typ string, nonRetryable bool) {
	t.Helper()
	appErr := activitytest.RequireAppError(t, err, typ, nonRetryable, "s3cr3t")
	require.NotContains(t, appErr.Error(), "s3cr3t")
}

func TestTransitionToStatusAndDeleteRemoteLink(t *testing.T) {
	t.Parallel()
	e := env(t, server(t, map[string]string{
		"GET /rest/api/2/issue/EX-1":               "get_issue_200.http",
		"GET /rest/api/2/issue/EX-1/transitions":   "transitions_200.http",
		"POST /rest/api/2/issue/EX-1/transitions":  "no_content_204.http",
		"GET /rest/api/2/issue/EX-2":               "status_only_200.http",
		"DELETE /rest/api/2/issue/EX-1/remotelink": "no_content_204.http",
		"DELETE /rest/api/2/issue/EX-2/remotelink": "error_404.http",
	}), tokens.Static{"jira": secret})
	v, err := e.ExecuteActivity(TransitionToStatus, TransitionToStatusInput{Key: "EX-1", Status: "closed"})
	require.NoError(t, err)
	var out TransitionToStatusOutput
	require.NoError(t, v.Get(&out))
	require.Equal(t, TransitionToStatusOutput{TransitionID: "711", Status: "Closed", Changed: true}, out)
	v, err = e.ExecuteActivity(TransitionToStatus, TransitionToStatusInput{Key: "EX-2", Status: "Done"})
	require.NoError(t, err)
	require.NoError(t, v.Get(&out))
	require.Equal(t, TransitionToStatusOutput{Status: "Done"}, out)
	for _, key := range []string{"EX-1", "EX-2"} { // the second has no such link: still success
		_, err = e.ExecuteActivity(DeleteRemoteLink, DeleteRemoteLinkInput{Key: key, GlobalID: "g"})
		require.NoError(t, err, key)
	}
}

func TestUpsertCommentAndNew(t *testing.T) {
	t.Parallel()
	url := server(t, map[string]string{
		"GET /rest/api/2/issue/EX-1/comment":       "comments_200.http",
		"PUT /rest/api/2/issue/EX-1/comment/10001": "no_content_204.http",
	})
	a, err := New(Options{SiteURL: url, Tokens: tokens.Static{"jira": secret}})
	require.NoError(t, err)
	require.NotNil(t, a.DevInfo, "a site gives the Development Information API too (cloud ID from tenant_info)")
	e := activitytest.Env()
	Register(e, a)
	v, err := e.ExecuteActivity(UpsertComment, UpsertCommentInput{Key: "EX-1", Body: "Deployed to *staging*", Marker: "wf-1/delivery-9"})
	require.NoError(t, err)
	var out UpsertCommentOutput
	require.NoError(t, v.Get(&out))
	require.Equal(t, UpsertCommentOutput{CommentID: "10001", Result: "updated"}, out)

	none, err := New(Options{CloudID: "c-1", Tokens: tokens.Static{}})
	require.NoError(t, err)
	require.Nil(t, none.Client)
	e = activitytest.Env()
	Register(e, none)
	_, err = e.ExecuteActivity(GetIssue, GetIssueInput{Key: "EX-1"})
	requireAppError(t, err, classify.TypeValidation, true)
	_, err = New(Options{SiteURL: "not a url"})
	require.Error(t, err)
}
