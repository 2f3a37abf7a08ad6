package ingress

import (
	"context"
	"errors"
	"sync"
	"time"
)

// AppendFailureWindow is how long /readyz answers 503 after a journal
// append failed with no append succeeding since. Long enough for a load
// balancer's probe (Kubernetes probes every 10 s) to see it; short enough
// that a replica taken out of rotation, which then gets no appends to
// prove itself with, is tried again.
const AppendFailureWindow = 30 * time.Second

// appendHealth remembers whether the journal's last append failed, for
// /readyz: on a full disk the journal still answers reads (the backlog
// query) while every append fails. The zero value is healthy; it is safe
// for concurrent use.
type appendHealth struct {
	mu sync.Mutex
	// failedAt is when the last append failed, zero when an append
	// succeeded since (or none ever failed).
	failedAt time.Time
	reason   string
}

// record notes the outcome of one append, at now: an error makes the
// server unready for AppendFailureWindow, a success (nil) makes it ready
// again at once. A canceled context (the client hung up) says nothing about
// the journal and is ignored; a deadline exceeded is a slow journal and
// counts.
func (h *appendHealth) record(now time.Time, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.failedAt, h.reason = time.Time{}, ""
		return
	}
	if now.After(h.failedAt) {
		h.failedAt = now
	}
	h.reason = "journal append failed"
	if errors.Is(err, context.DeadlineExceeded) {
		h.reason = "journal append timed out"
	}
}

// healthy reports whether appends may be trusted at now: no append failed
// within AppendFailureWindow before now without a success after it. When
// not, it returns when the last failure was and a reason fit for a probe's
// answer (never the error itself, which may name a path or a DSN).
func (h *appendHealth) healthy(now time.Time) (ok bool, failedAt time.Time, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failedAt.IsZero() || now.Sub(h.failedAt) >= AppendFailureWindow {
		return true, time.Time{}, ""
	}
	return false, h.failedAt, h.reason
}
