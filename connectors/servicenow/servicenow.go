// Package servicenow is Hookflow's thin client for the ServiceNow Table
// API (/api/now/table/{table}): change requests, incidents and work notes.
// No kept Go client exists for it, and the API is small. It knows nothing
// of Temporal: every failed call comes back as *apierror.Error.
//
// # Credentials
//
// The credential is passed on every call, as the token store holds it:
//
//   - AuthBasic (the default): "user:password" of an integration user.
//   - AuthOAuthClientCredentials: "client_id:client_secret" of an OAuth
//     application registry entry; the client exchanges it at
//     /oauth_token.do (grant_type=client_credentials) and keeps the access
//     token, keyed by a hash of the credential, until shortly before it
//     expires. A 401 from the Table API drops the cached token and the call
//     is tried once more with a fresh one.
package servicenow

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/hookflow/hookflow/connectors/apierror"
)

// System is the connector's name in tokens and errors.
const System = "servicenow"

// AuthMode says how the stored credential authenticates.
type AuthMode int

const (
	// AuthBasic sends the stored "user:password" as HTTP basic auth.
	AuthBasic AuthMode = iota
	// AuthOAuthClientCredentials exchanges the stored
	// "client_id:client_secret" for a bearer access token.
	AuthOAuthClientCredentials
)

// Options configures a Client.
type Options struct {
	// BaseURL is the instance root, https://INSTANCE.service-now.com/.
	// Required: there is no default instance.
	BaseURL string
	// HTTPClient is used for every call. Nil means a client with a 30 s
	// timeout.
	HTTPClient *http.Client
	// Auth selects how the stored credential is used. The zero value is
	// AuthBasic.
	Auth AuthMode
	// TokenRefreshMargin is how long before its expiry a cached OAuth
	// access token is replaced. Zero means one minute.
	TokenRefreshMargin time.Duration
	// Now is the clock for token expiry. Nil means time.Now.
	Now func() time.Time
}

// Client calls the Table API with a credential given per call. It is safe
// for concurrent use.
type Client struct {
	base   *url.URL
	http   *http.Client
	auth   AuthMode
	margin time.Duration
	now    func() time.Time

	mu     sync.Mutex
	tokens map[[32]byte]accessToken
}

type accessToken struct {
	value   string
	expires time.Time
}

// New returns a Client. It does no I/O.
func New(opts Options) (*Client, error) {
	base := opts.BaseURL
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("servicenow: invalid base URL %q", opts.BaseURL)
	}
	c := &Client{base: u, http: opts.HTTPClient, auth: opts.Auth, margin: opts.TokenRefreshMargin, now: opts.Now, tokens: map[[32]byte]accessToken{}}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.margin == 0 {
		c.margin = time.Minute
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

// Record is one Table API row, every value as ServiceNow sends it with
// sysparm_exclude_reference_link=true: a string (sys_id, number, state
// code, date "2026-11-24 12:00:00").
type Record map[string]string

// SysID is the record's sys_id.
func (r Record) SysID() string { return r["sys_id"] }

// Number is the record's number (CHG0030001, INC0010001).
func (r Record) Number() string { return r["number"] }

func split(cred string) (string, string, bool) {
	i := strings.IndexByte(cred, ':')
	if i <= 0 {
		return "", "", false
	}
	return cred[:i], cred[i+1:], true
}

// authorize sets the request's Authorization header.
func (c *Client) authorize(ctx context.Context, req *http.Request, cred string) error {
	user, secret, ok := split(cred)
	if !ok {
		// Nothing of the credential goes into the message.
		return &apierror.Error{System: System, Op: "authenticate", Status: http.StatusUnauthorized, Message: "stored credential is not in the form id:secret"}
	}
	if c.auth == AuthBasic {
		req.SetBasicAuth(user, secret)
		return nil
	}
	tok, err := c.accessToken(ctx, cred, user, secret)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

func (c *Client) accessToken(ctx context.Context, cred, id, secret string) (string, error) {
	key := sha256.Sum256([]byte(cred))
	c.mu.Lock()
	t, ok := c.tokens[key]
	c.mu.Unlock()
	if ok && c.now().Before(t.expires.Add(-c.margin)) {
		return t.value, nil
	}
	op := "get OAuth token"
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.JoinPath("oauth_token.do").String(), strings.NewReader(form.Encode()))
	if err != nil {
		return "", &apierror.Error{System: System, Op: op, Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	var res struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := c.send(ctx, req, op, &res); err != nil {
		return "", err
	}
	if res.AccessToken == "" {
		return "", &apierror.Error{System: System, Op: op, Message: "malformed response: no access_token"}
	}
	c.mu.Lock()
	c.tokens[key] = accessToken{value: res.AccessToken, expires: c.now().Add(time.Duration(res.ExpiresIn) * time.Second)}
	c.mu.Unlock()
	return res.AccessToken, nil
}

func (c *Client) dropToken(cred string) {
	key := sha256.Sum256([]byte(cred))
	c.mu.Lock()
	delete(c.tokens, key)
	c.mu.Unlock()
}

const maxErrorBody = 64 << 10

// send performs req and decodes a 2xx JSON answer into out.
func (c *Client) send(ctx context.Context, req *http.Request, op string, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return &apierror.Error{System: System, Op: op, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return &apierror.Error{
			System:     System,
			Op:         op,
			Status:     resp.StatusCode,
			RetryAfter: apierror.RetryAfter(resp.Header, time.Now()),
			Message:    errorMessage(body),
		}
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return &apierror.Error{System: System, Op: op, Message: "malformed response", Err: err}
	}
	return nil
}

// errorMessage reads the Table API's {"error":{"message","detail"}} or the
// OAuth endpoint's {"error","error_description"}.
func errorMessage(body []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
		Desc  string          `json:"error_description"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	var table struct {
		Message string `json:"message"`
		Detail  string `json:"detail"`
	}
	var msg string
	if json.Unmarshal(e.Error, &table) == nil && table.Message != "" {
		msg = table.Message
		if table.Detail != "" {
			msg += ": " + table.Detail
		}
	} else {
		var s string
		_ = json.Unmarshal(e.Error, &s)
		msg = strings.TrimPrefix(strings.Join([]string{s, e.Desc}, ": "), ": ")
		msg = strings.TrimSuffix(msg, ": ")
	}
	if len(msg) > 500 {
		msg = msg[:500] + "…"
	}
	return msg
}

// call sends one Table API request. in is JSON-encoded when not nil; the
// {"result": ...} of a 2xx answer is decoded into result when not nil.
func (c *Client) call(ctx context.Context, cred, op, method, path string, query url.Values, in, result any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return &apierror.Error{System: System, Op: op, Err: err}
		}
	}
	if query == nil {
		query = url.Values{}
	}
	query.Set("sysparm_exclude_reference_link", "true")
	u := c.base.JoinPath(path)
	u.RawQuery = query.Encode()
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
		if err != nil {
			return &apierror.Error{System: System, Op: op, Err: err}
		}
		req.Header.Set("Accept", "application/json")
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if err := c.authorize(ctx, req, cred); err != nil {
			return err
		}
		var env struct {
			Result json.RawMessage `json:"result"`
		}
		err = c.send(ctx, req, op, &env)
		if e, ok := apierror.As(err); ok && e.Status == http.StatusUnauthorized && c.auth == AuthOAuthClientCredentials && attempt == 0 {
			c.dropToken(cred) // revoked or expired early: one more try with a fresh token
			continue
		}
		if err != nil {
			return err
		}
		if result == nil {
			return nil
		}
		if len(env.Result) == 0 {
			return &apierror.Error{System: System, Op: op, Message: "malformed response: no result"}
		}
		if err := json.Unmarshal(env.Result, result); err != nil {
			return &apierror.Error{System: System, Op: op, Message: "malformed response", Err: err}
		}
		return nil
	}
}

// record decodes result values as strings, keeping any non-string value
// (an object when a reference link slips through) as its JSON text.
type record Record

func (r *record) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*r = make(record, len(raw))
	for k, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			(*r)[k] = s
		} else if string(v) != "null" {
			(*r)[k] = string(v)
		}
	}
	return nil
}

func tablePath(table string, sysID ...string) string {
	p := "api/now/table/" + url.PathEscape(table)
	for _, id := range sysID {
		p += "/" + url.PathEscape(id)
	}
	return p
}

var sysIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// queryValue escapes a value for an encoded query, where ^ separates
// terms and ^^ is a literal caret.
func queryValue(v string) string { return strings.ReplaceAll(v, "^", "^^") }

// Get reads one record of table by sys_id or, when ref is not a sys_id, by
// number.
func (c *Client) Get(ctx context.Context, cred, table, ref string) (Record, error) {
	op := fmt.Sprintf("get %s %s", table, ref)
	if sysIDPattern.MatchString(ref) {
		var r record
		err := c.call(ctx, cred, op, http.MethodGet, tablePath(table, ref), nil, nil, &r)
		return Record(r), err
	}
	rs, err := c.find(ctx, cred, op, table, "number="+queryValue(ref))
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, &apierror.Error{System: System, Op: op, Status: http.StatusNotFound, Message: "No Record found"}
	}
	return rs[0], nil
}

func (c *Client) find(ctx context.Context, cred, op, table, query string) ([]Record, error) {
	var rs []record
	q := url.Values{"sysparm_query": {query}, "sysparm_limit": {"1"}}
	if err := c.call(ctx, cred, op, http.MethodGet, tablePath(table), q, nil, &rs); err != nil {
		return nil, err
	}
	out := make([]Record, len(rs))
	for i, r := range rs {
		out[i] = Record(r)
	}
	return out, nil
}

// Create inserts a record into table. When correlationID is not empty the
// call is idempotent: it is stored in the record's correlation_id field
// (every task table has it, for the external system's identifier), and a
// record of table that already carries it is returned with created=false.
func (c *Client) Create(ctx context.Context, cred, table string, fields map[string]string, correlationID string) (Record, bool, error) {
	op := "create " + table
	if correlationID != "" {
		rs, err := c.find(ctx, cred, op, table, "correlation_id="+queryValue(correlationID))
		if err != nil {
			return nil, false, err
		}
		if len(rs) > 0 {
			return rs[0], false, nil
		}
		f := make(map[string]string, len(fields)+1)
		for k, v := range fields {
			f[k] = v
		}
		f["correlation_id"] = correlationID
		fields = f
	}
	var r record
	if err := c.call(ctx, cred, op, http.MethodPost, tablePath(table), nil, fields, &r); err != nil {
		return nil, false, err
	}
	return Record(r), true, nil
}

// Update sets fields on the record of table with sys_id sysID and returns
// the record as it is afterwards.
func (c *Client) Update(ctx context.Context, cred, table, sysID string, fields map[string]string) (Record, error) {
	var r record
	err := c.call(ctx, cred, fmt.Sprintf("update %s %s", table, sysID), http.MethodPatch, tablePath(table, sysID), nil, fields, &r)
	return Record(r), err
}

// AddWorkNote appends note to the work notes of the record of table with
// sys_id sysID. When marker is not empty the note carries it on its last
// line, and a work note already containing it (read from
// sys_journal_field, which the integration user must be able to read)
// makes the call return added=false without writing.
func (c *Client) AddWorkNote(ctx context.Context, cred, table, sysID, note, marker string) (bool, error) {
	op := fmt.Sprintf("add work note to %s %s", table, sysID)
	if marker != "" {
		tag := "[hookflow:" + marker + "]"
		q := "element_id=" + queryValue(sysID) + "^element=work_notes^valueLIKE" + queryValue(tag)
		rs, err := c.find(ctx, cred, op, "sys_journal_field", q)
		if err != nil {
			return false, err
		}
		if len(rs) > 0 {
			return false, nil
		}
		note += "\n" + tag
	}
	_, err := c.Update(ctx, cred, table, sysID, map[string]string{"work_notes": note})
	if e, ok := apierror.As(err); ok {
		e.Op = op
	}
	return err == nil, err
}

// IsSysID reports whether s has the form of a sys_id (32 lowercase hex).
func IsSysID(s string) bool { return sysIDPattern.MatchString(s) }

// Tables the named operations use.
const (
	TableChangeRequest = "change_request"
	TableIncident      = "incident"
)

// CreateChangeRequest creates a change request; see Create for
// correlationID.
func (c *Client) CreateChangeRequest(ctx context.Context, cred string, fields map[string]string, correlationID string) (Record, bool, error) {
	return c.Create(ctx, cred, TableChangeRequest, fields, correlationID)
}

// GetChangeRequest reads a change request by sys_id or number.
func (c *Client) GetChangeRequest(ctx context.Context, cred, ref string) (Record, error) {
	return c.Get(ctx, cred, TableChangeRequest, ref)
}

// UpdateChangeRequest sets fields on a change request by sys_id.
func (c *Client) UpdateChangeRequest(ctx context.Context, cred, sysID string, fields map[string]string) (Record, error) {
	return c.Update(ctx, cred, TableChangeRequest, sysID, fields)
}

// CreateIncident creates an incident; see Create for correlationID.
func (c *Client) CreateIncident(ctx context.Context, cred string, fields map[string]string, correlationID string) (Record, bool, error) {
	return c.Create(ctx, cred, TableIncident, fields, correlationID)
}
