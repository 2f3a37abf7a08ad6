package ingress

import "github.com/prometheus/client_golang/prometheus"

// Register adds c to the metrics served on /metrics, for components that
// run beside the ingress and keep metrics of their own (recovery).
func (m *Metrics) Register(c prometheus.Collector) error {
	return m.registry.Register(c)
}
