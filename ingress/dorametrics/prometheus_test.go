package dorametrics

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// gathered returns the value of every series of reg, by name and labels.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

func TestPrometheus(t *testing.T) {
	t.Parallel()
	s := engines(t)["sqlite"](t)
	now := at("2026-11-11T00:00:00Z")
	s.now = func() time.Time { return now }
	ds, is := fixture()
	require.NoError(t, s.UpsertDeployments(context.Background(), ds))
	require.NoError(t, s.UpsertIncidents(context.Background(), is))
	reg := prometheus.NewRegistry()
	p := NewPrometheus(reg, s)
	p.Rejected("int_1", "deployments", 3)
	p.Rejected("int_1", "incidents", 0)

	g := gathered(t, reg)
	// Over 30 days d0 (10-30) is in the window too: 7 deployments, 3 failed.
	require.Equal(t, 7.0, g["hookflow_dora_deployments environment=production repository=acme/api"])
	require.Equal(t, 3.0, g["hookflow_dora_failed_deployments environment=production repository=acme/api"])
	require.InDelta(t, 3.0/7, g["hookflow_dora_change_failure_rate environment=production repository=acme/api"], 1e-9)
	require.InDelta(t, 6.0/30, g["hookflow_dora_deployment_frequency_per_day environment=production repository=acme/api"], 1e-9)
	require.Equal(t, 3.0, g["hookflow_dora_rejected_records_total integration=int_1 kind=deployments"])
	_, ok := g["hookflow_dora_rejected_records_total integration=int_1 kind=incidents"]
	require.False(t, ok)
	_, ok = g["hookflow_dora_lead_time_median_seconds environment=production repository=acme/web"]
	require.False(t, ok, "no lead time: absent, not zero")
	require.Equal(t, 3600.0, g["hookflow_dora_time_to_restore_median_seconds environment=production repository=acme/web"])
}
