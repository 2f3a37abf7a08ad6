// Package github is Hookflow's client for GitHub.com and GitHub Enterprise
// Server, over go-github. It knows nothing of Temporal: errors come back as
// *apierror.Error so that the activity layer can classify them.
package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/hookflow/hookflow/connectors/apierror"
)

// System is the connector's name in tokens and errors.
const System = "github"

// Options configures a Client.
type Options struct {
	// BaseURL is the REST API root. Empty means https://api.github.com/;
	// for GitHub Enterprise Server use https://HOST/api/v3/.
	BaseURL string
	// HTTPClient is used for every call. Nil means a client with a 30 s
	// timeout.
	HTTPClient *http.Client
}

// Client calls the GitHub REST API with a token given per call.
type Client struct {
	base *url.URL
	http *http.Client
}

// New returns a Client. It does no I/O.
func New(opts Options) (*Client, error) {
	base := opts.BaseURL
	if base == "" {
		base = "https://api.github.com/"
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("github: invalid base URL %q", opts.BaseURL)
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: u, http: hc}, nil
}

func (c *Client) api(token string) *gh.Client {
	cl := gh.NewClient(c.http).WithAuthToken(token)
	cl.BaseURL = c.base
	return cl
}

// Comment is an issue or pull request comment.
type Comment struct {
	ID      int64
	HTMLURL string
}

// EnsureComment posts body on issue or pull request number unless a comment
// containing marker already exists, in which case it returns that one with
// created=false. The marker makes a retried call post at most once; it is
// appended to the body as an HTML comment, invisible on GitHub.
func (c *Client) EnsureComment(ctx context.Context, token, owner, repo string, number int, body, marker string) (Comment, bool, error) {
	op := fmt.Sprintf("comment on %s/%s#%d", owner, repo, number)
	api := c.api(token)
	tag := "<!-- " + marker + " -->"
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		list, resp, err := api.Issues.ListComments(ctx, owner, repo, number, opts)
		if err != nil {
			return Comment{}, false, convert(op, err)
		}
		for _, cm := range list {
			if strings.Contains(cm.GetBody(), tag) {
				return Comment{ID: cm.GetID(), HTMLURL: cm.GetHTMLURL()}, false, nil
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	cm, _, err := api.Issues.CreateComment(ctx, owner, repo, number, &gh.IssueComment{Body: gh.String(body + "\n\n" + tag)})
	if err != nil {
		return Comment{}, false, convert(op, err)
	}
	return Comment{ID: cm.GetID(), HTMLURL: cm.GetHTMLURL()}, true, nil
}

// secondaryWait is how long to wait after a secondary rate limit that
// names no time: GitHub's documentation says at least one minute.
const secondaryWait = time.Minute

// convert maps go-github's errors onto *apierror.Error.
func convert(op string, err error) error {
	e := &apierror.Error{System: System, Op: op}
	var rl *gh.RateLimitError
	var abuse *gh.AbuseRateLimitError
	var resp *gh.ErrorResponse
	switch {
	case errors.As(err, &rl):
		// 403 with X-RateLimit-Remaining: 0: the primary limit is spent
		// until X-RateLimit-Reset.
		e.Status = http.StatusTooManyRequests
		e.Message = "rate limit exceeded"
		if !rl.Rate.Reset.IsZero() {
			e.RetryAfter = time.Until(rl.Rate.Reset.Time)
		} else if rl.Response != nil {
			e.RetryAfter = apierror.RetryAfter(rl.Response.Header, time.Now())
		}
	case errors.As(err, &abuse):
		e.Status = http.StatusTooManyRequests
		e.Message = "secondary rate limit"
		e.RetryAfter = abuse.GetRetryAfter()
		if e.RetryAfter <= 0 {
			// GitHub: without Retry-After, wait at least one minute.
			e.RetryAfter = secondaryWait
		}
	case errors.As(err, &resp):
		if resp.Response != nil {
			e.Status = resp.Response.StatusCode
			e.RetryAfter = apierror.RetryAfter(resp.Response.Header, time.Now())
			if e.Status == http.StatusTooManyRequests && e.RetryAfter <= 0 && strings.HasSuffix(resp.DocumentationURL, "secondary-rate-limits") {
				e.RetryAfter = secondaryWait
			}
		}
		e.Message = resp.Message
	default:
		if errors.Is(err, context.Canceled) {
			return err
		}
		e.Err = err
	}
	if e.RetryAfter < 0 {
		e.RetryAfter = 0
	}
	return e
}

// UpsertComment keeps one comment on issue or pull request number, found
// by marker: posted when none carries it, edited in place when its body
// differs, left alone when it is already body. It returns the comment and
// what it did: "created", "updated" or "unchanged". A retried call never
// posts a second comment.
func (c *Client) UpsertComment(ctx context.Context, token, owner, repo string, number int, body, marker string) (Comment, string, error) {
	op := fmt.Sprintf("upsert comment on %s/%s#%d", owner, repo, number)
	api := c.api(token)
	tag := "<!-- " + marker + " -->"
	want := body + "\n\n" + tag
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		list, resp, err := api.Issues.ListComments(ctx, owner, repo, number, opts)
		if err != nil {
			return Comment{}, "", convert(op, err)
		}
		for _, cm := range list {
			if !strings.Contains(cm.GetBody(), tag) {
				continue
			}
			found := Comment{ID: cm.GetID(), HTMLURL: cm.GetHTMLURL()}
			if cm.GetBody() == want {
				return found, "unchanged", nil
			}
			if _, _, err := api.Issues.EditComment(ctx, owner, repo, cm.GetID(), &gh.IssueComment{Body: gh.String(want)}); err != nil {
				return Comment{}, "", convert(op, err)
			}
			return found, "updated", nil
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	cm, _, err := api.Issues.CreateComment(ctx, owner, repo, number, &gh.IssueComment{Body: gh.String(want)})
	if err != nil {
		return Comment{}, "", convert(op, err)
	}
	return Comment{ID: cm.GetID(), HTMLURL: cm.GetHTMLURL()}, "created", nil
}

// PullCommit is a commit of a pull request.
type PullCommit struct {
	SHA     string
	Message string
}

// maxPullCommits is how many commits GitHub lists for a pull request: the
// endpoint stops at 250.
const maxPullCommits = 250

// ListPullRequestCommits lists the commits of pull request number, oldest
// first, at most the 250 GitHub serves.
func (c *Client) ListPullRequestCommits(ctx context.Context, token, owner, repo string, number int) ([]PullCommit, error) {
	op := fmt.Sprintf("list commits of %s/%s#%d", owner, repo, number)
	api := c.api(token)
	opts := &gh.ListOptions{PerPage: 100}
	var out []PullCommit
	for {
		list, resp, err := api.PullRequests.ListCommits(ctx, owner, repo, number, opts)
		if err != nil {
			return nil, convert(op, err)
		}
		for _, rc := range list {
			out = append(out, PullCommit{SHA: rc.GetSHA(), Message: rc.GetCommit().GetMessage()})
		}
		if resp.NextPage == 0 || len(out) >= maxPullCommits {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}
