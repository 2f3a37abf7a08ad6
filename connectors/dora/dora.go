// Package dora writes DORA batches through the ingress's admin API
// (POST /admin/v1/dora/apply) with a worker token: the ingress owns the
// database the metrics live in, and workers reach it the way they reach
// payloads held by reference.
package dora

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookflow/hookflow/connectors/apierror"
)

// Options configures a Client.
type Options struct {
	// BaseURL is the ingress's admin listener (the worker's --payload-url).
	// Required.
	BaseURL string
	// Token is the worker token (HOOKFLOW_WORKER_TOKEN) or the admin
	// token. Required.
	Token string
	// HTTP is the client. Nil means one with a 60 s timeout.
	HTTP *http.Client
}

// Client applies batches.
type Client struct{ opts Options }

// New checks opts and returns a Client. It does no I/O.
func New(opts Options) (*Client, error) {
	if opts.BaseURL == "" || opts.Token == "" {
		return nil, errors.New("dora: BaseURL and Token are required")
	}
	opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: 60 * time.Second}
	}
	return &Client{opts: opts}, nil
}

// Apply is one batch to apply: its body inline, or the journal reference
// of a body held there.
type Apply struct {
	BatchID             string          `json:"batch_id"`
	Source              string          `json:"source,omitempty"`
	Payload             json.RawMessage `json:"payload,omitempty"`
	PayloadRef          string          `json:"payload_ref,omitempty"`
	DeploymentWorkflows []string        `json:"deployment_workflows,omitempty"`
}

// Applied counts what an apply wrote.
type Applied struct {
	Deployments int `json:"deployments"`
	Incidents   int `json:"incidents"`
	Rejected    int `json:"rejected"`
}

// Apply writes a batch's valid records (upserts: applying it again writes
// the same rows).
func (c *Client) Apply(ctx context.Context, in Apply) (Applied, error) {
	var out Applied
	err := c.call(ctx, "apply dora batch", http.MethodPost, "/admin/v1/dora/apply", in, &out)
	return out, err
}

// Unresolved is a successful deployment whose commits are not known, with
// the SHA of the previous successful deployment of its repository and
// environment (empty for the first one).
type Unresolved struct {
	DeploymentID     string `json:"deployment_id"`
	Repo             string `json:"repo"`
	Environment      string `json:"environment"`
	SHA              string `json:"sha"`
	Source           string `json:"source,omitempty"`
	BaseSHA          string `json:"base_sha,omitempty"`
	BaseDeploymentID string `json:"base_deployment_id,omitempty"`
}

// Unresolved lists the deployments batch last wrote whose commits are not
// known (GET /admin/v1/dora/unresolved?batch=).
func (c *Client) Unresolved(ctx context.Context, batch string) ([]Unresolved, error) {
	var out struct {
		Deployments []Unresolved `json:"deployments"`
	}
	err := c.call(ctx, "list unresolved dora deployments", http.MethodGet, "/admin/v1/dora/unresolved?batch="+url.QueryEscape(batch), nil, &out)
	return out.Deployments, err
}

// Commit is one commit a deployment ships.
type Commit struct {
	SHA         string    `json:"sha"`
	CommittedAt time.Time `json:"committed_at"`
}

// Resolution is the outcome of resolving a deployment's commits: From is
// "compare" (Commits are the range's), "first" (no previous deployment)
// or "unresolvable" (the provider refused the comparison).
type Resolution struct {
	DeploymentID string   `json:"deployment_id"`
	SHA          string   `json:"sha"`
	From         string   `json:"from"`
	Commits      []Commit `json:"commits,omitempty"`
}

// Recorded counts what RecordCommits wrote, and the resolutions it left
// alone (the deployment moved to another SHA or lists its commits).
type Recorded struct {
	Deployments int `json:"deployments"`
	Commits     int `json:"commits"`
	Skipped     int `json:"skipped"`
}

// RecordCommits writes resolutions (POST /admin/v1/dora/commits);
// writing the same ones again writes the same rows.
func (c *Client) RecordCommits(ctx context.Context, rs []Resolution) (Recorded, error) {
	var out Recorded
	err := c.call(ctx, "record dora commits", http.MethodPost, "/admin/v1/dora/commits", map[string]any{"resolutions": rs}, &out)
	return out, err
}

// call sends in (nil: no body) and decodes a 200 answer into out.
func (c *Client) call(ctx context.Context, op, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return &apierror.Error{System: "hookflow", Op: op, Err: err}
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.opts.BaseURL+path, body)
	if err != nil {
		return &apierror.Error{System: "hookflow", Op: op, Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.opts.HTTP.Do(req)
	if err != nil {
		return &apierror.Error{System: "hookflow", Op: op, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return &apierror.Error{System: "hookflow", Op: op, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		msg := strings.TrimSpace(string(raw))
		if len(msg) > 300 {
			msg = msg[:300]
		}
		return &apierror.Error{System: "hookflow", Op: op, Status: resp.StatusCode, Message: msg,
			RetryAfter: apierror.RetryAfter(resp.Header, time.Now())}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &apierror.Error{System: "hookflow", Op: op, Err: err}
	}
	return nil
}

// Notify posts a Slack-compatible message ({"text": text}) to a webhook
// URL. The URL is a credential: it never appears in an error.
func Notify(ctx context.Context, hc *http.Client, webhookURL, text string) error {
	const op = "notify"
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	body, _ := json.Marshal(map[string]string{"text": text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, bytes.NewReader(body))
	if err != nil {
		return &apierror.Error{System: "notify", Op: op, Status: http.StatusBadRequest, Message: "the notification URL is not a valid URL"}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		// The error of a failed request names the URL: drop it.
		return &apierror.Error{System: "notify", Op: op, Message: "the notification webhook could not be reached"}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 300 {
		return &apierror.Error{System: "notify", Op: op, Status: resp.StatusCode, Message: "the notification webhook answered " + resp.Status,
			RetryAfter: apierror.RetryAfter(resp.Header, time.Now())}
	}
	return nil
}
