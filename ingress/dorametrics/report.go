package dorametrics

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Query selects what a report covers: the window [Since, Until], both
// ends included, and optionally one repository and one environment ("" for
// every one).
type Query struct {
	Repo        string
	Environment string
	Since       time.Time
	Until       time.Time
}

// Report is the metrics of every repository and environment with data in
// the window, in the JSON shape of `hookflow dora report --output json`.
type Report struct {
	Since        time.Time `json:"since"`
	Until        time.Time `json:"until"`
	Repositories []Metrics `json:"repositories"`
}

// Metrics are the four DORA metrics of one repository and environment.
// A nil pointer is a metric without data (JSON null).
type Metrics struct {
	Repo        string `json:"repo"`
	Environment string `json:"environment"`
	// Deployments counts the deployments finished in the window with
	// status success or failure.
	Deployments int `json:"deployments"`
	// FailedDeployments counts what ChangeFailureRate counts as failed:
	// failures, plus successes an incident names as its cause.
	FailedDeployments int `json:"failed_deployments"`
	// Incidents counts the incidents created in the window.
	Incidents int `json:"incidents"`
	// DeploymentFrequencyPerDay is the successful deployments finished in
	// the window over the window's length in days.
	DeploymentFrequencyPerDay float64 `json:"deployment_frequency_per_day"`
	// LeadTimeMedianSeconds and LeadTimeP90Seconds are over every commit
	// whose first successful deployment (in this repository and
	// environment) finished in the window: that deployment's finish minus
	// the commit's time.
	LeadTimeMedianSeconds *float64 `json:"lead_time_median_seconds"`
	LeadTimeP90Seconds    *float64 `json:"lead_time_p90_seconds"`
	// ChangeFailureRate is FailedDeployments over Deployments.
	ChangeFailureRate *float64 `json:"change_failure_rate"`
	// TimeToRestoreMedianSeconds is the median of resolution minus
	// creation over the incidents resolved in the window.
	TimeToRestoreMedianSeconds *float64 `json:"time_to_restore_median_seconds"`
}

// DeploymentFrequencyPerWeek is DeploymentFrequencyPerDay times seven.
func (m Metrics) DeploymentFrequencyPerWeek() float64 { return m.DeploymentFrequencyPerDay * 7 }

type group struct{ repo, env string }

// Report computes the metrics over q's window:
//
//   - deployment frequency: successful deployments finished in the window,
//     divided by the window's length in days;
//   - lead time for changes: for each commit whose first successful
//     deployment finished in the window, that deployment's finish minus the
//     commit's time; median and p90. A commit listed by a failed deployment
//     and again by a later successful one counts for the successful one;
//   - change failure rate: deployments finished in the window that failed,
//     plus successful ones an incident names as its cause (by deployment_id,
//     or by sha in the incident's repository and environment), over all
//     deployments finished in the window (success and failure);
//   - time to restore: median of resolution minus creation over incidents
//     resolved in the window.
//
// A median of an even count is the mean of the two middle values; p90 is
// by nearest rank (the ⌈0.9·n⌉-th smallest value); durations are seconds.
func (s *Store) Report(ctx context.Context, q Query) (Report, error) {
	if q.Until.IsZero() {
		q.Until = s.now()
	}
	q.Since, q.Until = q.Since.UTC(), q.Until.UTC()
	if !q.Since.Before(q.Until) {
		return Report{}, errors.New("dorametrics: report: since must be before until")
	}
	since, until := q.Since.UnixNano(), q.Until.UnixNano()
	filter, fargs := "", []any{}
	if q.Repo != "" {
		filter += ` AND d.repo = ?`
		fargs = append(fargs, q.Repo)
	}
	if q.Environment != "" {
		filter += ` AND d.environment = ?`
		fargs = append(fargs, q.Environment)
	}
	acc := map[group]*accum{}
	get := func(g group) *accum {
		a := acc[g]
		if a == nil {
			a = &accum{}
			acc[g] = a
		}
		return a
	}

	// Deployments finished in the window.
	type dep struct {
		id, sha string
		g       group
		ok      bool
	}
	var deps []dep
	rows, err := s.db.QueryContext(ctx, s.sql(`SELECT d.deployment_id, d.repo, d.environment, d.sha, d.status FROM dora_deployments d
		WHERE d.status IN ('success', 'failure') AND d.finished_at >= ? AND d.finished_at <= ?`+filter),
		append([]any{since, until}, fargs...)...)
	if err != nil {
		return Report{}, fmt.Errorf("dorametrics: report: %w", err)
	}
	for rows.Next() {
		var d dep
		var status string
		if err := rows.Scan(&d.id, &d.g.repo, &d.g.env, &d.sha, &status); err != nil {
			rows.Close()
			return Report{}, fmt.Errorf("dorametrics: report: %w", err)
		}
		d.ok = status == StatusSuccess
		deps = append(deps, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Report{}, fmt.Errorf("dorametrics: report: %w", err)
	}

	// Incidents: those in the window for their counts, and every one that
	// names a cause, since a deployment in the window may have caused an
	// incident opened after the window.
	causeByID := map[string]bool{}
	causeBySHA := map[group]map[string]bool{}
	irows, err := s.db.QueryContext(ctx, s.sql(`SELECT repo, environment, created_at, resolved_at, cause_deployment_id, cause_sha FROM dora_incidents
		WHERE cause_deployment_id <> '' OR cause_sha <> '' OR (created_at >= ? AND created_at <= ?) OR (resolved_at >= ? AND resolved_at <= ?)`),
		since, until, since, until)
	if err != nil {
		return Report{}, fmt.Errorf("dorametrics: report: %w", err)
	}
	for irows.Next() {
		var g group
		var created, resolved int64
		var causeID, causeSHA string
		if err := irows.Scan(&g.repo, &g.env, &created, &resolved, &causeID, &causeSHA); err != nil {
			irows.Close()
			return Report{}, fmt.Errorf("dorametrics: report: %w", err)
		}
		if causeID != "" {
			causeByID[causeID] = true
		}
		if causeSHA != "" {
			if causeBySHA[g] == nil {
				causeBySHA[g] = map[string]bool{}
			}
			causeBySHA[g][causeSHA] = true
		}
		if (q.Repo != "" && g.repo != q.Repo) || (q.Environment != "" && g.env != q.Environment) {
			continue
		}
		if created >= since && created <= until {
			get(g).incidents++
		}
		if resolved != 0 && resolved >= since && resolved <= until {
			get(g).restore = append(get(g).restore, seconds(resolved-created))
		}
	}
	irows.Close()
	if err := irows.Err(); err != nil {
		return Report{}, fmt.Errorf("dorametrics: report: %w", err)
	}
	for _, d := range deps {
		a := get(d.g)
		a.deployments++
		switch {
		case !d.ok:
			a.failed++
		case causeByID[d.id] || (d.sha != "" && causeBySHA[d.g][d.sha]):
			a.successes++
			a.failed++
		default:
			a.successes++
		}
	}

	// Lead time: the first successful deployment of each commit, over
	// every successful deployment up to the end of the window (one before
	// the window makes the commit count in an earlier window).
	type first struct {
		finished, committed int64
	}
	type commitKey struct {
		g   group
		sha string
	}
	firsts := map[commitKey]first{}
	crows, err := s.db.QueryContext(ctx, s.sql(`SELECT d.repo, d.environment, c.sha, c.committed_at, d.finished_at
		FROM dora_commits c JOIN dora_deployments d ON d.deployment_id = c.deployment_id
		WHERE d.status = 'success' AND d.finished_at <> 0 AND d.finished_at <= ?`+filter),
		append([]any{until}, fargs...)...)
	if err != nil {
		return Report{}, fmt.Errorf("dorametrics: report: %w", err)
	}
	for crows.Next() {
		var k commitKey
		var f first
		if err := crows.Scan(&k.g.repo, &k.g.env, &k.sha, &f.committed, &f.finished); err != nil {
			crows.Close()
			return Report{}, fmt.Errorf("dorametrics: report: %w", err)
		}
		if old, ok := firsts[k]; !ok || f.finished < old.finished {
			firsts[k] = f
		}
	}
	crows.Close()
	if err := crows.Err(); err != nil {
		return Report{}, fmt.Errorf("dorametrics: report: %w", err)
	}
	for k, f := range firsts {
		if f.finished >= since {
			a := get(k.g)
			a.lead = append(a.lead, seconds(f.finished-f.committed))
		}
	}

	days := q.Until.Sub(q.Since).Hours() / 24
	out := Report{Since: q.Since, Until: q.Until, Repositories: []Metrics{}}
	for g, a := range acc {
		m := Metrics{Repo: g.repo, Environment: g.env, Deployments: a.deployments, FailedDeployments: a.failed,
			Incidents: a.incidents, DeploymentFrequencyPerDay: float64(a.successes) / days}
		m.LeadTimeMedianSeconds = Median(a.lead)
		m.LeadTimeP90Seconds = P90(a.lead)
		if a.deployments > 0 {
			r := float64(a.failed) / float64(a.deployments)
			m.ChangeFailureRate = &r
		}
		m.TimeToRestoreMedianSeconds = Median(a.restore)
		out.Repositories = append(out.Repositories, m)
	}
	sort.Slice(out.Repositories, func(i, j int) bool {
		a, b := out.Repositories[i], out.Repositories[j]
		if a.Repo != b.Repo {
			return a.Repo < b.Repo
		}
		return a.Environment < b.Environment
	})
	return out, nil
}

type accum struct {
	deployments, successes, failed, incidents int
	lead, restore                             []float64
}

func seconds(ns int64) float64 { return float64(ns) / 1e9 }

// Median returns the median of vs (the mean of the two middle values of
// an even count), or nil for none. vs is sorted in place.
func Median(vs []float64) *float64 {
	n := len(vs)
	if n == 0 {
		return nil
	}
	sort.Float64s(vs)
	m := vs[n/2]
	if n%2 == 0 {
		m = (vs[n/2-1] + vs[n/2]) / 2
	}
	return &m
}

// P90 returns the 90th percentile of vs by nearest rank (the ⌈0.9·n⌉-th
// smallest value), or nil for none. vs is sorted in place.
func P90(vs []float64) *float64 {
	n := len(vs)
	if n == 0 {
		return nil
	}
	sort.Float64s(vs)
	// 9n/10 rounded up, in integers: 0.9*n in floating point is not exact.
	rank := (9*n + 9) / 10
	v := vs[rank-1]
	return &v
}
