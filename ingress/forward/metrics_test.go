package forward_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/forward"
)

// TestForwardLatency: each signalled event's time since acceptance is
// observed.
func TestForwardLatency(t *testing.T) {
	t.Parallel()
	j := newJournal(t)
	ev := event("l1", "pull_request", "opened", "5")
	ev.ReceivedAt = time.Now().Add(-3 * time.Second)
	accept(t, j, ev)
	reg := prometheus.NewRegistry()
	tc := &fakeTemporal{}
	f, err := forward.New(forward.Config{Journal: j, Temporal: tc, Router: router(), Idle: 10 * time.Millisecond, Metrics: forward.NewMetrics(reg)})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	require.Eventually(t, func() bool { return len(tc.applied("pr/5")) == 1 }, wait, tick)
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range families {
		if mf.GetName() == "hookflow_forward_latency_seconds" {
			h := mf.GetMetric()[0].GetHistogram()
			require.Equal(t, uint64(1), h.GetSampleCount())
			require.GreaterOrEqual(t, h.GetSampleSum(), 3.0)
			return
		}
	}
	t.Fatal("no hookflow_forward_latency_seconds")
}
