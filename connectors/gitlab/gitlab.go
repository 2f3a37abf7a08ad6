// Package gitlab is Hookflow's thin client for the GitLab REST API
// (GitLab.com, Self-Managed, Dedicated): the webhook events that GitLab
// records for project and group hooks, and resending them. It knows nothing
// of Temporal: errors are *apierror.Error, whose messages never hold the
// token.
package gitlab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow/connectors/apierror"
)

// System is the connector's name in tokens and errors.
const System = "gitlab"

// DefaultBaseURL is GitLab.com's REST API root.
const DefaultBaseURL = "https://gitlab.com/api/v4/"

// maxErrorBody bounds how much of an error answer is read for its message.
const maxErrorBody = 64 << 10

// Options configures a Client.
type Options struct {
	// BaseURL is the REST API root. Empty means DefaultBaseURL; for a
	// self-managed instance use https://HOST/api/v4/.
	BaseURL string
	// HTTPClient is used for every call. Nil means a client with a 30 s
	// timeout.
	HTTPClient *http.Client
}

// Client calls the GitLab REST API with a token given per call (a
// personal, project or group access token, sent as PRIVATE-TOKEN).
type Client struct {
	base *url.URL
	http *http.Client
}

// New returns a Client. It does no I/O.
func New(opts Options) (*Client, error) {
	base := opts.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("gitlab: invalid base URL %q", opts.BaseURL)
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: u, http: hc}, nil
}

// Hook names a project or group webhook.
type Hook struct {
	// Kind is "projects" or "groups".
	Kind string
	// Parent is the project's or group's ID, or its full path
	// ("group/project").
	Parent string
	// ID is the hook's ID.
	ID int64
}

// ParseHook reads "projects/ID/hooks/ID" or "groups/ID/hooks/ID"; the
// project or group may also be given by its path ("projects/grp/app/hooks/3").
func ParseHook(s string) (Hook, error) {
	bad := fmt.Errorf("gitlab: hook %q: want projects/ID/hooks/ID or groups/ID/hooks/ID", s)
	kind, rest, ok := strings.Cut(s, "/")
	if !ok || (kind != "projects" && kind != "groups") {
		return Hook{}, bad
	}
	i := strings.LastIndex(rest, "/hooks/")
	if i <= 0 {
		return Hook{}, bad
	}
	parent, id := rest[:i], rest[i+len("/hooks/"):]
	if p, err := url.PathUnescape(parent); err == nil {
		parent = p
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 || parent == "" || strings.HasPrefix(parent, "/") || strings.HasSuffix(parent, "/") {
		return Hook{}, bad
	}
	return Hook{Kind: kind, Parent: parent, ID: n}, nil
}

// String returns the hook as ParseHook reads it.
func (h Hook) String() string { return fmt.Sprintf("%s/%s/hooks/%d", h.Kind, h.Parent, h.ID) }

// path is the hook's events collection under the API root; a path
// parent is URL-encoded, as GitLab wants it.
func (h Hook) path() string {
	return fmt.Sprintf("%s/%s/hooks/%d/events", h.Kind, url.PathEscape(h.Parent), h.ID)
}

// HookEvent is one delivery GitLab recorded for a hook (a "hook log"); a
// resend is recorded as another event with the same Idempotency-Key.
type HookEvent struct {
	// ID is the event's ID, which a resend names.
	ID int64
	// Trigger is GitLab's name for the hook kind ("push_hooks").
	Trigger string
	// RequestHeaders are the headers GitLab sent, the secret token
	// redacted by GitLab.
	RequestHeaders map[string]string
	// ObjectKind is the payload's object_kind (push, merge_request, ...),
	// or its event_name when it has none.
	ObjectKind string
	// ResponseStatus is the receiver's answer as GitLab records it: a
	// status code ("200") or a description ("internal error").
	ResponseStatus string
	CreatedAt      time.Time
}

// EventsPage is one page of a hook's recorded events.
type EventsPage struct {
	Events []HookEvent
	// Next is the URL of the next page; empty on the last page.
	Next string
}

type hookEventJSON struct {
	ID             int64             `json:"id"`
	Trigger        string            `json:"trigger"`
	RequestHeaders map[string]string `json:"request_headers"`
	RequestData    struct {
		ObjectKind string `json:"object_kind"`
		EventName  string `json:"event_name"`
	} `json:"request_data"`
	ResponseStatus json.RawMessage `json:"response_status"`
	CreatedAt      time.Time       `json:"created_at"`
}

// ListHookEvents returns one page of the events GitLab recorded for hook
// in the past 7 days: the first page when next is empty, else the page at
// next (an EventsPage.Next). A next URL outside the API root is refused,
// so that the token never travels elsewhere.
func (c *Client) ListHookEvents(ctx context.Context, token string, hook Hook, next string) (EventsPage, error) {
	op := "list events of hook " + hook.String()
	target := c.base.JoinPath(hook.path())
	target.RawQuery = "per_page=100"
	if next != "" {
		// Only the next link's query (page, per_page) is taken: the
		// request goes to the hook's own path under the API root, so
		// that the token never travels to another host.
		u, err := url.Parse(next)
		if err != nil || u.RawQuery == "" {
			return EventsPage{}, &apierror.Error{System: System, Op: op, Message: fmt.Sprintf("the next page link %q holds no query", next)}
		}
		target.RawQuery = u.RawQuery
	}
	resp, err := c.do(ctx, op, token, http.MethodGet, target)
	if err != nil {
		return EventsPage{}, err
	}
	defer resp.Body.Close()
	var list []hookEventJSON
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return EventsPage{}, &apierror.Error{System: System, Op: op, Status: 0, Err: fmt.Errorf("decode answer: %w", err)}
	}
	page := EventsPage{Events: make([]HookEvent, 0, len(list))}
	for _, e := range list {
		kind := e.RequestData.ObjectKind
		if kind == "" {
			kind = e.RequestData.EventName
		}
		page.Events = append(page.Events, HookEvent{ID: e.ID, Trigger: e.Trigger, RequestHeaders: e.RequestHeaders,
			ObjectKind: kind, ResponseStatus: text(e.ResponseStatus), CreatedAt: e.CreatedAt})
	}
	page.Next = c.nextPage(resp, target)
	return page, nil
}

// ResendHookEvent asks GitLab to send event id of hook again (POST
// .../events/{id}/resend, answered 201). GitLab sends the recorded payload
// with the same Idempotency-Key. GitLab limits resends per user and
// project or group (5 a minute by default) and answers 429 past that.
func (c *Client) ResendHookEvent(ctx context.Context, token string, hook Hook, id int64) error {
	op := fmt.Sprintf("resend event %d of hook %s", id, hook)
	resp, err := c.do(ctx, op, token, http.MethodPost, c.base.JoinPath(hook.path(), strconv.FormatInt(id, 10), "resend"))
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	return nil
}

// do sends one request and returns the response of a 2xx answer; any
// other answer is an *apierror.Error.
func (c *Client) do(ctx context.Context, op, token, method string, u *url.URL) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, &apierror.Error{System: System, Op: op, Err: err}
	}
	req.Header.Set("PRIVATE-TOKEN", token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "hookflow")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// The URL holds no token (it travels in a header), so the
		// transport's error can be kept.
		return nil, &apierror.Error{System: System, Op: op, Err: err}
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &apierror.Error{System: System, Op: op, Status: resp.StatusCode, Message: message(body, token)}
	e.RetryAfter = apierror.RetryAfter(resp.Header, time.Now())
	if e.RetryAfter == 0 && resp.StatusCode == http.StatusTooManyRequests {
		// GitLab's rate limits also say when they reset.
		if reset, err := strconv.ParseInt(resp.Header.Get("RateLimit-Reset"), 10, 64); err == nil {
			e.RetryAfter = max(time.Until(time.Unix(reset, 0)), 0)
		}
	}
	return nil, e
}

// message is GitLab's error message ({"message": ...} or {"error": ...},
// a string or an object), trimmed, with the token removed should an
// answer ever echo it.
func message(body []byte, token string) string {
	var m struct {
		Message json.RawMessage `json:"message"`
		Error   json.RawMessage `json:"error"`
	}
	out := ""
	if json.Unmarshal(body, &m) == nil {
		for _, raw := range []json.RawMessage{m.Message, m.Error} {
			if len(raw) == 0 {
				continue
			}
			if s := text(raw); s != "" {
				out = s
			} else {
				var buf bytes.Buffer
				if json.Compact(&buf, raw) == nil {
					out = buf.String()
				}
			}
			break
		}
	}
	if token != "" {
		out = strings.ReplaceAll(out, token, "[token]")
	}
	if len(out) > 200 {
		out = out[:200] + "..."
	}
	return out
}

// text is a JSON string's value, or a number as written; "" otherwise.
func text(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// nextPage is the next page's URL: the Link header's rel="next", else
// the current URL with X-Next-Page as its page.
func (c *Client) nextPage(resp *http.Response, current *url.URL) string {
	if next := nextLink(strings.Join(resp.Header.Values("Link"), ",")); next != "" {
		return next
	}
	if p := resp.Header.Get("X-Next-Page"); p != "" {
		u := *current
		q := u.Query()
		q.Set("page", p)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return ""
}

// nextLink returns the rel="next" URL of a Link header, or "".
func nextLink(header string) string {
	for _, link := range strings.Split(header, ",") {
		segs := strings.Split(strings.TrimSpace(link), ";")
		if len(segs) < 2 {
			continue
		}
		target := strings.TrimSpace(segs[0])
		if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
			continue
		}
		for _, s := range segs[1:] {
			if rel := strings.ReplaceAll(strings.TrimSpace(s), " ", ""); rel == `rel="next"` || rel == `rel=next` {
				return target[1 : len(target)-1]
			}
		}
	}
	return ""
}
