package ingress

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookflow/hookflow/ingress/journal"
)

// JournalCollectorOptions configures NewJournalCollector.
type JournalCollectorOptions struct {
	// WorkflowStatus, when set, is asked, at most once a minute and
	// about at most 100 workflows, how the workflows of pending and last
	// hour's deliveries ended (hookflow_workflows_ended). Nil leaves that
	// metric out.
	WorkflowStatus WorkflowStatus
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// journalCollector exports what the journal holds, counted at each scrape
// (indexed counts and one pass over the pending routes; scrapes come every
// 15-60 s). A count that fails is left out of that scrape rather than
// failing it.
type journalCollector struct {
	j       journal.Journal
	opts    JournalCollectorOptions
	timeout time.Duration

	held, pauses, oldest, maxBacklog, backlogged, failing, ended *prometheus.Desc

	mu          sync.Mutex
	endedAt     time.Time
	endedCounts map[string]int
}

// NewJournalCollector returns the collector of the journal's state for
// /metrics (register it with Metrics.Register): what pauses hold, and
// what may be stuck. Labels are kinds and statuses only: never a
// workflow, integration or delivery ID.
func NewJournalCollector(j journal.Journal, opts JournalCollectorOptions) prometheus.Collector {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &journalCollector{
		j: j, opts: opts, timeout: 5 * time.Second,
		held: prometheus.NewDesc("hookflow_routes_held",
			"Routes held by a pause (a paused workflow or integration): accepted, answered 2xx, not forwarded until resumed.", nil, nil),
		pauses: prometheus.NewDesc("hookflow_pauses",
			"Paused workflows and integrations, by kind (workflow, integration).", []string{"kind"}, nil),
		oldest: prometheus.NewDesc("hookflow_journal_oldest_pending_seconds",
			"Age of the oldest delivery accepted but not yet forwarded (held ones aside); 0 when none is pending.", nil, nil),
		maxBacklog: prometheus.NewDesc("hookflow_entity_backlog_max",
			"The most routes waiting to be forwarded to one workflow (entity).", nil, nil),
		backlogged: prometheus.NewDesc("hookflow_entities_backlogged",
			"Workflows (entities) with more than 100 routes waiting to be forwarded.", nil, nil),
		failing: prometheus.NewDesc("hookflow_routes_failing",
			"Routes waiting to be forwarded whose signal failed at least 5 times in a row.", nil, nil),
		ended: prometheus.NewDesc("hookflow_workflows_ended",
			"Workflows that pending or last hour's deliveries route to whose latest run ended without completing, by status (failed, terminated, timed_out, canceled); checked at most once a minute.",
			[]string{"status"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *journalCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.held, c.pauses, c.oldest, c.maxBacklog, c.backlogged, c.failing, c.ended} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *journalCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if p, ok := c.j.(journal.Pauses); ok {
		if n, err := p.HeldRoutes(ctx); err == nil {
			gauge(c.held, float64(n))
		}
		if list, err := p.Paused(ctx); err == nil {
			kinds := map[journal.PauseKind]int{journal.PauseWorkflow: 0, journal.PauseIntegration: 0}
			for _, x := range list {
				kinds[x.Kind]++
			}
			for k, n := range kinds {
				gauge(c.pauses, float64(n), string(k))
			}
		}
	}
	st, ok := c.j.(journal.Stuckness)
	if !ok {
		return
	}
	now := c.opts.Now()
	q := journal.StuckQuery{}
	if c.checkEnded(now) {
		q.Since = now.Add(-time.Hour)
	}
	rep, err := st.Stuck(ctx, q)
	if err != nil {
		return
	}
	age := 0.0
	if rep.OldestPending != nil {
		age = max(0, now.Sub(rep.OldestPending.ReceivedAt).Seconds())
	}
	gauge(c.oldest, age)
	gauge(c.maxBacklog, float64(rep.MaxEntityBacklog))
	gauge(c.backlogged, float64(rep.BackloggedTotal))
	gauge(c.failing, float64(rep.FailingTotal))
	if c.opts.WorkflowStatus == nil {
		return
	}
	c.mu.Lock()
	counts := c.endedCounts
	c.mu.Unlock()
	if !q.Since.IsZero() {
		counts = map[string]int{}
		for _, e := range endedWorkflows(ctx, c.opts.WorkflowStatus, stuckWorkflows(rep)) {
			counts[e.Status]++
		}
		c.mu.Lock()
		c.endedCounts = counts
		c.mu.Unlock()
	}
	for _, s := range endedAbnormally {
		gauge(c.ended, float64(counts[s]), s)
	}
}

// checkEnded says whether this scrape asks Temporal again (once a
// minute) and claims it.
func (c *journalCollector) checkEnded(now time.Time) bool {
	if c.opts.WorkflowStatus == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.endedCounts != nil && now.Sub(c.endedAt) < time.Minute {
		return false
	}
	c.endedAt = now
	return true
}
