package dorametrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// PrometheusWindow is the window of the hookflow_dora_* gauges.
const PrometheusWindow = 30 * 24 * time.Hour

// prometheusCache is how long one computed report serves scrapes.
const prometheusCache = 30 * time.Second

// Prometheus exports the metrics of the last 30 days as hookflow_dora_*
// gauges (labels repository and environment; a metric without data is
// absent), computed at scrape time at most every 30 seconds, and counts
// erroneous records in hookflow_dora_rejected_records_total.
type Prometheus struct {
	store    *Store
	rejected *prometheus.CounterVec
	descs    map[string]*prometheus.Desc

	mu       sync.Mutex
	computed time.Time
	last     Report
}

// NewPrometheus registers the DORA metrics of store in reg.
func NewPrometheus(reg prometheus.Registerer, store *Store) *Prometheus {
	p := &Prometheus{
		store: store,
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookflow_dora_rejected_records_total",
			Help: "DORA records refused in the answer to a batch, by integration and kind (deployments, workflow_runs, incidents; body for a body refused whole).",
		}, []string{"integration", "kind"}),
		descs: map[string]*prometheus.Desc{},
	}
	labels := []string{"repository", "environment"}
	for name, help := range map[string]string{
		"deployments":                    "Deployments (success and failure) finished in the last 30 days.",
		"failed_deployments":             "Deployments counted as failed (failures, and successes an incident names as cause) in the last 30 days.",
		"deployment_frequency_per_day":   "Successful deployments per day over the last 30 days.",
		"lead_time_median_seconds":       "Median lead time for changes over the last 30 days.",
		"lead_time_p90_seconds":          "90th percentile (nearest rank) of the lead time for changes over the last 30 days.",
		"change_failure_rate":            "Change failure rate over the last 30 days.",
		"time_to_restore_median_seconds": "Median time to restore over incidents resolved in the last 30 days.",
	} {
		p.descs[name] = prometheus.NewDesc("hookflow_dora_"+name, help, labels, nil)
	}
	reg.MustRegister(p.rejected, p)
	return p
}

// Rejected counts n erroneous records of kind on integration.
func (p *Prometheus) Rejected(integration, kind string, n int) {
	if p != nil && n > 0 {
		p.rejected.WithLabelValues(integration, kind).Add(float64(n))
	}
}

// Describe implements prometheus.Collector.
func (p *Prometheus) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range p.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (p *Prometheus) Collect(ch chan<- prometheus.Metric) {
	p.mu.Lock()
	if now := p.store.now(); now.Sub(p.computed) > prometheusCache {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		r, err := p.store.Report(ctx, Query{Since: now.Add(-PrometheusWindow), Until: now})
		cancel()
		if err == nil {
			p.last, p.computed = r, now
		}
	}
	r := p.last
	p.mu.Unlock()
	for _, m := range r.Repositories {
		emit := func(name string, v *float64) {
			if v != nil {
				ch <- prometheus.MustNewConstMetric(p.descs[name], prometheus.GaugeValue, *v, m.Repo, m.Environment)
			}
		}
		deps, failed, freq := float64(m.Deployments), float64(m.FailedDeployments), m.DeploymentFrequencyPerDay
		emit("deployments", &deps)
		emit("failed_deployments", &failed)
		emit("deployment_frequency_per_day", &freq)
		emit("lead_time_median_seconds", m.LeadTimeMedianSeconds)
		emit("lead_time_p90_seconds", m.LeadTimeP90Seconds)
		emit("change_failure_rate", m.ChangeFailureRate)
		emit("time_to_restore_median_seconds", m.TimeToRestoreMedianSeconds)
	}
}
