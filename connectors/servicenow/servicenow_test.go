package servicenow

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/apierror"
	"github.com/hookflow/hookflow/connectors/replaytest"
)

const (
	secret   = "hookflow.integration:s3cr3t-P4ssw0rd"
	oauthCrd = "5bd4b1e3d4f84a20a2c2e0ee8f0c1a2b:s3cr3t-client-secret"
)

type seen struct {
	Method, Path, Auth string
	Query              url.Values
	Body               []byte
}

// replay serves recorded responses: routes maps "METHOD /path" to a list
// of fixture files answered in turn (the last one repeats).
func replay(t *testing.T, routes map[string][]string) (*httptest.Server, func() []seen) {
	t.Helper()
	var mu sync.Mutex
	var reqs []seen
	calls := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		route := r.Method + " " + r.URL.Path
		mu.Lock()
		reqs = append(reqs, seen{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.URL.Query(), body})
		n := calls[route]
		calls[route]++
		mu.Unlock()
		files, ok := routes[route]
		if !ok {
			files, ok = routes["*"]
		}
		if !ok {
			http.Error(w, "no route "+route, http.StatusTeapot)
			return
		}
		if n >= len(files) {
			n = len(files) - 1
		}
		writeRecorded(t, w, files[n])
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seen { mu.Lock(); defer mu.Unlock(); return append([]seen(nil), reqs...) }
}

func writeRecorded(t *testing.T, w http.ResponseWriter, name string) {
	replaytest.WriteResponse(t, w, filepath.Join("testdata", name))
}

func newClient(t *testing.T, base string, opts Options) *Client {
	t.Helper()
	opts.BaseURL = base
	c, err := New(opts)
	require.NoError(t, err)
	return c
}

const chgID = "c83c5e5347c12200e0ef563dbb9a7190"

func TestNew(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"", "instance.service-now.com", "ftp://x/"} {
		_, err := New(Options{BaseURL: base})
		require.Error(t, err, base)
	}
}

func TestChangeRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, reqs := replay(t, map[string][]string{
		"POST /api/now/table/change_request":           {"create_change_201.http"},
		"GET /api/now/table/change_request/" + chgID:   {"get_change_200.http"},
		"PATCH /api/now/table/change_request/" + chgID: {"update_change_200.http"},
	})
	c := newClient(t, srv.URL, Options{})

	r, created, err := c.CreateChangeRequest(ctx, secret, map[string]string{"short_description": "Deploy payments 1.4.2 to production", "type": "normal"}, "")
	require.NoError(t, err)
	require.True(t, created)
	require.Equal(t, chgID, r.SysID())
	require.Equal(t, "CHG0030001", r.Number())
	req := reqs()[0]
	require.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte(secret)), req.Auth)
	require.Equal(t, "true", req.Query.Get("sysparm_exclude_reference_link"))
	require.JSONEq(t, `{"short_description":"Deploy payments 1.4.2 to production","type":"normal"}`, string(req.Body))

	r, err = c.GetChangeRequest(ctx, secret, chgID)
	require.NoError(t, err)
	require.Equal(t, "-5", r["state"])

	r, err = c.UpdateChangeRequest(ctx, secret, chgID, map[string]string{"state": "-4"})
	require.NoError(t, err)
	require.Equal(t, "-4", r["state"])
	require.JSONEq(t, `{"state":"-4"}`, string(reqs()[2].Body))
}

func TestGetByNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, fixture string
		wantStatus    int
	}{
		{"found", "list_change_200.http", 0},
		{"absent", "list_empty_200.http", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, reqs := replay(t, map[string][]string{"GET /api/now/table/change_request": {tt.fixture}})
			r, err := newClient(t, srv.URL, Options{}).GetChangeRequest(context.Background(), secret, "CHG0030001^ORnumber=X")
			require.Equal(t, "number=CHG0030001^^ORnumber=X", reqs()[0].Query.Get("sysparm_query"), "carets are escaped")
			if tt.wantStatus != 0 {
				e, ok := apierror.As(err)
				require.True(t, ok)
				require.Equal(t, tt.wantStatus, e.Status)
				return
			}
			require.NoError(t, err)
			require.Equal(t, chgID, r.SysID())
		})
	}
}

func TestCreateIdempotent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, lookup string
		created      bool
		wantNumber   string
		posts        int
	}{
		{"existing correlation id", "list_change_200.http", false, "CHG0030001", 0},
		{"new correlation id", "list_empty_200.http", true, "INC0010002", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, reqs := replay(t, map[string][]string{
				"GET /api/now/table/incident":  {tt.lookup},
				"POST /api/now/table/incident": {"create_incident_201.http"},
			})
			r, created, err := newClient(t, srv.URL, Options{}).CreateIncident(context.Background(), secret, map[string]string{"short_description": "x"}, "hookflow/payments/deploy-1.4.2")
			require.NoError(t, err)
			require.Equal(t, tt.created, created)
			require.Equal(t, tt.wantNumber, r.Number())
			rs := reqs()
			require.Equal(t, "correlation_id=hookflow/payments/deploy-1.4.2", rs[0].Query.Get("sysparm_query"))
			require.Len(t, rs, 1+tt.posts)
			if tt.posts > 0 {
				require.JSONEq(t, `{"short_description":"x","correlation_id":"hookflow/payments/deploy-1.4.2"}`, string(rs[1].Body))
			}
		})
	}
}

func TestAddWorkNote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, marker, journal string
		added                 bool
		wantBody              string
	}{
		{"no marker", "", "", true, `{"work_notes":"Deployment started"}`},
		{"marker seen", "wf-1/delivery-9", "journal_hit_200.http", false, ""},
		{"marker new", "wf-1/delivery-10", "list_empty_200.http", true, `{"work_notes":"Deployment started\n[hookflow:wf-1/delivery-10]"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, reqs := replay(t, map[string][]string{
				"GET /api/now/table/sys_journal_field":         {tt.journal},
				"PATCH /api/now/table/change_request/" + chgID: {"update_change_200.http"},
			})
			added, err := newClient(t, srv.URL, Options{}).AddWorkNote(context.Background(), secret, TableChangeRequest, chgID, "Deployment started", tt.marker)
			require.NoError(t, err)
			require.Equal(t, tt.added, added)
			rs := reqs()
			if tt.marker != "" {
				require.Equal(t, "element_id="+chgID+"^element=work_notes^valueLIKE[hookflow:"+tt.marker+"]", rs[0].Query.Get("sysparm_query"))
			}
			if tt.wantBody != "" {
				require.JSONEq(t, tt.wantBody, string(rs[len(rs)-1].Body))
			} else {
				require.Len(t, rs, 1)
			}
		})
	}
}

func TestOAuthClientCredentials(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv, reqs := replay(t, map[string][]string{
		"POST /oauth_token.do":                       {"oauth_token_200.http"},
		"GET /api/now/table/change_request/" + chgID: {"get_change_200.http", "get_change_200.http", "get_change_200.http", "error_401.http", "get_change_200.http"},
	})
	c := newClient(t, srv.URL, Options{Auth: AuthOAuthClientCredentials, Now: clock})
	get := func() {
		t.Helper()
		_, err := c.GetChangeRequest(context.Background(), oauthCrd, chgID)
		require.NoError(t, err)
	}
	tokenCalls := func() (n int) {
		for _, r := range reqs() {
			if r.Path == "/oauth_token.do" {
				n++
			}
		}
		return n
	}
	get()
	get()
	require.Equal(t, 1, tokenCalls(), "cached")
	tok := reqs()[0]
	form, err := url.ParseQuery(string(tok.Body))
	require.NoError(t, err)
	require.Equal(t, "client_credentials", form.Get("grant_type"))
	require.Equal(t, "5bd4b1e3d4f84a20a2c2e0ee8f0c1a2b", form.Get("client_id"))
	require.Equal(t, "Bearer y5ABG9gk1pEn5IxPAQN2gvNDE5K1mpvL0CuIMbSMIb4W9p-TGdZ40Rg82c7EwfpDGrDIvaqRYPr-3PPkJYlQxg", reqs()[1].Auth)

	mu.Lock()
	now = now.Add(1799*time.Second - 59*time.Second) // inside the one-minute margin
	mu.Unlock()
	get()
	require.Equal(t, 2, tokenCalls(), "refreshed before expiry")

	get() // 401 drops the token, fetches a new one, retries once
	require.Equal(t, 3, tokenCalls())
}

func TestOAuthRefused(t *testing.T) {
	t.Parallel()
	srv, _ := replay(t, map[string][]string{"POST /oauth_token.do": {"oauth_401.http"}})
	_, err := newClient(t, srv.URL, Options{Auth: AuthOAuthClientCredentials}).GetChangeRequest(context.Background(), oauthCrd, chgID)
	e, ok := apierror.As(err)
	require.True(t, ok)
	require.Equal(t, 401, e.Status)
	require.Equal(t, "get OAuth token", e.Op)
	require.Equal(t, "server_error: access_denied", e.Message)
	require.NotContains(t, err.Error(), "s3cr3t")
}

func TestBadCredentialShape(t *testing.T) {
	t.Parallel()
	_, err := newClient(t, "https://instance.service-now.com", Options{}).GetChangeRequest(context.Background(), "s3cr3t-no-colon", chgID)
	e, ok := apierror.As(err)
	require.True(t, ok)
	require.Equal(t, 401, e.Status)
	require.NotContains(t, err.Error(), "s3cr3t")
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture    string
		status     int
		retryAfter time.Duration
		message    string
	}{
		{"error_400.http", 400, 0, "Invalid table name"},
		{"error_401.http", 401, 0, "User Not Authenticated: Required to provide Auth information"},
		{"error_403.http", 403, 0, "Operation Failed: ACL Exception Insert Failed due to security constraints"},
		{"error_404.http", 404, 0, "No Record found: Record doesn't exist or ACL restricts the record retrieval"},
		{"error_409.http", 409, 0, "Operation Failed: The record was changed by another user"},
		{"error_422.http", 422, 0, "Operation Failed: Data Policy Exception: The following fields are mandatory: Close notes"},
		{"error_429.http", 429, 42 * time.Second, "Rate limit exceeded: Rate limit for user hookflow.integration exceeded"},
		{"error_500.http", 500, 0, "Transaction cancelled: maximum execution time exceeded"},
		{"error_503.http", 503, 120 * time.Second, ""},
		{"malformed_200.http", 0, 0, "malformed response"},
	}
	ops := map[string]func(c *Client) error{
		"create": func(c *Client) error {
			_, _, err := c.CreateChangeRequest(context.Background(), secret, map[string]string{"a": "b"}, "")
			return err
		},
		"create once": func(c *Client) error {
			_, _, err := c.CreateIncident(context.Background(), secret, map[string]string{"a": "b"}, "corr")
			return err
		},
		"get": func(c *Client) error { _, err := c.GetChangeRequest(context.Background(), secret, chgID); return err },
		"update": func(c *Client) error {
			_, err := c.UpdateChangeRequest(context.Background(), secret, chgID, map[string]string{"a": "b"})
			return err
		},
		"note": func(c *Client) error {
			_, err := c.AddWorkNote(context.Background(), secret, TableChangeRequest, chgID, "n", "m")
			return err
		},
	}
	for _, tt := range tests {
		for name, op := range ops {
			t.Run(tt.fixture+"/"+name, func(t *testing.T) {
				t.Parallel()
				srv, _ := replay(t, map[string][]string{"*": {tt.fixture}})
				err := op(newClient(t, srv.URL, Options{}))
				e, ok := apierror.As(err)
				require.True(t, ok, "%T %v", err, err)
				require.Equal(t, System, e.System)
				require.Equal(t, tt.status, e.Status)
				require.Equal(t, tt.retryAfter, e.RetryAfter)
				require.Equal(t, tt.message, e.Message)
				require.NotContains(t, err.Error(), "s3cr3t")
			})
		}
	}
}
