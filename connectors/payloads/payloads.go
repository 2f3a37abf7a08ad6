// Package payloads reads the payloads the ingress's journal holds by
// reference (events over 256 KiB carry "journal/<seq>" instead of their
// payload) from the ingress's payload endpoint,
// GET /admin/v1/payloads/{seq}, with a worker token.
package payloads

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow/connectors/apierror"
)

// MaxPayloadBytes bounds a payload read: the ingress accepts at most
// 25 MiB by default; a larger max_body_bytes needs a larger MaxBytes.
const MaxPayloadBytes = 64 << 20

// Options configures a Client.
type Options struct {
	// BaseURL is the ingress's admin listener (http://ingress:8081, or
	// the public one when the admin API shares it). Required.
	BaseURL string
	// Token is the worker token (HOOKFLOW_WORKER_TOKEN) or the admin
	// token. Required.
	Token string
	// MaxBytes bounds one payload. Zero means MaxPayloadBytes.
	MaxBytes int64
	// HTTP is the client. Nil means one with a 60 s timeout.
	HTTP *http.Client
}

// Client reads payloads from the ingress.
type Client struct {
	opts Options
}

// New checks opts and returns a Client. It does no I/O.
func New(opts Options) (*Client, error) {
	if opts.BaseURL == "" || opts.Token == "" {
		return nil, errors.New("payloads: BaseURL and Token are required")
	}
	opts.BaseURL = strings.TrimSuffix(opts.BaseURL, "/")
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = MaxPayloadBytes
	}
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: 60 * time.Second}
	}
	return &Client{opts: opts}, nil
}

// Payload returns the payload of journal entry seq.
func (c *Client) Payload(ctx context.Context, seq int64) ([]byte, error) {
	op := "read payload " + strconv.FormatInt(seq, 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.opts.BaseURL+"/admin/v1/payloads/"+strconv.FormatInt(seq, 10), nil)
	if err != nil {
		return nil, &apierror.Error{System: "hookflow", Op: op, Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	resp, err := c.opts.HTTP.Do(req)
	if err != nil {
		return nil, &apierror.Error{System: "hookflow", Op: op, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxBytes+1))
	if err != nil {
		return nil, &apierror.Error{System: "hookflow", Op: op, Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		msg := strings.TrimSpace(string(body))
		if len(msg) > 300 {
			msg = msg[:300]
		}
		return nil, &apierror.Error{System: "hookflow", Op: op, Status: resp.StatusCode, Message: msg,
			RetryAfter: apierror.RetryAfter(resp.Header, time.Now())}
	}
	if int64(len(body)) > c.opts.MaxBytes {
		return nil, &apierror.Error{System: "hookflow", Op: op, Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("payload over %d bytes", c.opts.MaxBytes)}
	}
	return body, nil
}
