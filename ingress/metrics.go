package ingress

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the ingress's and the forwarder's Prometheus metrics, in a
// registry of their own (no global state). Labels are sources, statuses
// and outcomes: never an integration path, a secret or a delivery ID.
type Metrics struct {
	registry   *prometheus.Registry
	deliveries *prometheus.CounterVec
	ackSeconds *prometheus.HistogramVec
	signals    *prometheus.CounterVec
	forwarded  prometheus.Counter
	backlog    prometheus.Gauge
}

// NewMetrics returns metrics registered in a new registry, together with
// the Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookflow_deliveries_total",
			Help: "Deliveries answered, by source and status (accepted, duplicate, ignored, rejected, rate_limited, backlog_full).",
		}, []string{"source", "status"}),
		ackSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hookflow_ingress_ack_seconds",
			Help:    "Time from request to answer for deliveries, by source.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"source"}),
		signals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookflow_forwarder_signals_total",
			Help: "SignalWithStart calls by the forwarder, by result (ok, retry, failed).",
		}, []string{"result"}),
		forwarded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookflow_forwarder_events_total",
			Help: "Journal entries the forwarder delivered to their workflows.",
		}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookflow_journal_backlog",
			Help: "Accepted deliveries not yet forwarded, as last counted.",
		}),
	}
	m.registry.MustRegister(m.deliveries, m.ackSeconds, m.signals, m.forwarded, m.backlog,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// The methods below accept a nil *Metrics, so that metrics stay optional.

func (m *Metrics) delivery(source, status string, started time.Time) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues(source, status).Inc()
	m.ackSeconds.WithLabelValues(source).Observe(time.Since(started).Seconds())
}

func (m *Metrics) signal(result string, events int) {
	if m == nil {
		return
	}
	m.signals.WithLabelValues(result).Inc()
	if result == "ok" {
		m.forwarded.Add(float64(events))
	}
}

func (m *Metrics) setBacklog(n int) {
	if m != nil {
		m.backlog.Set(float64(n))
	}
}
