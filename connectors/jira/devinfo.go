package jira

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hookflow/hookflow/connectors/apierror"
)

// DevInfoSystem names the Development Information API in errors.
const DevInfoSystem = "jira-devinfo"

// DevInfoOptions configures a DevInfo client.
type DevInfoOptions struct {
	// APIURL is the root the API is served under. Empty means
	// https://api.atlassian.com/ (OAuth 2.0 client credentials, "OAuth
	// credentials" for on-premises tools, are served there, under the
	// site's cloud ID; /rest/devinfo/0.10 on the site is the Connect-app
	// path and is not used).
	APIURL string
	// TokenURL is the OAuth 2.0 token endpoint. Empty means
	// https://api.atlassian.com/oauth/token.
	TokenURL string
	// CloudID is the site's cloud ID. Empty means it is read once from
	// SiteURL's /_edge/tenant_info.
	CloudID string
	// SiteURL is the Jira Cloud site (https://acme.atlassian.net/), for
	// its cloud ID. Required when CloudID is empty.
	SiteURL string
	// HTTPClient carries every call. Nil means a client with a 30 s
	// timeout.
	HTTPClient *http.Client
}

// DevInfo uploads development information (repositories, commits,
// branches, pull requests) to Jira Cloud. Credentials are
// "client_id:client_secret", given per call; access tokens are cached
// until a minute before they expire, and fetched again after a 401.
type DevInfo struct {
	api, tokenURL, site string
	http                *http.Client

	mu      sync.Mutex
	cloudID string
	tokens  map[string]accessToken // by client ID
}

type accessToken struct {
	value   string
	expires time.Time
}

// NewDevInfo returns a DevInfo client. It does no I/O.
func NewDevInfo(opts DevInfoOptions) (*DevInfo, error) {
	d := &DevInfo{api: opts.APIURL, tokenURL: opts.TokenURL, site: opts.SiteURL, cloudID: opts.CloudID, http: opts.HTTPClient, tokens: map[string]accessToken{}}
	if d.api == "" {
		d.api = "https://api.atlassian.com/"
	}
	if d.tokenURL == "" {
		d.tokenURL = "https://api.atlassian.com/oauth/token"
	}
	if !strings.HasSuffix(d.api, "/") {
		d.api += "/"
	}
	for _, u := range []string{d.api, d.tokenURL} {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("jira devinfo: invalid URL %q", u)
		}
	}
	if d.cloudID == "" {
		if p, err := url.Parse(d.site); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("jira devinfo: a cloud ID or the site URL is required (site %q)", d.site)
		}
		d.site = strings.TrimSuffix(d.site, "/")
	}
	if d.http == nil {
		d.http = &http.Client{Timeout: 30 * time.Second}
	}
	return d, nil
}

// DevRepository is one repository's development information: Jira
// upserts it as a whole, entity by entity.
type DevRepository struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	URL  string `json:"url"`
	// UpdateSequenceID orders updates: Jira ignores one older than what it
	// holds. Use a number that only grows (the event's time in ms).
	UpdateSequenceID int64            `json:"updateSequenceId"`
	Commits          []DevCommit      `json:"commits,omitempty"`
	Branches         []DevBranch      `json:"branches,omitempty"`
	PullRequests     []DevPullRequest `json:"pullRequests,omitempty"`
}

// DevCommit is a commit.
type DevCommit struct {
	ID               string    `json:"id"`
	IssueKeys        []string  `json:"issueKeys"`
	UpdateSequenceID int64     `json:"updateSequenceId"`
	Hash             string    `json:"hash"`
	DisplayID        string    `json:"displayId"`
	Message          string    `json:"message"`
	Author           DevAuthor `json:"author"`
	FileCount        int       `json:"fileCount"`
	URL              string    `json:"url"`
	// AuthorTimestamp is RFC 3339.
	AuthorTimestamp string `json:"authorTimestamp"`
}

// DevAuthor is who wrote a commit or opened a pull request.
type DevAuthor struct {
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
}

// DevBranch is a branch.
type DevBranch struct {
	ID               string    `json:"id"`
	IssueKeys        []string  `json:"issueKeys"`
	UpdateSequenceID int64     `json:"updateSequenceId"`
	Name             string    `json:"name"`
	URL              string    `json:"url"`
	LastCommit       DevCommit `json:"lastCommit"`
}

// DevPullRequest is a pull request; Status is OPEN, MERGED, DECLINED or
// UNKNOWN.
type DevPullRequest struct {
	ID                string    `json:"id"`
	IssueKeys         []string  `json:"issueKeys"`
	UpdateSequenceID  int64     `json:"updateSequenceId"`
	Status            string    `json:"status"`
	Title             string    `json:"title"`
	Author            DevAuthor `json:"author"`
	CommentCount      int       `json:"commentCount"`
	SourceBranch      string    `json:"sourceBranch"`
	DestinationBranch string    `json:"destinationBranch,omitempty"`
	// LastUpdate is RFC 3339.
	LastUpdate string `json:"lastUpdate"`
	URL        string `json:"url"`
	DisplayID  string `json:"displayId"`
}

// DevInfoResult is what Jira accepted.
type DevInfoResult struct {
	// Accepted counts the entities Jira accepted.
	Accepted int
	// Failed lists entities Jira refused, with its messages.
	Failed []string
	// UnknownIssueKeys are keys Jira does not know.
	UnknownIssueKeys []string
}

// UploadDevInfo stores the repositories' development information
// (POST /jira/devinfo/0.1/cloud/{cloudId}/bulk). Jira answers 202;
// entities with an older update sequence ID than Jira holds are ignored,
// so a retried or reordered upload cannot overwrite a newer one.
func (d *DevInfo) UploadDevInfo(ctx context.Context, cred string, repos []DevRepository) (DevInfoResult, error) {
	var res struct {
		Accepted map[string]json.RawMessage `json:"acceptedDevinfoEntities"`
		Failed   map[string]json.RawMessage `json:"failedDevinfoEntities"`
		Unknown  []string                   `json:"unknownIssueKeys"`
	}
	in := map[string]any{"repositories": repos, "preventTransitions": true}
	if err := d.call(ctx, cred, "upload dev info", http.MethodPost, "bulk", in, &res); err != nil {
		return DevInfoResult{}, err
	}
	out := DevInfoResult{UnknownIssueKeys: res.Unknown}
	for _, v := range res.Accepted {
		var ent struct {
			Commits      []json.RawMessage `json:"commits"`
			Branches     []json.RawMessage `json:"branches"`
			PullRequests []json.RawMessage `json:"pullRequests"`
		}
		if json.Unmarshal(v, &ent) == nil {
			out.Accepted += len(ent.Commits) + len(ent.Branches) + len(ent.PullRequests)
		}
	}
	ids := make([]string, 0, len(res.Failed))
	for id := range res.Failed {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		var doc any
		_ = json.Unmarshal(res.Failed[id], &doc)
		for _, m := range messages(doc) {
			out.Failed = append(out.Failed, id+": "+m)
		}
	}
	return out, nil
}

// messages collects the "message" strings anywhere in a decoded JSON
// value: Jira nests them per entity.
func messages(v any) []string {
	var out []string
	switch t := v.(type) {
	case map[string]any:
		if m, ok := t["message"].(string); ok {
			out = append(out, m)
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k != "message" {
				out = append(out, messages(t[k])...)
			}
		}
	case []any:
		for _, e := range t {
			out = append(out, messages(e)...)
		}
	}
	return out
}

// DeleteDevBranch deletes a branch Jira holds for a repository, unless
// Jira holds a newer update than updateSequenceID.
func (d *DevInfo) DeleteDevBranch(ctx context.Context, cred, repositoryID, branchID string, updateSequenceID int64) error {
	path := fmt.Sprintf("repository/%s/branch/%s?_updateSequenceId=%d", url.PathEscape(repositoryID), url.PathEscape(branchID), updateSequenceID)
	err := d.call(ctx, cred, "delete branch "+branchID, http.MethodDelete, path, nil, nil)
	var ae *apierror.Error
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return nil
	}
	return err
}

// call sends one API request with an access token, fetching a new token
// once when the cached one is refused.
func (d *DevInfo) call(ctx context.Context, cred, op, method, path string, in, out any) error {
	cloud, err := d.cloud(ctx, op)
	if err != nil {
		return err
	}
	u := d.api + "jira/devinfo/0.1/cloud/" + url.PathEscape(cloud) + "/" + path
	for attempt := 0; ; attempt++ {
		tok, err := d.token(ctx, cred, attempt > 0)
		if err != nil {
			return err
		}
		err = d.send(ctx, op, method, u, "Bearer "+tok, in, out)
		var ae *apierror.Error
		if attempt == 0 && errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			continue
		}
		return err
	}
}

func (d *DevInfo) cloud(ctx context.Context, op string) (string, error) {
	d.mu.Lock()
	id := d.cloudID
	d.mu.Unlock()
	if id != "" {
		return id, nil
	}
	var res struct {
		CloudID string `json:"cloudId"`
	}
	if err := d.send(ctx, op+": cloud ID", http.MethodGet, d.site+"/_edge/tenant_info", "", nil, &res); err != nil {
		return "", err
	}
	if res.CloudID == "" {
		return "", &apierror.Error{System: DevInfoSystem, Op: op, Message: "the site's tenant_info names no cloudId"}
	}
	d.mu.Lock()
	d.cloudID = res.CloudID
	d.mu.Unlock()
	return res.CloudID, nil
}

// token returns an access token for cred ("client_id:client_secret").
func (d *DevInfo) token(ctx context.Context, cred string, fresh bool) (string, error) {
	id, secret, ok := strings.Cut(cred, ":")
	if !ok || id == "" || secret == "" {
		return "", &apierror.Error{System: DevInfoSystem, Op: "token", Status: http.StatusUnauthorized, Message: "the credential must be client_id:client_secret"}
	}
	d.mu.Lock()
	t, ok := d.tokens[id]
	d.mu.Unlock()
	if ok && !fresh && time.Now().Before(t.expires) {
		return t.value, nil
	}
	var res struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	in := map[string]string{"audience": "api.atlassian.com", "grant_type": "client_credentials", "client_id": id, "client_secret": secret}
	if err := d.send(ctx, "token", http.MethodPost, d.tokenURL, "", in, &res); err != nil {
		return "", err
	}
	if res.AccessToken == "" {
		return "", &apierror.Error{System: DevInfoSystem, Op: "token", Message: "no access_token in the answer"}
	}
	life := time.Duration(res.ExpiresIn)*time.Second - time.Minute
	d.mu.Lock()
	d.tokens[id] = accessToken{value: res.AccessToken, expires: time.Now().Add(life)}
	d.mu.Unlock()
	return res.AccessToken, nil
}

// send makes one request; errors are *apierror.Error whose message comes
// from the answer's JSON, never from the request (which holds secrets).
func (d *DevInfo) send(ctx context.Context, op, method, u, auth string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return &apierror.Error{System: DevInfoSystem, Op: op, Err: err}
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return &apierror.Error{System: DevInfoSystem, Op: op, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := d.http.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return &apierror.Error{System: DevInfoSystem, Op: op, Err: errors.New("request failed: " + redactURLError(err))}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := errorMessage(b)
		if msg == "" {
			var e struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if json.Unmarshal(b, &e) == nil {
				msg = strings.TrimSpace(e.Error + " " + e.Description)
			}
		}
		return &apierror.Error{System: DevInfoSystem, Op: op, Status: resp.StatusCode, RetryAfter: apierror.RetryAfter(resp.Header, time.Now()), Message: msg}
	}
	if out != nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return &apierror.Error{System: DevInfoSystem, Op: op, Message: "malformed response", Err: err}
		}
	}
	return nil
}

// redactURLError keeps a transport error's cause without its URL.
func redactURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}
