// Package jira is Hookflow's client for Jira Cloud and Jira Data Center,
// over go-jira v1. It knows nothing of Temporal: every failed call comes back
// as *apierror.Error (or, for a transition that does not exist, as
// *TransitionNotFoundError) so that the activity layer can classify it.
//
// # Credentials
//
// The credential is passed on every call, as the token store holds it:
//
//   - Jira Cloud: basic auth with the account's email and an API token.
//     Either set Options.Email and store the bare API token, or leave
//     Options.Email empty and store "email:api-token".
//   - Jira Data Center: a personal access token (PAT), sent as
//     "Authorization: Bearer <pat>". Leave Options.Email empty and store the
//     bare PAT (a PAT never contains a colon).
//
// So with Options.Email empty a stored value containing a colon is split at
// the first colon into user and secret for basic auth (RFC 7617: a user-id
// holds no colon); any other value is a bearer PAT.
//
// # Why not go-jira's service methods
//
// The client uses go-jira for its request building, auth transports and
// types, but sends requests through Client.Do itself: go-jira's IssueService
// methods differ in how they treat an error response (some parse the body
// into *jira.Error and close it, some return it unread, UpdateIssue leaves
// a successful body open), and one code path here classifies them all alike.
package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	jira "github.com/andygrunwald/go-jira"

	"github.com/hookflow/hookflow/connectors/apierror"
)

// System is the connector's name in tokens and errors.
const System = "jira"

// Options configures a Client.
type Options struct {
	// BaseURL is the site root, including any context path:
	// https://your-domain.atlassian.net/ for Cloud, https://jira.example.com/
	// (or .../jira/) for Data Center. Required: there is no default site.
	BaseURL string
	// HTTPClient is used for every call; its Transport (nil means
	// http.DefaultTransport) carries the requests after the auth header is
	// added. Nil means a client with a 30 s timeout.
	HTTPClient *http.Client
	// Email is the Jira Cloud account used for basic auth with the stored
	// API token. Empty means the stored credential decides: "email:token"
	// is basic auth, anything else a Data Center bearer PAT.
	Email string
}

// Client calls the Jira REST API v2 (served by both Cloud and Data Center)
// with a credential given per call.
type Client struct {
	base  string
	http  *http.Client
	email string
}

// New returns a Client. It does no I/O.
func New(opts Options) (*Client, error) {
	u, err := url.Parse(opts.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("jira: invalid base URL %q", opts.BaseURL)
	}
	base := opts.BaseURL
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: base, http: hc, email: opts.Email}, nil
}

// api returns a go-jira client whose transport authenticates with cred.
func (c *Client) api(cred string) (*jira.Client, error) {
	hc := *c.http
	next := c.http.Transport
	switch i := strings.IndexByte(cred, ':'); {
	case c.email != "":
		hc.Transport = &jira.BasicAuthTransport{Username: c.email, Password: cred, Transport: next}
	case i > 0:
		hc.Transport = &jira.BasicAuthTransport{Username: cred[:i], Password: cred[i+1:], Transport: next}
	default:
		hc.Transport = &jira.PATAuthTransport{Token: cred, Transport: next}
	}
	return jira.NewClient(&hc, c.base)
}

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// do sends one request and decodes a 2xx JSON answer into out (when not
// nil). Every failure is an *apierror.Error whose message is taken from
// Jira's {"errorMessages":[...],"errors":{...}} and never from the request.
func (c *Client) do(ctx context.Context, cred, op, method, path string, in, out any) error {
	api, err := c.api(cred)
	if err != nil {
		return &apierror.Error{System: System, Op: op, Err: err}
	}
	req, err := api.NewRequestWithContext(ctx, method, path, in)
	if err != nil {
		return &apierror.Error{System: System, Op: op, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := api.Do(req, out)
	if resp != nil && resp.Body != nil {
		defer resp.Body.Close()
	}
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return ctxErr
	}
	if resp == nil {
		// No response: a network error or timeout. *url.Error names the
		// URL, which holds no credential.
		return &apierror.Error{System: System, Op: op, Err: err}
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		// The call went through but the answer cannot be read.
		return &apierror.Error{System: System, Op: op, Message: "malformed response", Err: err}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return &apierror.Error{
		System:     System,
		Op:         op,
		Status:     resp.StatusCode,
		RetryAfter: apierror.RetryAfter(resp.Header, time.Now()),
		Message:    errorMessage(body),
	}
}

// errorMessage extracts Jira's error messages, field errors sorted by
// field. A body that is not Jira's JSON (an HTML error page from a proxy)
// gives no message: the status says enough, and a page is no message.
func errorMessage(body []byte) string {
	var e struct {
		ErrorMessages []string          `json:"errorMessages"`
		Errors        map[string]string `json:"errors"`
		Message       string            `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	parts := append([]string(nil), e.ErrorMessages...)
	keys := make([]string, 0, len(e.Errors))
	for k := range e.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+": "+e.Errors[k])
	}
	if len(parts) == 0 && e.Message != "" {
		parts = append(parts, e.Message)
	}
	msg := strings.Join(parts, "; ")
	if len(msg) > 500 {
		msg = msg[:500] + "…"
	}
	return msg
}

func issuePath(key string, rest ...string) string {
	p := "rest/api/2/issue/" + url.PathEscape(key)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// Issue is the part of a Jira issue Hookflow's blueprints read.
type Issue struct {
	ID  string
	Key string
	// Self is the issue's REST URL.
	Self        string
	Summary     string
	Description string
	Status      string
	// StatusCategory is "new", "indeterminate" or "done".
	StatusCategory string
	IssueType      string
	Project        string
	// Assignee is the account ID on Cloud, the user name on Data Center;
	// empty when unassigned.
	Assignee string
	Labels   []string
	// Custom holds the custom fields that were asked for, as Jira sent
	// them.
	Custom map[string]any
}

// GetIssue reads an issue by key or ID. Fields limits the fields Jira
// returns; nil means the navigable fields plus nothing else asked for.
func (c *Client) GetIssue(ctx context.Context, cred, key string, fields []string) (Issue, error) {
	path := issuePath(key)
	if len(fields) > 0 {
		path += "?fields=" + url.QueryEscape(strings.Join(fields, ","))
	}
	var is jira.Issue
	if err := c.do(ctx, cred, "get issue "+key, http.MethodGet, path, nil, &is); err != nil {
		return Issue{}, err
	}
	return toIssue(&is), nil
}

func toIssue(is *jira.Issue) Issue {
	out := Issue{ID: is.ID, Key: is.Key, Self: is.Self}
	f := is.Fields
	if f == nil {
		return out
	}
	out.Summary = f.Summary
	out.Description = f.Description
	out.Labels = f.Labels
	if f.Status != nil {
		out.Status = f.Status.Name
		out.StatusCategory = f.Status.StatusCategory.Key
	}
	out.IssueType = f.Type.Name
	out.Project = f.Project.Key
	if f.Assignee != nil {
		out.Assignee = f.Assignee.AccountID
		if out.Assignee == "" {
			out.Assignee = f.Assignee.Name
		}
	}
	for k, v := range f.Unknowns {
		if strings.HasPrefix(k, "customfield_") && v != nil {
			if out.Custom == nil {
				out.Custom = map[string]any{}
			}
			out.Custom[k] = v
		}
	}
	return out
}

// Comment is a comment Jira created.
type Comment struct {
	ID   string
	Self string
}

// markerProperty is the comment property that carries an idempotency
// marker: invisible in Jira's UI, returned with expand=properties.
const markerProperty = "hookflow"

// AddComment posts body (Jira wiki markup) on the issue. When marker is
// not empty the call is idempotent: the marker is stored as a comment
// property, and if a comment carrying it exists already that comment is
// returned with created=false instead of posting again.
func (c *Client) AddComment(ctx context.Context, cred, key, body, marker string) (Comment, bool, error) {
	op := "add comment to " + key
	if marker != "" {
		if cm, _, ok, err := c.findComment(ctx, cred, key, marker); err != nil || ok {
			return cm, false, err
		}
	}
	// Not a *jira.Comment: it marshals empty "author" and "visibility"
	// objects, and an empty visibility is not "visible to all".
	in := map[string]any{"body": body}
	if marker != "" {
		in["properties"] = []any{map[string]any{"key": markerProperty, "value": map[string]string{"marker": marker}}}
	}
	var cm jira.Comment
	if err := c.do(ctx, cred, op, http.MethodPost, issuePath(key, "comment"), in, &cm); err != nil {
		return Comment{}, false, err
	}
	return Comment{ID: cm.ID, Self: cm.Self}, true, nil
}

// UpsertComment keeps one comment per marker on the issue: it posts body
// (with the marker as a comment property) when no comment carries the
// marker, edits the one that does when its body differs
// (PUT .../comment/{id}), and leaves it alone otherwise. It reports what
// it did: "created", "updated" or "unchanged". The marker is required.
func (c *Client) UpsertComment(ctx context.Context, cred, key, body, marker string) (Comment, string, error) {
	if marker == "" {
		return Comment{}, "", errors.New("jira: upsert comment: marker is required")
	}
	cm, held, ok, err := c.findComment(ctx, cred, key, marker)
	if err != nil {
		return Comment{}, "", err
	}
	if !ok {
		cm, _, err := c.AddComment(ctx, cred, key, body, marker)
		return cm, "created", err
	}
	if held == body {
		return cm, "unchanged", nil
	}
	path := issuePath(key, "comment", cm.ID)
	if err := c.do(ctx, cred, "edit comment on "+key, http.MethodPut, path, map[string]any{"body": body}, nil); err != nil {
		return Comment{}, "", err
	}
	return cm, "updated", nil
}

func (c *Client) findComment(ctx context.Context, cred, key, marker string) (Comment, string, bool, error) {
	for start := 0; ; {
		var page struct {
			StartAt    int `json:"startAt"`
			MaxResults int `json:"maxResults"`
			Total      int `json:"total"`
			Comments   []struct {
				ID         string `json:"id"`
				Self       string `json:"self"`
				Body       string `json:"body"`
				Properties []struct {
					Key   string `json:"key"`
					Value struct {
						Marker string `json:"marker"`
					} `json:"value"`
				} `json:"properties"`
			} `json:"comments"`
		}
		path := fmt.Sprintf("%s?expand=properties&startAt=%d&maxResults=100", issuePath(key, "comment"), start)
		if err := c.do(ctx, cred, "list comments of "+key, http.MethodGet, path, nil, &page); err != nil {
			return Comment{}, "", false, err
		}
		for _, cm := range page.Comments {
			for _, p := range cm.Properties {
				if p.Key == markerProperty && p.Value.Marker == marker {
					return Comment{ID: cm.ID, Self: cm.Self}, cm.Body, true, nil
				}
			}
		}
		start = page.StartAt + len(page.Comments)
		if len(page.Comments) == 0 || start >= page.Total {
			return Comment{}, "", false, nil
		}
	}
}

// Transition is a workflow transition available on an issue.
type Transition struct {
	ID   string
	Name string
	// To is the name of the status the transition leads to.
	To string
}

// Transitions lists the transitions the credential may perform on the
// issue now.
func (c *Client) Transitions(ctx context.Context, cred, key string) ([]Transition, error) {
	var res struct {
		Transitions []jira.Transition `json:"transitions"`
	}
	if err := c.do(ctx, cred, "list transitions of "+key, http.MethodGet, issuePath(key, "transitions"), nil, &res); err != nil {
		return nil, err
	}
	out := make([]Transition, 0, len(res.Transitions))
	for _, t := range res.Transitions {
		out = append(out, Transition{ID: t.ID, Name: t.Name, To: t.To.Name})
	}
	return out, nil
}

// TransitionNotFoundError is returned when an issue has no transition of
// the requested name: the issue is in a status the workflow did not
// expect, or the credential may not perform it. Retrying cannot help.
type TransitionNotFoundError struct {
	Issue string
	// Name is the transition name asked for (TransitionIssue); empty when
	// a target status was asked for.
	Name string
	// Status is the target status asked for (TransitionToStatus); empty
	// when a transition name was asked for.
	Status string
	// Available are the transitions the issue offers: their names for
	// TransitionIssue, "name → status" for TransitionToStatus.
	Available []string
}

func (e *TransitionNotFoundError) Error() string {
	avail := "none"
	if len(e.Available) > 0 {
		avail = quoteAll(e.Available)
	}
	if e.Status != "" {
		return fmt.Sprintf("jira: transition %s: no transition to status %q; available: %s", e.Issue, e.Status, avail)
	}
	return fmt.Sprintf("jira: transition %s: no transition named %q; available: %s", e.Issue, e.Name, avail)
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// TransitionOptions are the optional parts of a transition.
type TransitionOptions struct {
	// Fields are set by the transition screen ("resolution": {"name":
	// "Done"}). Nil sends none.
	Fields map[string]any
	// Comment is added with the transition. Empty adds none.
	Comment string
	// TargetStatus, when set, makes the call idempotent: if the issue is
	// already in this status (compared case-insensitively) nothing is done
	// and TransitionResult.Changed is false. Empty always transitions.
	TargetStatus string
}

// TransitionResult says what TransitionIssue did.
type TransitionResult struct {
	// ID is the transition performed; empty when nothing was done.
	ID string
	// To is the status the transition leads to.
	To string
	// Changed is false when the issue was already in TargetStatus.
	Changed bool
}

// TransitionIssue performs the transition called name (exact match first,
// then case-insensitive), looking its ID up on the transitions endpoint.
// A missing name is a *TransitionNotFoundError listing the available ones.
func (c *Client) TransitionIssue(ctx context.Context, cred, key, name string, opts TransitionOptions) (TransitionResult, error) {
	if opts.TargetStatus != "" {
		is, err := c.GetIssue(ctx, cred, key, []string{"status"})
		if err != nil {
			return TransitionResult{}, err
		}
		if strings.EqualFold(is.Status, opts.TargetStatus) {
			return TransitionResult{To: is.Status}, nil
		}
	}
	ts, err := c.Transitions(ctx, cred, key)
	if err != nil {
		return TransitionResult{}, err
	}
	t, ok := findTransition(ts, name)
	if !ok {
		names := make([]string, len(ts))
		for i, t := range ts {
			names[i] = t.Name
		}
		return TransitionResult{}, &TransitionNotFoundError{Issue: key, Name: name, Available: names}
	}
	payload := map[string]any{"transition": map[string]string{"id": t.ID}}
	if len(opts.Fields) > 0 {
		payload["fields"] = opts.Fields
	}
	if opts.Comment != "" {
		payload["update"] = map[string]any{"comment": []any{map[string]any{"add": map[string]string{"body": opts.Comment}}}}
	}
	op := fmt.Sprintf("transition %s to %q", key, name)
	if err := c.do(ctx, cred, op, http.MethodPost, issuePath(key, "transitions"), payload, nil); err != nil {
		return TransitionResult{}, err
	}
	return TransitionResult{ID: t.ID, To: t.To, Changed: true}, nil
}

// TransitionToStatus moves the issue to the status called status, through
// whichever of the issue's available transitions leads there (the status
// name matched exactly, then ignoring case): Jira workflows name their
// transitions freely, but the statuses they lead to are what a team
// configures. An issue already in the status is left alone
// (Changed=false). No transition leading there is a
// *TransitionNotFoundError listing what is available. opts.TargetStatus is
// ignored: status is the target.
func (c *Client) TransitionToStatus(ctx context.Context, cred, key, status string, opts TransitionOptions) (TransitionResult, error) {
	is, err := c.GetIssue(ctx, cred, key, []string{"status"})
	if err != nil {
		return TransitionResult{}, err
	}
	if strings.EqualFold(is.Status, status) {
		return TransitionResult{To: is.Status}, nil
	}
	ts, err := c.Transitions(ctx, cred, key)
	if err != nil {
		return TransitionResult{}, err
	}
	t, ok := findTransitionTo(ts, status)
	if !ok {
		avail := make([]string, len(ts))
		for i, t := range ts {
			avail[i] = t.Name + " → " + t.To
		}
		return TransitionResult{}, &TransitionNotFoundError{Issue: key, Status: status, Available: avail}
	}
	payload := map[string]any{"transition": map[string]string{"id": t.ID}}
	if len(opts.Fields) > 0 {
		payload["fields"] = opts.Fields
	}
	if opts.Comment != "" {
		payload["update"] = map[string]any{"comment": []any{map[string]any{"add": map[string]string{"body": opts.Comment}}}}
	}
	op := fmt.Sprintf("transition %s to status %q", key, status)
	if err := c.do(ctx, cred, op, http.MethodPost, issuePath(key, "transitions"), payload, nil); err != nil {
		return TransitionResult{}, err
	}
	return TransitionResult{ID: t.ID, To: t.To, Changed: true}, nil
}

func findTransitionTo(ts []Transition, status string) (Transition, bool) {
	for _, t := range ts {
		if t.To == status {
			return t, true
		}
	}
	for _, t := range ts {
		if strings.EqualFold(t.To, status) {
			return t, true
		}
	}
	return Transition{}, false
}

func findTransition(ts []Transition, name string) (Transition, bool) {
	for _, t := range ts {
		if t.Name == name {
			return t, true
		}
	}
	for _, t := range ts {
		if strings.EqualFold(t.Name, name) {
			return t, true
		}
	}
	return Transition{}, false
}

// RemoteLink is a link from an issue to an object elsewhere (a pull
// request, a build, a change request).
type RemoteLink struct {
	// GlobalID identifies the linked object; Jira updates the existing link
	// with the same GlobalID instead of adding a second one, which makes
	// the call idempotent. Empty means the URL.
	GlobalID string
	URL      string
	Title    string
	Summary  string
	// Relationship is the link's label ("mentioned in", "deployed by").
	// Empty means Jira's default, "links to".
	Relationship string
	// IconURL is a 16×16 icon. Empty means none.
	IconURL string
	// Resolved strikes the link through (a merged PR, a closed change).
	Resolved bool
}

// RemoteLinkResult identifies the created or updated link.
type RemoteLinkResult struct {
	ID   int
	Self string
}

// AddRemoteLink creates or updates (by GlobalID) a remote link on the issue.
func (c *Client) AddRemoteLink(ctx context.Context, cred, key string, l RemoteLink) (RemoteLinkResult, error) {
	gid := l.GlobalID
	if gid == "" {
		gid = l.URL
	}
	obj := &jira.RemoteLinkObject{URL: l.URL, Title: l.Title, Summary: l.Summary}
	if l.IconURL != "" {
		obj.Icon = &jira.RemoteLinkIcon{Url16x16: l.IconURL, Title: l.Title}
	}
	if l.Resolved {
		obj.Status = &jira.RemoteLinkStatus{Resolved: true}
	}
	in := &jira.RemoteLink{GlobalID: gid, Relationship: l.Relationship, Object: obj}
	var out jira.RemoteLink
	if err := c.do(ctx, cred, "add remote link to "+key, http.MethodPost, issuePath(key, "remotelink"), in, &out); err != nil {
		return RemoteLinkResult{}, err
	}
	return RemoteLinkResult{ID: out.ID, Self: out.Self}, nil
}

// DeleteRemoteLink removes the issue's remote link with this global ID.
// A link that is not there (Jira answers 404) is not an error: the call
// is idempotent, as AddRemoteLink is.
func (c *Client) DeleteRemoteLink(ctx context.Context, cred, key, globalID string) error {
	if globalID == "" {
		return errors.New("jira: delete remote link: global ID is required")
	}
	path := issuePath(key, "remotelink") + "?globalId=" + url.QueryEscape(globalID)
	err := c.do(ctx, cred, "delete remote link of "+key, http.MethodDelete, path, nil, nil)
	var ae *apierror.Error
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return nil
	}
	return err
}

// SetFields edits the issue: fields are set outright ({"summary": "x"}),
// update holds Jira's operations ({"labels": [{"add": "deployed"}]}).
// Either may be nil, not both.
func (c *Client) SetFields(ctx context.Context, cred, key string, fields, update map[string]any) error {
	body := map[string]any{}
	if len(fields) > 0 {
		body["fields"] = fields
	}
	if len(update) > 0 {
		body["update"] = update
	}
	if len(body) == 0 {
		return errors.New("jira: set fields: nothing to set")
	}
	return c.do(ctx, cred, "edit issue "+key, http.MethodPut, issuePath(key), body, nil)
}

// NewIssue is an issue to create.
type NewIssue struct {
	// Project is the project key.
	Project string
	// IssueType is the issue type's name ("Task", "Bug").
	IssueType   string
	Summary     string
	Description string
	Labels      []string
	// Fields are further fields, by ID ("customfield_10010", "priority").
	Fields map[string]any
}

// Created identifies a created issue.
type Created struct {
	ID   string
	Key  string
	Self string
}

// CreateIssue creates an issue. Jira has no idempotency key: a call that
// is retried after Jira created the issue but before the answer arrived
// creates a second one.
func (c *Client) CreateIssue(ctx context.Context, cred string, n NewIssue) (Created, error) {
	fields := map[string]any{}
	for k, v := range n.Fields {
		fields[k] = v
	}
	fields["project"] = map[string]string{"key": n.Project}
	fields["issuetype"] = map[string]string{"name": n.IssueType}
	fields["summary"] = n.Summary
	if n.Description != "" {
		fields["description"] = n.Description
	}
	if len(n.Labels) > 0 {
		fields["labels"] = n.Labels
	}
	var out Created
	var res struct {
		ID   string `json:"id"`
		Key  string `json:"key"`
		Self string `json:"self"`
	}
	if err := c.do(ctx, cred, "create issue in "+n.Project, http.MethodPost, "rest/api/2/issue", map[string]any{"fields": fields}, &res); err != nil {
		return out, err
	}
	return Created{ID: res.ID, Key: res.Key, Self: res.Self}, nil
}
