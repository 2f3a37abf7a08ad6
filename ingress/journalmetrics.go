package ingress

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookflow/hookflow/ingress/journal"
)

// journalCollector exports what the journal holds, counted at each scrape
// (a few indexed counts; scrapes come every 15-60 s). A count that fails
// is left out of that scrape rather than failing it.
type journalCollector struct {
	j       journal.Journal
	timeout time.Duration
	held    *prometheus.Desc
	pauses  *prometheus.Desc
}

// NewJournalCollector returns the collector of the journal's state for
// /metrics (register it with Metrics.Register): hookflow_routes_held and
// hookflow_pauses{kind} for journals that can pause. Labels are kinds
// only: never a workflow, integration or delivery ID.
func NewJournalCollector(j journal.Journal) prometheus.Collector {
	return &journalCollector{
		j:       j,
		timeout: 5 * time.Second,
		held: prometheus.NewDesc("hookflow_routes_held",
			"Routes held by a pause (a paused workflow or integration): accepted, answered 2xx, not forwarded until resumed.", nil, nil),
		pauses: prometheus.NewDesc("hookflow_pauses",
			"Paused workflows and integrations, by kind (workflow, integration).", []string{"kind"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *journalCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.held
	ch <- c.pauses
}

// Collect implements prometheus.Collector.
func (c *journalCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	if p, ok := c.j.(journal.Pauses); ok {
		if n, err := p.HeldRoutes(ctx); err == nil {
			ch <- prometheus.MustNewConstMetric(c.held, prometheus.GaugeValue, float64(n))
		}
		if list, err := p.Paused(ctx); err == nil {
			kinds := map[journal.PauseKind]int{journal.PauseWorkflow: 0, journal.PauseIntegration: 0}
			for _, x := range list {
				kinds[x.Kind]++
			}
			for k, n := range kinds {
				ch <- prometheus.MustNewConstMetric(c.pauses, prometheus.GaugeValue, float64(n), string(k))
			}
		}
	}
}
