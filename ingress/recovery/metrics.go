package recovery

import "github.com/prometheus/client_golang/prometheus"

// Metrics are automatic recovery's Prometheus metrics, labelled by source
// only (never an integration path, a hook or a delivery ID). A Metrics is
// a prometheus.Collector: register it where the process serves /metrics.
type Metrics struct {
	requested   *prometheus.CounterVec
	errors      *prometheus.CounterVec
	lastSuccess *prometheus.GaugeVec
}

var _ prometheus.Collector = (*Metrics)(nil)

// NewMetrics returns unregistered metrics.
func NewMetrics() *Metrics {
	return &Metrics{
		requested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookflow_recover_requested_total",
			Help: "Redeliveries automatic recovery asked senders for (deliveries the journal lacked), by source.",
		}, []string{"source"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookflow_recover_errors_total",
			Help: "Failed recovery passes and refused redelivery requests, by source.",
		}, []string{"source"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "hookflow_recover_last_success_timestamp_seconds",
			Help: "Unix time of the oldest last successful recovery pass among the source's integrations with recover=auto.",
		}, []string{"source"}),
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.requested.Describe(ch)
	m.errors.Describe(ch)
	m.lastSuccess.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.requested.Collect(ch)
	m.errors.Collect(ch)
	m.lastSuccess.Collect(ch)
}

// The methods below accept a nil *Metrics.

func (m *Metrics) pass(source string, requested, failed int, passErr error) {
	if m == nil {
		return
	}
	m.requested.WithLabelValues(source).Add(float64(requested))
	n := failed
	if passErr != nil {
		n++
	}
	m.errors.WithLabelValues(source).Add(float64(n))
}

func (m *Metrics) setLastSuccess(source string, unix float64) {
	if m != nil {
		m.lastSuccess.WithLabelValues(source).Set(unix)
	}
}
