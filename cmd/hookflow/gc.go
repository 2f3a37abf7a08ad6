package main

import (
	"runtime/debug"
)

// ingressGCPercent is the garbage collector's target for the ingress when
// GOGC is not set. The ingress keeps little alive (tens of MiB: caches,
// buffers, the requests in flight) and allocates mostly what one delivery
// needs and drops (its body, its request), so at Go's default of 100 it
// collected many times a second. At 400: 7-9% less CPU per delivery and
// 2-7% more requests per second over three alternated pairs (GitHub's
// payload examples, c=64, docs/benchmarks.md), for a heap that may grow to
// five times the live one.
const ingressGCPercent = 400

// tuneGC sets ingressGCPercent unless the operator set GOGC (which the
// runtime has already applied).
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(ingressGCPercent)
	}
}
