package ingress_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress"
	"github.com/hookflow/hookflow/ingress/journal"
)

// Each test here reproduces an attack from the hostile-input probe
// (issue 11) and fails without its fix.

// TestDeclaredLengthAllocatesNothing: 60 connections declare 20 MB bodies
// and send 6 bytes. The buffer grows with the bytes that arrive, never from
// Content-Length (before: 60 × 20 MB allocated at once).
func TestDeclaredLengthAllocatesNothing(t *testing.T) {
	f := newFixture(t, nil)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	addr := strings.TrimPrefix(f.srv.URL, "http://")
	var conns []net.Conn
	for range 60 {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		conns = append(conns, c)
		_, err = fmt.Fprintf(c, "POST /hooks/%s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\nContent-Length: 20000000\r\n\r\n{\"a\":1", f.in.Path)
		require.NoError(t, err)
	}
	time.Sleep(500 * time.Millisecond) // the server reads the 6 bytes of each
	var during runtime.MemStats
	runtime.ReadMemStats(&during)
	for _, c := range conns {
		c.Close()
	}
	grown := int64(during.HeapAlloc) - int64(before.HeapAlloc)
	require.Less(t, grown, int64(64<<20), "60 declared 20 MB bodies must not allocate 1.2 GB (grew %d MiB)", grown>>20)
}

// TestForgedRequestsDoNotSpendTheRateBudget: forged requests are refused
// before the integration's rate limit is charged, so the real sender's
// delivery still gets through (before: the 7th signed delivery got 429).
func TestForgedRequestsDoNotSpendTheRateBudget(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{ingress.OptionRateLimit: "1"})
	for i := range 10 {
		code, out, _ := f.send(t, delivery{event: "pull_request", id: fmt.Sprint("forged-", i), sig: sign(prBody, "guess-guess-guess-guess"), body: prBody})
		require.Equal(t, http.StatusUnauthorized, code)
		require.Equal(t, "unauthorized", errCode(out))
	}
	code, out, _ := f.send(t, delivery{event: "pull_request", id: "real", sig: sign(prBody, secret), body: prBody})
	require.Equal(t, http.StatusAccepted, code, out)
}

// TestClientAddressFloodIsBounded: one address over ClientRateLimit gets
// 429 whatever it sends, verified or not, URL known or not.
func TestClientAddressFloodIsBounded(t *testing.T) {
	t.Parallel()
	now := time.Now() // a clock that stands still: no token comes back while the test runs
	f := newFixture(t, nil, func(c *ingress.Config) { c.ClientRateLimit, c.Now = 5, func() time.Time { return now } })
	var codes []int
	for i := range 8 {
		path := "/hooks/" + strings.Repeat("A", 32)
		if i%2 == 0 {
			path = ""
		}
		code, _, h := f.send(t, delivery{path: path, event: "pull_request", id: fmt.Sprint("c-", i), sig: sign(prBody, secret), body: prBody})
		codes = append(codes, code)
		if code == http.StatusTooManyRequests {
			require.NotEmpty(t, h.Get("Retry-After"))
		}
	}
	require.Equal(t, []int{202, 404, 202, 404, 202, 429, 429, 429}, codes)
}

// TestInFlightBytesAreBounded: bodies being read count against
// MaxInFlightBytes; past it, requests get 503 with Retry-After instead of
// memory.
func TestInFlightBytesAreBounded(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil, func(c *ingress.Config) { c.MaxBodyBytes, c.MaxInFlightBytes = 600<<10, 1<<20 })
	addr := strings.TrimPrefix(f.srv.URL, "http://")
	for range 2 { // two slow senders hold 1,000 KiB between them
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		_, err = fmt.Fprintf(c, "POST /hooks/%s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", f.in.Path, 500<<10+1)
		require.NoError(t, err)
		_, err = c.Write(bytes.Repeat([]byte(" "), 500<<10))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool {
		return strings.Contains(metrics(t, f), "hookflow_ingress_inflight_bytes 1.024e+06")
	}, 5*time.Second, 10*time.Millisecond, "the two slow bodies are held")
	body := []byte(`{"pad":"` + strings.Repeat("x", 100<<10) + `"}`)
	require.Eventually(t, func() bool {
		code, out, h := f.send(t, delivery{event: "pull_request", id: "third", sig: sign(body, secret), body: body})
		return code == http.StatusServiceUnavailable && errCode(out) == "busy" && h.Get("Retry-After") != ""
	}, 5*time.Second, 20*time.Millisecond)
}

// TestRefusalsAreJournaledAtABoundedRate: per integration and status, the
// first RefusalsPerMinute each minute are journaled with their delivery
// IDs; the rest are counted and summarized in one row for the minute.
func TestRefusalsAreJournaledAtABoundedRate(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 12, 2, 10, 0, 5, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	f := newFixture(t, nil, func(c *ingress.Config) { c.Now = clock })
	forge := func(n int, prefix string) {
		for i := range n {
			code, _, _ := f.send(t, delivery{event: "pull_request", id: fmt.Sprint(prefix, i), sig: sign(prBody, "wrong-wrong-wrong-wrong"), body: prBody})
			require.Equal(t, http.StatusUnauthorized, code)
		}
	}
	forge(ingress.RefusalsPerMinute+5, "m1-")
	rejected := func() []journal.Entry {
		list, err := f.journal.List(context.Background(), journal.Filter{Status: journal.Rejected, Limit: 1000})
		require.NoError(t, err)
		return list
	}
	list := rejected()
	require.Len(t, list, ingress.RefusalsPerMinute, "only the first refusals of a minute get a row each")
	for _, e := range list {
		require.True(t, strings.HasPrefix(e.Event.DeliveryID, "m1-"), "journaled with its delivery ID")
		require.Equal(t, "pull_request", e.Event.Type, "and its event type")
		require.True(t, strings.HasPrefix(e.Reason, "401 unauthorized: "), e.Reason)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	forge(1, "m2-")
	list = rejected()
	require.Len(t, list, ingress.RefusalsPerMinute+2)
	require.Equal(t, "m2-0", list[0].Event.DeliveryID)
	require.Contains(t, list[1].Reason, "5 more refusals in the minute from 2026-12-02T10:00:00Z", "one summary row for the suppressed ones")

	require.Contains(t, metrics(t, f), `hookflow_refusals_suppressed_total{source="github",status="401"} 5`)
}

func metrics(t *testing.T, f *fixture) string {
	t.Helper()
	resp, err := http.Get(f.srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return b.String()
}

func TestUnparseableContentTypeIsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for _, ct := range []string{"application/json; =broken", "/", "text/html"} {
		code, out, _ := f.send(t, delivery{event: "pull_request", id: "ct", sig: sign(prBody, secret), body: prBody, contentType: ct})
		require.Equal(t, http.StatusUnsupportedMediaType, code, ct)
		require.Equal(t, "unsupported_media_type", errCode(out), ct)
	}
}
