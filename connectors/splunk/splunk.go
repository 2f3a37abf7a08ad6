// Package splunk is Hookflow's thin client for the Splunk HTTP Event
// Collector (HEC): JSON events posted in newline-concatenated batches to
// /services/collector/event with "Authorization: Splunk <token>", and,
// when the token has indexer acknowledgement on, the acknowledgement
// queries on /services/collector/ack. No kept Go client exists for it.
// It knows nothing of Temporal: every failed call comes back as
// *apierror.Error, and the ack wait reports progress through a callback
// so that the caller can heartbeat.
package splunk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hookflow/hookflow/connectors/apierror"
)

// System is the connector's name in tokens and errors.
const System = "splunk"

// Options configures a Client.
type Options struct {
	// BaseURL is the HEC root, https://HOST:8088/ (Splunk Enterprise) or
	// https://http-inputs-STACK.splunkcloud.com/ (Splunk Cloud). Required.
	BaseURL string
	// HTTPClient is used for every call. Nil means a client with a 30 s
	// timeout.
	HTTPClient *http.Client
	// MaxBatchBytes bounds one request's body. Zero means 1 MiB, under
	// Splunk Cloud's documented per-request limit.
	MaxBatchBytes int
	// MaxBatchEvents bounds the events in one request. Zero means 500.
	MaxBatchEvents int
	// AckPollInterval is the wait between two acknowledgement queries.
	// Zero means one second.
	AckPollInterval time.Duration
	// AckTimeout is how long WaitAcks waits for every acknowledgement.
	// Zero means two minutes.
	AckTimeout time.Duration
}

// Client posts events to one HEC endpoint with a token given per call.
type Client struct {
	base         *url.URL
	http         *http.Client
	maxBytes     int
	maxEvents    int
	pollInterval time.Duration
	ackTimeout   time.Duration
}

// New returns a Client. It does no I/O.
func New(opts Options) (*Client, error) {
	u, err := url.Parse(opts.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("splunk: invalid base URL %q", opts.BaseURL)
	}
	c := &Client{base: u, http: opts.HTTPClient, maxBytes: opts.MaxBatchBytes, maxEvents: opts.MaxBatchEvents,
		pollInterval: opts.AckPollInterval, ackTimeout: opts.AckTimeout}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.maxBytes <= 0 {
		c.maxBytes = 1 << 20
	}
	if c.maxEvents <= 0 {
		c.maxEvents = 500
	}
	if c.pollInterval <= 0 {
		c.pollInterval = time.Second
	}
	if c.ackTimeout <= 0 {
		c.ackTimeout = 2 * time.Minute
	}
	return c, nil
}

// Event is one HEC event.
type Event struct {
	// Time is when it happened. Zero means the time HEC receives it.
	Time time.Time `json:",omitzero"`
	// Host, Source, SourceType and Index override the token's defaults
	// when not empty.
	Host       string `json:",omitempty"`
	Source     string `json:",omitempty"`
	SourceType string `json:",omitempty"`
	Index      string `json:",omitempty"`
	// Event is the payload: a JSON object or a string.
	Event json.RawMessage
	// Fields are indexed fields. Nil means none.
	Fields map[string]any `json:",omitempty"`
}

type wireEvent struct {
	Time       *float64        `json:"time,omitempty"`
	Host       string          `json:"host,omitempty"`
	Source     string          `json:"source,omitempty"`
	SourceType string          `json:"sourcetype,omitempty"`
	Index      string          `json:"index,omitempty"`
	Event      json.RawMessage `json:"event"`
	Fields     map[string]any  `json:"fields,omitempty"`
}

// ErrEventTooLarge is returned (wrapped) by Batches for an event that does
// not fit in one batch on its own; no retry can send it.
var ErrEventTooLarge = errors.New("splunk: event larger than the batch limit")

// ErrEmptyEvent is returned (wrapped) by Batches for an event without a
// payload, which HEC refuses (code 12/13).
var ErrEmptyEvent = errors.New("splunk: event has no payload")

// Batches encodes events and packs them, in order, into request bodies of
// at most MaxBatchBytes and MaxBatchEvents. The result depends only on
// events and the options, so a retried caller gets the same batches.
func (c *Client) Batches(events []Event) ([][]byte, error) {
	var out [][]byte
	var cur bytes.Buffer
	n := 0
	for i, e := range events {
		if len(bytes.TrimSpace(e.Event)) == 0 || string(bytes.TrimSpace(e.Event)) == `""` || string(e.Event) == "null" {
			return nil, fmt.Errorf("%w: event %d", ErrEmptyEvent, i)
		}
		w := wireEvent{Host: e.Host, Source: e.Source, SourceType: e.SourceType, Index: e.Index, Event: e.Event, Fields: e.Fields}
		if !e.Time.IsZero() {
			t := float64(e.Time.UnixMilli()) / 1000
			w.Time = &t
		}
		line, err := json.Marshal(w)
		if err != nil {
			return nil, fmt.Errorf("splunk: event %d: %w", i, err)
		}
		if len(line) > c.maxBytes {
			return nil, fmt.Errorf("%w: event %d is %d bytes, the limit %d", ErrEventTooLarge, i, len(line), c.maxBytes)
		}
		if n > 0 && (cur.Len()+1+len(line) > c.maxBytes || n == c.maxEvents) {
			out = append(out, bytes.Clone(cur.Bytes()))
			cur.Reset()
			n = 0
		}
		if n > 0 {
			cur.WriteByte('\n')
		}
		cur.Write(line)
		n++
	}
	if n > 0 {
		out = append(out, bytes.Clone(cur.Bytes()))
	}
	return out, nil
}

// NoAck is the ack ID of a batch sent without indexer acknowledgement.
const NoAck int64 = -1

// SendBatch posts one batch. With a channel (a GUID) the token's indexer
// acknowledgement applies and the returned ack ID is to be waited for;
// without one it returns NoAck.
func (c *Client) SendBatch(ctx context.Context, token string, batch []byte, channel string) (int64, error) {
	var res struct {
		AckID *int64 `json:"ackId"`
	}
	if err := c.post(ctx, token, "send events", "services/collector/event", channel, batch, &res); err != nil {
		return NoAck, err
	}
	if channel != "" && res.AckID != nil {
		return *res.AckID, nil
	}
	return NoAck, nil
}

// QueryAcks asks which of ids the indexers have acknowledged on channel.
func (c *Client) QueryAcks(ctx context.Context, token, channel string, ids []int64) (map[int64]bool, error) {
	body, _ := json.Marshal(map[string][]int64{"acks": ids})
	var res struct {
		Acks map[string]bool `json:"acks"`
	}
	if err := c.post(ctx, token, "query acks", "services/collector/ack", channel, body, &res); err != nil {
		return nil, err
	}
	out := make(map[int64]bool, len(ids))
	for k, v := range res.Acks {
		id, err := strconv.ParseInt(k, 10, 64)
		if err == nil {
			out[id] = v
		}
	}
	return out, nil
}

// WaitAcks polls until every id is acknowledged, calling progress (when
// not nil) after each poll with the ids still pending. It returns the ids
// not acknowledged within AckTimeout (nil when all were) or the error of a
// failed query.
func (c *Client) WaitAcks(ctx context.Context, token, channel string, ids []int64, progress func(pending []int64)) ([]int64, error) {
	pending := append([]int64(nil), ids...)
	deadline := time.NewTimer(c.ackTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(c.pollInterval)
	defer tick.Stop()
	for len(pending) > 0 {
		acked, err := c.QueryAcks(ctx, token, channel, pending)
		if err != nil {
			return pending, err
		}
		still := pending[:0]
		for _, id := range pending {
			if !acked[id] {
				still = append(still, id)
			}
		}
		pending = still
		if progress != nil {
			progress(append([]int64(nil), pending...))
		}
		if len(pending) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return pending, ctx.Err()
		case <-deadline.C:
			return pending, nil
		case <-tick.C:
		}
	}
	return nil, nil
}

const maxErrorBody = 64 << 10

func (c *Client) post(ctx context.Context, token, op, path, channel string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.JoinPath(path).String(), bytes.NewReader(body))
	if err != nil {
		return &apierror.Error{System: System, Op: op, Err: err}
	}
	req.Header.Set("Authorization", "Splunk "+token)
	req.Header.Set("Content-Type", "application/json")
	if channel != "" {
		req.Header.Set("X-Splunk-Request-Channel", channel)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return &apierror.Error{System: System, Op: op, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		return &apierror.Error{System: System, Op: op, Err: err}
	}
	var hec struct {
		Text string `json:"text"`
		Code *int   `json:"code"`
	}
	jsonErr := json.Unmarshal(raw, &hec)
	status := resp.StatusCode
	failed := status < 200 || status > 299
	if jsonErr == nil && hec.Code != nil && !failed && *hec.Code != 0 && *hec.Code != 17 {
		failed = true // a non-success code behind a 2xx (a proxy rewrote the status)
	}
	if failed {
		e := &apierror.Error{System: System, Op: op, Status: status, RetryAfter: apierror.RetryAfter(resp.Header, time.Now())}
		if jsonErr == nil && hec.Code != nil {
			e.Message = fmt.Sprintf("%s (code %d)", hec.Text, *hec.Code)
			e.Status = statusOfCode(*hec.Code, status)
		}
		return e
	}
	if jsonErr != nil {
		return &apierror.Error{System: System, Op: op, Message: "malformed response", Err: jsonErr}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return &apierror.Error{System: System, Op: op, Message: "malformed response", Err: err}
		}
	}
	return nil
}

// statusOfCode is the HTTP status that HEC documents for its status code.
// The server-busy and unhealthy codes are always 503, so that they are
// retried whatever status a proxy put in front of them; other codes keep
// the response's status when it is an error status already.
func statusOfCode(code, status int) int {
	switch code {
	case 8:
		return http.StatusInternalServerError
	case 9, 18, 19, 20:
		return http.StatusServiceUnavailable
	}
	if status >= 400 {
		return status
	}
	switch code {
	case 1, 4:
		return http.StatusForbidden
	case 2, 3:
		return http.StatusUnauthorized
	default:
		return http.StatusBadRequest
	}
}
