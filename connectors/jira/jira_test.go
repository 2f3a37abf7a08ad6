package jira

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/apierror"
	"github.com/hookflow/hookflow/connectors/replaytest"
)

const secret = "ATATT3xFfGF0-s3cr3t-api-token"

// seen is one request the replay server received.
type seen struct {
	Method, Path, RawQuery, Auth string
	Body                         []byte
}

// replay serves recorded responses from testdata/: routes maps
// "METHOD /path" to a file holding a raw HTTP response.
func replay(t *testing.T, routes map[string]string) (*httptest.Server, func() []seen) {
	t.Helper()
	var mu sync.Mutex
	var reqs []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs = append(reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), body})
		mu.Unlock()
		name, ok := routes[r.Method+" "+r.URL.Path]
		if !ok {
			http.Error(w, "no route "+r.Method+" "+r.URL.Path, http.StatusTeapot)
			return
		}
		writeRecorded(t, w, name)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seen { mu.Lock(); defer mu.Unlock(); return append([]seen(nil), reqs...) }
}

func writeRecorded(t *testing.T, w http.ResponseWriter, name string) {
	replaytest.WriteResponse(t, w, filepath.Join("testdata", name))
}

func newClient(t *testing.T, url string, email string) *Client {
	t.Helper()
	c, err := New(Options{BaseURL: url, Email: email})
	require.NoError(t, err)
	return c
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"", "not a url", "ftp://x/", "https://"} {
		_, err := New(Options{BaseURL: base})
		require.Error(t, err, base)
	}
	c, err := New(Options{BaseURL: "https://example.atlassian.net"})
	require.NoError(t, err)
	require.Equal(t, "https://example.atlassian.net/", c.base)
	require.Equal(t, 30*time.Second, c.http.Timeout)
}

func TestAuth(t *testing.T) {
	t.Parallel()
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
	tests := []struct {
		name, email, cred, want string
	}{
		{"cloud email in options", "bot@example.com", secret, basic("bot@example.com", secret)},
		{"cloud email:token stored", "", "bot@example.com:" + secret, basic("bot@example.com", secret)},
		{"data center PAT", "", "NjQ2MzE5NjQ5OTQ5OmpMUe", "Bearer NjQ2MzE5NjQ5OTQ5OmpMUe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, reqs := replay(t, map[string]string{"GET /rest/api/2/issue/EX-1": "get_issue_200.http"})
			_, err := newClient(t, srv.URL, tt.email).GetIssue(context.Background(), tt.cred, "EX-1", nil)
			require.NoError(t, err)
			require.Equal(t, tt.want, reqs()[0].Auth)
		})
	}
}

func TestGetIssue(t *testing.T) {
	t.Parallel()
	srv, reqs := replay(t, map[string]string{"GET /jira/rest/api/2/issue/EX-1": "get_issue_200.http"})
	c := newClient(t, srv.URL+"/jira", "")
	is, err := c.GetIssue(context.Background(), secret, "EX-1", []string{"summary", "customfield_10010"})
	require.NoError(t, err)
	require.Equal(t, "EX-1", is.Key)
	require.Equal(t, "10002", is.ID)
	require.Equal(t, "EX", is.Project)
	require.Equal(t, "example bug report", is.Description)
	require.Equal(t, "fields=summary%2Ccustomfield_10010", reqs()[0].RawQuery)
}

func TestAddComment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, marker string
		want         Comment
		created      bool
		wantPost     string
	}{
		{"no marker posts", "", Comment{ID: "10000", Self: "http://www.example.com/jira/rest/api/2/issue/10010/comment/10000"}, true, `{"body":"Deployed to *prod*"}`},
		{"marker found returns existing", "wf-1/delivery-9", Comment{ID: "10001", Self: "https://your-domain.atlassian.net/rest/api/2/issue/10010/comment/10001"}, false, ""},
		{"marker absent posts with property", "wf-2/delivery-3", Comment{ID: "10000", Self: "http://www.example.com/jira/rest/api/2/issue/10010/comment/10000"}, true,
			`{"body":"Deployed to *prod*","properties":[{"key":"hookflow","value":{"marker":"wf-2/delivery-3"}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, reqs := replay(t, map[string]string{
				"GET /rest/api/2/issue/EX-1/comment":  "comments_200.http",
				"POST /rest/api/2/issue/EX-1/comment": "add_comment_201.http",
			})
			cm, created, err := newClient(t, srv.URL, "").AddComment(context.Background(), secret, "EX-1", "Deployed to *prod*", tt.marker)
			require.NoError(t, err)
			require.Equal(t, tt.want, cm)
			require.Equal(t, tt.created, created)
			rs := reqs()
			last := rs[len(rs)-1]
			if tt.wantPost == "" {
				require.Equal(t, http.MethodGet, last.Method)
				require.Contains(t, last.RawQuery, "expand=properties")
				return
			}
			require.Equal(t, http.MethodPost, last.Method)
			require.JSONEq(t, tt.wantPost, string(last.Body))
		})
	}
}

func TestTransitionIssue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		transName string
		opts      TransitionOptions
		routes    map[string]string
		want      TransitionResult
		wantBody  string
		wantErr   string
	}{
		{
			name: "by exact name", transName: "QA Review",
			routes:   map[string]string{"GET /rest/api/2/issue/EX-1/transitions": "transitions_200.http", "POST /rest/api/2/issue/EX-1/transitions": "no_content_204.http"},
			want:     TransitionResult{ID: "711", To: "Closed", Changed: true},
			wantBody: `{"transition":{"id":"711"}}`,
		},
		{
			name: "case-insensitive with fields and comment", transName: "close issue",
			opts:     TransitionOptions{Fields: map[string]any{"resolution": map[string]string{"name": "Done"}}, Comment: "done by hookflow"},
			routes:   map[string]string{"GET /rest/api/2/issue/EX-1/transitions": "transitions_200.http", "POST /rest/api/2/issue/EX-1/transitions": "no_content_204.http"},
			want:     TransitionResult{ID: "2", To: "In Progress", Changed: true},
			wantBody: `{"transition":{"id":"2"},"fields":{"resolution":{"name":"Done"}},"update":{"comment":[{"add":{"body":"done by hookflow"}}]}}`,
		},
		{
			name: "already in target status", transName: "Done", opts: TransitionOptions{TargetStatus: "done"},
			routes: map[string]string{"GET /rest/api/2/issue/EX-1": "status_only_200.http"},
			want:   TransitionResult{To: "Done"},
		},
		{
			name: "missing name lists the available ones", transName: "Deploy",
			routes:  map[string]string{"GET /rest/api/2/issue/EX-1/transitions": "transitions_200.http"},
			wantErr: `jira: transition EX-1: no transition named "Deploy"; available: "Close Issue", "QA Review"`,
		},
		{
			name: "conflict", transName: "QA Review",
			routes:  map[string]string{"GET /rest/api/2/issue/EX-1/transitions": "transitions_200.http", "POST /rest/api/2/issue/EX-1/transitions": "error_409.http"},
			wantErr: `jira: transition EX-1 to "QA Review": HTTP 409: The issue could not be updated due to a conflicting update.`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, reqs := replay(t, tt.routes)
			got, err := newClient(t, srv.URL, "").TransitionIssue(context.Background(), secret, "EX-1", tt.transName, tt.opts)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			if tt.wantBody != "" {
				rs := reqs()
				require.JSONEq(t, tt.wantBody, string(rs[len(rs)-1].Body))
			}
		})
	}
	var tnf *TransitionNotFoundError
	srv, _ := replay(t, map[string]string{"GET /rest/api/2/issue/EX-1/transitions": "transitions_200.http"})
	_, err := newClient(t, srv.URL, "").TransitionIssue(context.Background(), secret, "EX-1", "Nope", TransitionOptions{})
	require.True(t, errors.As(err, &tnf))
	require.Equal(t, []string{"Close Issue", "QA Review"}, tnf.Available)
}

func TestAddRemoteLink(t *testing.T) {
	t.Parallel()
	srv, reqs := replay(t, map[string]string{"POST /rest/api/2/issue/MKY-1/remotelink": "remote_link_201.http"})
	got, err := newClient(t, srv.URL, "").AddRemoteLink(context.Background(), secret, "MKY-1", RemoteLink{
		URL: "https://github.com/o/r/pull/7", Title: "o/r#7", Relationship: "mentioned in", Resolved: true,
	})
	require.NoError(t, err)
	require.Equal(t, RemoteLinkResult{ID: 10000, Self: "https://your-domain.atlassian.net/rest/api/issue/MKY-1/remotelink/10000"}, got)
	require.JSONEq(t, `{"globalId":"https://github.com/o/r/pull/7","relationship":"mentioned in","object":{"url":"https://github.com/o/r/pull/7","title":"o/r#7","status":{"resolved":true}}}`, string(reqs()[0].Body))
}

func TestSetFields(t *testing.T) {
	t.Parallel()
	srv, reqs := replay(t, map[string]string{"PUT /rest/api/2/issue/EX-1": "no_content_204.http"})
	c := newClient(t, srv.URL, "")
	err := c.SetFields(context.Background(), secret, "EX-1", map[string]any{"summary": "new"}, map[string]any{"labels": []any{map[string]string{"add": "deployed"}}})
	require.NoError(t, err)
	require.JSONEq(t, `{"fields":{"summary":"new"},"update":{"labels":[{"add":"deployed"}]}}`, string(reqs()[0].Body))
	require.Error(t, c.SetFields(context.Background(), secret, "EX-1", nil, nil))
}

func TestCreateIssue(t *testing.T) {
	t.Parallel()
	srv, reqs := replay(t, map[string]string{"POST /rest/api/2/issue": "create_issue_201.http"})
	got, err := newClient(t, srv.URL, "").CreateIssue(context.Background(), secret, NewIssue{
		Project: "ED", IssueType: "Task", Summary: "Roll back 1.2.3", Labels: []string{"hookflow"}, Fields: map[string]any{"priority": map[string]string{"name": "High"}},
	})
	require.NoError(t, err)
	require.Equal(t, Created{ID: "10000", Key: "ED-24", Self: "https://your-domain.atlassian.net/rest/api/2/issue/10000"}, got)
	var body map[string]map[string]any
	require.NoError(t, json.Unmarshal(reqs()[0].Body, &body))
	require.Equal(t, map[string]any{"key": "ED"}, body["fields"]["project"])
	require.Equal(t, map[string]any{"name": "High"}, body["fields"]["priority"])
}

// TestErrors replays each recorded error on every operation and checks
// the *apierror.Error the activity layer will classify.
func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture    string
		status     int
		retryAfter time.Duration
		message    string
	}{
		{"error_400.http", 400, 0, "project: Specify a valid project ID or key; summary: You must specify a summary of the issue."},
		{"error_401.http", 401, 0, "Client must be authenticated to access this resource."},
		{"error_403.http", 403, 0, "You do not have permission to create issues in this project."},
		{"error_404.http", 404, 0, "Issue does not exist or you do not have permission to see it."},
		{"error_409.http", 409, 0, "The issue could not be updated due to a conflicting update."},
		{"error_422.http", 422, 0, "A configuration problem prevents the creation of the issue."},
		{"error_429.http", 429, 17 * time.Second, "Rate limit exceeded."},
		{"error_503.http", 503, 0, ""},
		{"malformed_200.http", 0, 0, "malformed response"},
	}
	ops := map[string]func(c *Client) error{
		"get": func(c *Client) error { _, err := c.GetIssue(context.Background(), secret, "EX-1", nil); return err },
		"comment": func(c *Client) error {
			_, _, err := c.AddComment(context.Background(), secret, "EX-1", "x", "m")
			return err
		},
		"link": func(c *Client) error {
			_, err := c.AddRemoteLink(context.Background(), secret, "EX-1", RemoteLink{URL: "https://x/"})
			return err
		},
		"create": func(c *Client) error {
			_, err := c.CreateIssue(context.Background(), secret, NewIssue{Project: "EX", IssueType: "Task", Summary: "s"})
			return err
		},
		"transitions": func(c *Client) error { _, err := c.Transitions(context.Background(), secret, "EX-1"); return err },
	}
	for _, tt := range tests {
		for opName, op := range ops {
			t.Run(tt.fixture+"/"+opName, func(t *testing.T) {
				t.Parallel()
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeRecorded(t, w, tt.fixture) }))
				t.Cleanup(srv.Close)
				err := op(newClient(t, srv.URL, ""))
				e, ok := apierror.As(err)
				require.True(t, ok, "%T %v", err, err)
				require.Equal(t, System, e.System)
				require.Equal(t, tt.status, e.Status)
				require.Equal(t, tt.retryAfter, e.RetryAfter)
				require.Equal(t, tt.message, e.Message)
				require.NotContains(t, err.Error(), secret)
			})
		}
	}
}

func TestNetworkErrorAndCancel(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := newClient(t, url, "").GetIssue(context.Background(), secret, "EX-1", nil)
	e, ok := apierror.As(err)
	require.True(t, ok)
	require.Zero(t, e.Status)
	require.True(t, e.Retryable())
	require.NotContains(t, err.Error(), secret)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = newClient(t, url, "").GetIssue(ctx, secret, "EX-1", nil)
	require.ErrorIs(t, err, context.Canceled)
}

func TestTransitionToStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   string
		opts     TransitionOptions
		routes   map[string]string
		want     TransitionResult
		wantBody string
		wantErr  string
		calls    int
	}{
		{
			name: "resolved through the transition leading there", status: "closed",
			opts: TransitionOptions{Comment: "merged"},
			routes: map[string]string{"GET /rest/api/2/issue/EX-1": "get_issue_200.http",
				"GET /rest/api/2/issue/EX-1/transitions": "transitions_200.http", "POST /rest/api/2/issue/EX-1/transitions": "no_content_204.http"},
			want:     TransitionResult{ID: "711", To: "Closed", Changed: true},
			wantBody: `{"transition":{"id":"711"},"update":{"comment":[{"add":{"body":"merged"}}]}}`,
			calls:    3,
		},
		{
			name: "already there: no transition", status: "DONE",
			routes: map[string]string{"GET /rest/api/2/issue/EX-1": "status_only_200.http"},
			want:   TransitionResult{To: "Done"}, calls: 1,
		},
		{
			name: "no transition leads there", status: "In Review",
			routes: map[string]string{"GET /rest/api/2/issue/EX-1": "get_issue_200.http",
				"GET /rest/api/2/issue/EX-1/transitions": "transitions_200.http"},
			wantErr: `jira: transition EX-1: no transition to status "In Review"; available: "Close Issue → In Progress", "QA Review → Closed"`,
			calls:   2,
		},
		{
			name: "rate limited", status: "Closed",
			routes:  map[string]string{"GET /rest/api/2/issue/EX-1": "error_429.http"},
			wantErr: `jira: get issue EX-1: HTTP 429: Rate limit exceeded.`, calls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, reqs := replay(t, tt.routes)
			got, err := newClient(t, srv.URL, "").TransitionToStatus(context.Background(), secret, "EX-1", tt.status, tt.opts)
			rs := reqs()
			require.Len(t, rs, tt.calls)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			require.Equal(t, "fields=status", rs[0].RawQuery)
			if tt.wantBody != "" {
				require.JSONEq(t, tt.wantBody, string(rs[len(rs)-1].Body))
			}
		})
	}
	var tnf *TransitionNotFoundError
	srv, _ := replay(t, map[string]string{"GET /rest/api/2/issue/EX-1": "get_issue_200.http", "GET /rest/api/2/issue/EX-1/transitions": "transitions_200.http"})
	_, err := newClient(t, srv.URL, "").TransitionToStatus(context.Background(), secret, "EX-1", "In Review", TransitionOptions{})
	require.True(t, errors.As(err, &tnf))
	require.Equal(t, "In Review", tnf.Status)
	var ae *apierror.Error
	srv, _ = replay(t, map[string]string{"GET /rest/api/2/issue/EX-1": "error_429.http"})
	_, err = newClient(t, srv.URL, "").TransitionToStatus(context.Background(), secret, "EX-1", "Done", TransitionOptions{})
	require.True(t, errors.As(err, &ae))
	require.Equal(t, 17*time.Second, ae.RetryAfter)
}

func TestDeleteRemoteLink(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file    string
		wantErr bool
	}{{"no_content_204.http", false}, {"error_404.http", false}, {"error_503.http", true}, {"error_403.http", true}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			srv, reqs := replay(t, map[string]string{"DELETE /rest/api/2/issue/EX-1/remotelink": tt.file})
			err := newClient(t, srv.URL, "").DeleteRemoteLink(context.Background(), secret, "EX-1", "hookflow:github.com/o/r/pull/7")
			if tt.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
			}
			rs := reqs()
			require.Len(t, rs, 1)
			require.Equal(t, "globalId=hookflow%3Agithub.com%2Fo%2Fr%2Fpull%2F7", rs[0].RawQuery)
		})
	}
	require.Error(t, newClient(t, "http://127.0.0.1:1", "").DeleteRemoteLink(context.Background(), secret, "EX-1", ""))
}

func TestUpsertComment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, marker, body string
		did                string
		last               string // the last request: "METHOD path"
		wantBody           string
	}{
		{"marker absent posts", "wf-2/devinfo", "PROJ-1: 3 commits", "created", "POST /rest/api/2/issue/EX-1/comment",
			`{"body":"PROJ-1: 3 commits","properties":[{"key":"hookflow","value":{"marker":"wf-2/devinfo"}}]}`},
		{"marker found with another body edits it", "wf-1/delivery-9", "Deployed to *staging*", "updated", "PUT /rest/api/2/issue/EX-1/comment/10001",
			`{"body":"Deployed to *staging*"}`},
		{"marker found with the same body does nothing", "wf-1/delivery-9", "Deployed to *prod*", "unchanged", "GET /rest/api/2/issue/EX-1/comment", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, reqs := replay(t, map[string]string{
				"GET /rest/api/2/issue/EX-1/comment":       "comments_200.http",
				"POST /rest/api/2/issue/EX-1/comment":      "add_comment_201.http",
				"PUT /rest/api/2/issue/EX-1/comment/10001": "add_comment_201.http",
			})
			_, did, err := newClient(t, srv.URL, "").UpsertComment(context.Background(), secret, "EX-1", tt.body, tt.marker)
			require.NoError(t, err)
			require.Equal(t, tt.did, did)
			rs := reqs()
			last := rs[len(rs)-1]
			require.Equal(t, tt.last, last.Method+" "+last.Path)
			if tt.wantBody != "" {
				require.JSONEq(t, tt.wantBody, string(last.Body))
			}
		})
	}
	_, _, err := newClient(t, "https://example.atlassian.net", "").UpsertComment(context.Background(), secret, "EX-1", "x", "")
	require.Error(t, err, "a marker is required")
}
