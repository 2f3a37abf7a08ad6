package main

import (
	"runtime/debug"
)

// ingressGCPercent is the garbage collector's target for the ingress when
// GOGC is not set. The ingress keeps little alive (tens of MiB: caches,
// buffers, the requests in flight) and allocates mostly what one delivery
// needs and drops (its body, its request), so at Go's default of 100 it
// collected many times a second. Measured on GitHub's payload examples at
// c=64 (docs/benchmarks.md): 400 took 7-9% off the CPU per delivery in
// three alternated pairs but 0-7% in others, and raised the peak RSS at
// 1,000 req/s from ~47 to 75-93 MiB (the goal is at most 100); 200 took
// 0-9% off at ~46 MiB. The heap may grow to three times the live one.
const ingressGCPercent = 200

// tuneGC sets ingressGCPercent unless the operator set GOGC (which the
// runtime has already applied).
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(ingressGCPercent)
	}
}
