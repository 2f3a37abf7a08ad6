package jira

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/apierror"
)

const devCred = "cl1entID:s3cr3t-client-secret"

// devInfoSite is api.atlassian.com and a Jira Cloud site in one server,
// answering in the shapes Atlassian documents (PROVENANCE.md): the OAuth
// 2.0 token endpoint, /_edge/tenant_info, the bulk upload (202) and the
// branch delete (202). refuseFirst answers the first API call 401, as for
// a revoked token.
type devInfoSite struct {
	mu          sync.Mutex
	got         []seen
	tokens      int
	refuseFirst bool
	bulk        string
}

func (s *devInfoSite) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, seen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Authorization"), b})
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/oauth/token":
		var in map[string]string
		_ = json.Unmarshal(b, &in)
		if in["client_secret"] != "s3cr3t-client-secret" || in["grant_type"] != "client_credentials" || in["audience"] != "api.atlassian.com" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"access_denied","error_description":"Unauthorized"}`)
			return
		}
		s.tokens++
		_, _ = io.WriteString(w, `{"access_token":"eyJ-access-`+string(rune('0'+s.tokens))+`","scope":"manage:jira-data-provider","expires_in":3600,"token_type":"Bearer"}`)
	case r.URL.Path == "/_edge/tenant_info":
		_, _ = io.WriteString(w, `{"cloudId":"a436116f-02ce-4520-8fbb-7301462a1674"}`)
	case strings.HasPrefix(r.URL.Path, "/jira/devinfo/0.1/cloud/a436116f-02ce-4520-8fbb-7301462a1674/"):
		if s.refuseFirst {
			s.refuseFirst = false
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"code":401,"message":"Unauthorized"}`)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		if r.Method == http.MethodPost {
			_, _ = io.WriteString(w, s.bulk)
		}
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"errorMessages":["not found"]}`)
	}
}

// bulkAccepted is the documented 202 of the bulk upload, for one
// repository with a commit, a branch and a pull request, one key unknown.
const bulkAccepted = `{"acceptedDevinfoEntities":{"acme/payments":{"commits":["a7727ee6350c"],"branches":["PROJ-1-retry"],"pullRequests":["42"]}},` +
	`"failedDevinfoEntities":{"acme/other":{"errorMessages":[{"message":"updateSequenceId must be positive"}]}},"unknownIssueKeys":["NOPE-9"]}`

func newDevInfo(t *testing.T, s *devInfoSite, cloudID string) *DevInfo {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	d, err := NewDevInfo(DevInfoOptions{APIURL: srv.URL, TokenURL: srv.URL + "/oauth/token", SiteURL: srv.URL + "/", CloudID: cloudID})
	require.NoError(t, err)
	return d
}

func TestUploadDevInfo(t *testing.T) {
	t.Parallel()
	s := &devInfoSite{bulk: bulkAccepted, refuseFirst: true}
	d := newDevInfo(t, s, "")
	repo := DevRepository{ID: "acme/payments", Name: "payments", URL: "https://bitbucket.org/acme/payments", UpdateSequenceID: 1764583200000,
		Commits: []DevCommit{{ID: "a7727ee6350c", IssueKeys: []string{"PROJ-1"}, UpdateSequenceID: 1764583200000, Hash: "a7727ee6350c", DisplayID: "a7727ee",
			Message: "PROJ-1 retry", Author: DevAuthor{Name: "Emma"}, URL: "https://bitbucket.org/acme/payments/commits/a7727ee6350c", AuthorTimestamp: "2026-12-01T10:00:00Z"}}}
	got, err := d.UploadDevInfo(context.Background(), devCred, []DevRepository{repo})
	require.NoError(t, err)
	require.Equal(t, DevInfoResult{Accepted: 3, Failed: []string{"acme/other: updateSequenceId must be positive"}, UnknownIssueKeys: []string{"NOPE-9"}}, got)
	// The cloud ID once, a token, the refused upload, a fresh token, the upload.
	var calls []string
	for _, r := range s.got {
		calls = append(calls, r.Method+" "+r.Path)
	}
	require.Equal(t, []string{"GET /_edge/tenant_info", "POST /oauth/token", "POST /jira/devinfo/0.1/cloud/a436116f-02ce-4520-8fbb-7301462a1674/bulk",
		"POST /oauth/token", "POST /jira/devinfo/0.1/cloud/a436116f-02ce-4520-8fbb-7301462a1674/bulk"}, calls)
	require.Equal(t, "Bearer eyJ-access-2", s.got[4].Auth)
	var sent struct {
		Repositories       []DevRepository `json:"repositories"`
		PreventTransitions bool            `json:"preventTransitions"`
	}
	require.NoError(t, json.Unmarshal(s.got[4].Body, &sent))
	require.Equal(t, []DevRepository{repo}, sent.Repositories)
	require.True(t, sent.PreventTransitions, "prjira owns transitions")

	// The token is cached: a second upload asks for none.
	_, err = d.UploadDevInfo(context.Background(), devCred, []DevRepository{repo})
	require.NoError(t, err)
	require.Equal(t, 2, s.tokens)
}

func TestDeleteDevBranch(t *testing.T) {
	t.Parallel()
	s := &devInfoSite{}
	d := newDevInfo(t, s, "a436116f-02ce-4520-8fbb-7301462a1674")
	require.NoError(t, d.DeleteDevBranch(context.Background(), devCred, "acme/payments", "PROJ-1-retry", 1764583260000))
	last := s.got[len(s.got)-1]
	require.Equal(t, "/jira/devinfo/0.1/cloud/a436116f-02ce-4520-8fbb-7301462a1674/repository/acme%2Fpayments/branch/PROJ-1-retry", last.Path)
	require.Equal(t, "_updateSequenceId=1764583260000", last.RawQuery)
}

func TestDevInfoErrors(t *testing.T) {
	t.Parallel()
	_, err := NewDevInfo(DevInfoOptions{})
	require.ErrorContains(t, err, "a cloud ID or the site URL is required")

	// A refused client secret: 401, no secret in the error.
	s := &devInfoSite{}
	d := newDevInfo(t, s, "c")
	_, err = d.UploadDevInfo(context.Background(), "cl1entID:wrong-s3cr3t", nil)
	var ae *apierror.Error
	require.ErrorAs(t, err, &ae)
	require.Equal(t, http.StatusUnauthorized, ae.Status)
	require.NotContains(t, err.Error(), "s3cr3t")
	require.Contains(t, err.Error(), "access_denied")
	_, err = d.UploadDevInfo(context.Background(), "no-colon", nil)
	require.ErrorAs(t, err, &ae)

	// Rate limited: Retry-After reaches the activity layer.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/token" {
			_, _ = io.WriteString(w, `{"access_token":"t","expires_in":3600}`)
			return
		}
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"errorMessages":["Rate limit exceeded."]}`)
	}))
	t.Cleanup(srv.Close)
	d, err = NewDevInfo(DevInfoOptions{APIURL: srv.URL, TokenURL: srv.URL + "/oauth/token", CloudID: "c"})
	require.NoError(t, err)
	_, err = d.UploadDevInfo(context.Background(), devCred, nil)
	require.ErrorAs(t, err, &ae)
	require.Equal(t, http.StatusTooManyRequests, ae.Status)
	require.Equal(t, 30*time.Second, ae.RetryAfter)
	require.Contains(t, err.Error(), "Rate limit exceeded.")
}
