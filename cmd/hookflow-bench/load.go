package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/google/uuid"
	"time"
)

// newClient is a keep-alive HTTP client with an idle connection for every
// request the load can have in flight, so no request pays for a handshake.
func newClient() *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 1024,
			// A sender that falls behind queues its requests rather than
			// opening thousands of connections (GitHub does the same);
			// open-loop latency still counts the time spent queued.
			MaxConnsPerHost:    256,
			IdleConnTimeout:    90 * time.Second,
			DisableCompression: true,
		},
	}
}

// delivery is a signed GitHub delivery body.
type delivery struct {
	body  []byte
	sig   string // X-Hub-Signature-256
	event string // X-GitHub-Event; empty: pull_request
}

// poster sends signed GitHub deliveries to one URL.
type poster struct {
	client *http.Client
	url    string
}

func newPoster(url string) *poster {
	return &poster{client: newClient(), url: url}
}

// post sends d with a new delivery ID and returns the status code. The ID
// is a random GUID, as GitHub's X-GitHub-Delivery is: a counter gave the
// journal's dedup index keys that land next to each other, which real
// deliveries do not.
func (p *poster) post(ctx context.Context, d *delivery) (int, error) {
	return p.postID(ctx, d, uuid.NewString())
}

func (p *poster) postID(ctx context.Context, d *delivery, id string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(d.body))
	if err != nil {
		return 0, err
	}
	h := req.Header
	h["Content-Type"] = []string{"application/json"}
	h["User-Agent"] = []string{"GitHub-Hookshot/hookflow-bench"}
	event := d.event
	if event == "" {
		event = "pull_request"
	}
	h["X-Github-Event"] = []string{event}
	h["X-Github-Delivery"] = []string{id}
	h["X-Hub-Signature-256"] = []string{d.sig}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// stats are the outcome of one load run.
type stats struct {
	requests int
	errors   int
	statuses map[string]int // "202", "503", "error"
	elapsed  time.Duration
	lat      []time.Duration // sorted
}

func (s *stats) rps() float64 { return float64(s.requests) / s.elapsed.Seconds() }

func (s *stats) pct(p float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	i := int(float64(len(s.lat))*p/100+0.5) - 1
	return s.lat[max(0, min(i, len(s.lat)-1))]
}

func (s *stats) statusSummary() string {
	keys := make([]string, 0, len(s.statuses))
	for k := range s.statuses {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b bytes.Buffer
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s×%d", k, s.statuses[k])
	}
	return b.String()
}

// collector gathers per-request outcomes from many goroutines.
type collector struct {
	mu       sync.Mutex
	lat      []time.Duration
	statuses map[string]int
	errors   int
}

func (c *collector) add(lat time.Duration, code int, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.statuses == nil {
		c.statuses = map[string]int{}
	}
	switch {
	case err != nil:
		c.statuses["error"]++
		c.errors++
	case code >= 300:
		c.statuses[strconv.Itoa(code)]++
		c.errors++
	default:
		c.statuses[strconv.Itoa(code)]++
		c.lat = append(c.lat, lat)
	}
}

func (c *collector) merge(o *collector) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.statuses == nil {
		c.statuses = map[string]int{}
	}
	c.lat = append(c.lat, o.lat...)
	for k, v := range o.statuses {
		c.statuses[k] += v
	}
	c.errors += o.errors
}

func (c *collector) stats(elapsed time.Duration) *stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	slices.Sort(c.lat)
	return &stats{requests: len(c.lat), errors: c.errors, statuses: c.statuses, elapsed: elapsed, lat: c.lat}
}

// closedLoop runs conc workers, each sending its next request as soon as
// the previous one is answered, for d (after a warm-up of warm). Latency is
// per request; req/s counts successful answers.
func closedLoop(ctx context.Context, conc int, warm, d time.Duration, send func(context.Context) (int, error)) *stats {
	if warm > 0 {
		wctx, cancel := context.WithTimeout(ctx, warm)
		var wg sync.WaitGroup
		for range conc {
			wg.Go(func() {
				for wctx.Err() == nil {
					_, _ = send(ctx)
				}
			})
		}
		wg.Wait()
		cancel()
	}
	var c collector
	c.lat = make([]time.Duration, 0, 1<<16)
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			var lc collector
			lc.lat = make([]time.Duration, 0, 4096)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t := time.Now()
				code, err := send(ctx)
				lc.add(time.Since(t), code, err)
			}
			c.merge(&lc)
		})
	}
	wg.Wait()
	return c.stats(time.Since(start))
}

// openLoop starts rate requests per second for d whatever the answers do
// (each in its own goroutine) and measures each latency from the moment
// the request was due, so a stalled server cannot hide its queue
// (no coordinated omission).
func openLoop(ctx context.Context, rate int, d time.Duration, send func(context.Context) (int, error)) *stats {
	var c collector
	c.lat = make([]time.Duration, 0, int(float64(rate)*d.Seconds())+16)
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if due.Sub(start) >= d || ctx.Err() != nil {
			break
		}
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		wg.Go(func() {
			code, err := send(ctx)
			c.add(time.Since(due), code, err)
		})
	}
	elapsed := time.Since(start)
	wg.Wait()
	return c.stats(elapsed)
}
