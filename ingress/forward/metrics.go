package forward

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the forwarder's Prometheus metrics. Labels are outcomes
// only: never a workflow ID, a delivery ID or a secret.
type Metrics struct {
	signals   *prometheus.CounterVec
	forwarded prometheus.Counter
}

// NewMetrics returns the forwarder's metrics, registered in reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		signals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookflow_forwarder_signals_total",
			Help: "SignalWithStart calls by the forwarder, by result (ok, retry, failed, finished).",
		}, []string{"result"}),
		forwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookflow_forwarder_events_total",
			Help: "Events the forwarder delivered to their workflows (one per route).",
		}),
	}
	reg.MustRegister(m.signals, m.forwarded)
	return m
}

// signal counts one SignalWithStart call; a nil *Metrics counts nothing.
func (m *Metrics) signal(result string, events int) {
	if m == nil {
		return
	}
	m.signals.WithLabelValues(result).Inc()
	if result == "ok" {
		m.forwarded.Add(float64(events))
	}
}
