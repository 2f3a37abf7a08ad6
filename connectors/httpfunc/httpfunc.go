// Package httpfunc is Hookflow's language-agnostic extension point: it
// POSTs a JSON input to a function's URL (Fission, Knative, OpenFaaS, an
// AWS Lambda function URL, any HTTP service in any language) and returns
// the function's JSON answer. Every request is signed with HMAC-SHA256
// over "timestamp.body" so the function can tell Hookflow from anyone
// else; docs/functions.md is the contract. It knows nothing of Temporal:
// every failed call comes back as *apierror.Error.
package httpfunc

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow/connectors/apierror"
)

// System is the connector's name in tokens and errors. A function's
// signing secret is stored under tokens.Key{System: "httpfunc",
// Installation: <function name>}.
const System = "httpfunc"

// Headers of the contract.
const (
	// HeaderTimestamp carries the signing time, Unix seconds.
	HeaderTimestamp = "X-Hookflow-Timestamp"
	// HeaderSignature carries "v1=" and the hex HMAC-SHA256 of
	// "<timestamp>.<body>" under the function's secret.
	HeaderSignature = "X-Hookflow-Signature"
	// HeaderIdempotencyKey is the same on every retry of one call.
	HeaderIdempotencyKey = "X-Hookflow-Idempotency-Key"
	// HeaderFunction names the function being called.
	HeaderFunction = "X-Hookflow-Function"
)

// Options configures a Client.
type Options struct {
	// HTTPClient is used for every call; its own Timeout should be zero or
	// longer than any call's. Nil means a client without a client-wide
	// timeout (each call has its own, see Request.Timeout). Whatever its
	// CheckRedirect, the Client never follows a redirect to another origin
	// (see Call); the client passed in is copied, not changed.
	HTTPClient *http.Client
	// DefaultTimeout bounds a call whose Request.Timeout is zero. Zero
	// means 30 s.
	DefaultTimeout time.Duration
	// MaxResponseBytes bounds the function's answer. Zero means 10 MiB.
	MaxResponseBytes int64
	// Now is the signing clock. Nil means time.Now.
	Now func() time.Time
}

// Client calls functions with a secret given per call.
type Client struct {
	http     *http.Client
	timeout  time.Duration
	maxBytes int64
	now      func() time.Time
}

// New returns a Client. It does no I/O.
func New(opts Options) *Client {
	c := &Client{timeout: opts.DefaultTimeout, maxBytes: opts.MaxResponseBytes, now: opts.Now}
	hc := http.Client{}
	if opts.HTTPClient != nil {
		hc = *opts.HTTPClient
	}
	hc.CheckRedirect = sameOrigin(hc.CheckRedirect)
	c.http = &hc
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	if c.maxBytes <= 0 {
		c.maxBytes = 10 << 20
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Request is one function call.
type Request struct {
	// Function is the function's name, sent in X-Hookflow-Function and
	// used in errors.
	Function string
	// URL is where the function listens. It must not carry a credential:
	// it appears in histories.
	URL string
	// Input is the JSON body. Nil means null.
	Input json.RawMessage
	// IdempotencyKey is sent in X-Hookflow-Idempotency-Key. Empty sends
	// none.
	IdempotencyKey string
	// Timeout bounds the call. Zero means Options.DefaultTimeout.
	Timeout time.Duration
}

// Response is a function's successful answer.
type Response struct {
	Status int
	// Output is the JSON body; null when the function answered 204 or an
	// empty body.
	Output json.RawMessage
}

// Sign returns the X-Hookflow-Signature value for body signed at ts.
func Sign(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// ErrBadSignature is returned by Verify for a request that was not signed
// with the secret, or not recently.
var ErrBadSignature = errors.New("httpfunc: bad signature")

// Verify checks a request's signature the way a function written in Go
// should: the timestamp within tolerance of now, then a constant-time
// comparison of any v1= entry of the header (entries are separated by
// commas, so a secret can be rotated by signing with both).
func Verify(secret, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q", ErrBadSignature, timestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp outside tolerance", ErrBadSignature)
	}
	want := []byte(Sign(secret, ts, body))
	for _, s := range strings.Split(signature, ",") {
		if hmac.Equal([]byte(strings.TrimSpace(s)), want) {
			return nil
		}
	}
	return ErrBadSignature
}

// sameOrigin wraps a CheckRedirect (nil: Go's default of 10 redirects) so
// that a redirect to another scheme, host or port is not followed: a 307 or
// 308 would resend the body with its signature and timestamp headers, which
// that origin could replay to the function within the tolerance. The
// redirect answer itself is returned instead, and Call turns it into a
// final error.
func sameOrigin(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if origin(req.URL) != origin(via[0].URL) {
			return http.ErrUseLastResponse
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// origin is scheme://host[:port], as browsers compare them; a default port
// written out counts as another origin, which only refuses more.
func origin(u *url.URL) string {
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
}

// Call signs and POSTs req.Input to req.URL and returns the function's JSON
// answer. A 2xx answer that is not JSON is an error (status 0, retryable:
// a function behind a broken proxy); 4xx are final, 408, 429 and 5xx are
// retryable with the Retry-After the function sent. Redirects are followed
// within the function's origin only: a redirect elsewhere is a final error
// with its 3xx status (point the function URL at the final address).
func (c *Client) Call(ctx context.Context, secret string, req Request) (Response, error) {
	op := "call " + req.Function
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Response{}, &apierror.Error{System: System, Op: op, Status: http.StatusBadRequest, Message: "invalid function URL"}
	}
	body := []byte(req.Input)
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("null")
	}
	if !json.Valid(body) {
		return Response{}, &apierror.Error{System: System, Op: op, Status: http.StatusBadRequest, Message: "input is not JSON"}
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = c.timeout
	}
	ctx2, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx2, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return Response{}, &apierror.Error{System: System, Op: op, Err: err}
	}
	ts := c.now().Unix()
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", "hookflow-httpfunc/1")
	hreq.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	hreq.Header.Set(HeaderSignature, Sign(secret, ts, body))
	if req.Function != "" {
		hreq.Header.Set(HeaderFunction, req.Function)
	}
	if req.IdempotencyKey != "" {
		hreq.Header.Set(HeaderIdempotencyKey, req.IdempotencyKey)
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return Response{}, ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in the input already; keep messages short
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return Response{}, &apierror.Error{System: System, Op: op, Message: fmt.Sprintf("no answer within %s", timeout)}
		}
		return Response{}, &apierror.Error{System: System, Op: op, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBytes+1))
	if err != nil {
		return Response{}, &apierror.Error{System: System, Op: op, Status: 0, Message: "reading the answer", Err: err}
	}
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		msg := "the function answered with a redirect that is not followed: set the function URL to the final address"
		if loc, err := resp.Location(); err == nil {
			// The origin only: a path or query could carry a credential.
			msg = fmt.Sprintf("the function redirected to %s; the signed request is not sent to another origin: set the function URL to the final address", origin(loc))
		}
		return Response{}, &apierror.Error{System: System, Op: op, Status: resp.StatusCode, Message: msg}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Response{}, &apierror.Error{
			System:     System,
			Op:         op,
			Status:     resp.StatusCode,
			RetryAfter: apierror.RetryAfter(resp.Header, c.now()),
			Message:    errorMessage(raw),
		}
	}
	if int64(len(raw)) > c.maxBytes {
		return Response{}, &apierror.Error{System: System, Op: op, Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("answer larger than %d bytes", c.maxBytes)}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return Response{Status: resp.StatusCode, Output: json.RawMessage("null")}, nil
	}
	if !json.Valid(raw) {
		return Response{}, &apierror.Error{System: System, Op: op, Message: "malformed response: not JSON"}
	}
	return Response{Status: resp.StatusCode, Output: json.RawMessage(raw)}, nil
}

// errorMessage reads the contract's {"error": "..."} or {"error":
// {"message": "..."}} (or a top-level "message"); other bodies give none.
func errorMessage(raw []byte) string {
	var e struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return ""
	}
	msg := e.Message
	var s string
	var obj struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(e.Error, &s) == nil && s != "" {
		msg = s
	} else if json.Unmarshal(e.Error, &obj) == nil && obj.Message != "" {
		msg = obj.Message
	}
	if len(msg) > 500 {
		msg = msg[:500] + "…"
	}
	return msg
}
