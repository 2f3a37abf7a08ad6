package main

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

// The ingress's GC target is ingressGCPercent unless GOGC is set.
func TestTuneGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })

	tuneGC(func(string) string { return "" })
	require.Equal(t, ingressGCPercent, debug.SetGCPercent(100))

	tuneGC(func(k string) string { return map[string]string{"GOGC": "50"}[k] })
	require.Equal(t, 100, debug.SetGCPercent(100), "an operator's GOGC is kept")
}
