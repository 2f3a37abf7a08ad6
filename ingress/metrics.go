package ingress

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the ingress's Prometheus metrics (the forwarder registers
// its own in the same registry), in a
// registry of their own (no global state). Labels are sources, statuses
// and outcomes: never an integration path, a secret or a delivery ID.
type Metrics struct {
	registry   *prometheus.Registry
	deliveries *prometheus.CounterVec
	ackSeconds *prometheus.HistogramVec
	backlog    prometheus.Gauge
	suppressed *prometheus.CounterVec
	verifyFail *prometheus.CounterVec
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
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookflow_refusals_suppressed_total",
			Help: "Refusals not journaled one by one (over the per-minute budget), by source and HTTP status.",
		}, []string{"source", "status"}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookflow_journal_backlog",
			Help: "Accepted deliveries not yet forwarded, as last counted.",
		}),
	}
	m.verifyFail = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookflow_verification_failures_total",
		Help: "Deliveries refused by their integration's verification, by source and reason (missing, mismatch, timestamp, misconfigured, other).",
	}, []string{"source", "reason"})
	m.registry.MustRegister(m.deliveries, m.ackSeconds, m.backlog, m.suppressed, m.verifyFail,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// Registerer is where components that run beside the ingress and keep
// metrics of their own (the forwarder, recovery) register them, so that
// one /metrics serves them all.
func (m *Metrics) Registerer() prometheus.Registerer { return m.registry }

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

func (m *Metrics) setBacklog(n int) {
	if m != nil {
		m.backlog.Set(float64(n))
	}
}

func (m *Metrics) refusalSuppressed(source string, status int) {
	if m == nil {
		return
	}
	m.suppressed.WithLabelValues(source, strconv.Itoa(status)).Inc()
}

// watchInflight exports the body bytes the ingress holds as a gauge.
func (m *Metrics) watchInflight(f *inflight) {
	if m == nil {
		return
	}
	_ = m.registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hookflow_ingress_inflight_bytes",
		Help: "Request body bytes the ingress holds while reading them (bounded by --max-inflight-bytes).",
	}, func() float64 { return float64(f.n.Load()) }))
}
