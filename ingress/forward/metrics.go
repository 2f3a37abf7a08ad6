package forward

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookflow/hookflow/workflows"
)

// Metrics are the forwarder's Prometheus metrics. Labels are outcomes
// only: never a workflow ID, a delivery ID or a secret.
type Metrics struct {
	signals   *prometheus.CounterVec
	forwarded prometheus.Counter
	latency   prometheus.Histogram
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
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "hookflow_forward_latency_seconds",
		Help:    "Time from a delivery's acceptance to its signal reaching Temporal, per event (held deliveries included).",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800},
	})
	reg.MustRegister(m.signals, m.forwarded, m.latency)
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

// delivered observes the forward latency of events signalled at now.
func (m *Metrics) delivered(events []workflows.Event, now time.Time) {
	if m == nil {
		return
	}
	for _, ev := range events {
		if !ev.ReceivedAt.IsZero() {
			m.latency.Observe(max(0, now.Sub(ev.ReceivedAt).Seconds()))
		}
	}
}
