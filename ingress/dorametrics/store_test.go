package dorametrics

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/postgres"
	"github.com/hookflow/hookflow/ingress/postgres/pgtest"
	"github.com/hookflow/hookflow/ingress/sqlite"
)

// engines opens a fresh store on each engine.
func engines(t *testing.T) map[string]func(t *testing.T) *Store {
	return map[string]func(t *testing.T) *Store{
		"sqlite": func(t *testing.T) *Store {
			db, err := sqlite.Open(filepath.Join(t.TempDir(), "dora.db"))
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			s, err := OpenStore(context.Background(), db)
			require.NoError(t, err)
			return s
		},
		"postgres": func(t *testing.T) *Store {
			dsn := pgtest.Schema(t)
			db, err := postgres.Open(context.Background(), dsn)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			s, err := OpenPostgresStore(context.Background(), db)
			require.NoError(t, err)
			return s
		},
	}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func commits(kv ...string) []Commit {
	var out []Commit
	for i := 0; i < len(kv); i += 2 {
		out = append(out, Commit{SHA: kv[i], CommittedAt: at(kv[i+1])})
	}
	return out
}

// The fixture, worked by hand. The window is 2026-11-01T00:00Z to
// 2026-11-11T00:00Z: ten days.
//
// acme/api production:
//
//	d0 success 10-30 (before the window): c0, c7
//	d1 success 11-02 10:00: c1 (08:00, 2h = 7200 s), c2 (11-01 10:00, 86400 s)
//	d2 failure 11-03 12:00: c3 (11:00)
//	d3 success 11-03 14:00: c3 again (counts here: 3h = 10800 s), c4 (13:29:59.5, 1800.5 s)
//	d4 success 11-05 09:00, sha bad5: c5 (11-04 09:00, 86400 s); incident i1 names sha bad5
//	d5 success 11-06 00:00: c1 again (already deployed by d1), c6 (11-05 18:00, 21600 s)
//	d6 in_progress, d7 cancelled: not counted
//	d8 success 11-08 12:00: c7 (first deployed by d0: not counted), c8 (11-08 00:00, 43200 s); i2 names d8
//	d9 failure 11-12: after the window
//
// deployments 6 (d1 d2 d3 d4 d5 d8), successes 5: frequency 0.5/day.
// failed: d2, d4 (by sha), d8 (by id) = 3: change failure rate 0.5.
// lead times: 1800.5 7200 10800 21600 43200 86400 86400: median 21600, p90 (rank 7) 86400.
// incidents: i1 created 11-05 10:00 resolved 11:30 (5400 s), i2 11-08 13:00–15:00 (7200 s),
// i3 without a cause 11-09 00:00–00:30 (1800 s), i4 11-10 unresolved, i5 created 10-31 22:00
// resolved 11-01 02:00 (14400 s, resolved in the window, created before it).
// incidents created in the window: 4; restore: 1800 5400 7200 14400: median (5400+7200)/2 = 6300.
//
// acme/web staging: w1 success 11-04, sha w1sha: cw1 (11-03, 86400 s). Incident i6 names
// w1sha but in production (its default environment), so w1 did not fail.
// acme/web production: only i6 (11-04 01:00–02:00, 3600 s).
func fixture() ([]Deployment, []Incident) {
	ds := []Deployment{
		{ID: "d0", Repo: "acme/api", Environment: "production", SHA: "s0", Status: "success", FinishedAt: at("2026-10-30T12:00:00Z"),
			Commits: commits("c0", "2026-10-29T12:00:00Z", "c7", "2026-10-29T13:00:00Z")},
		{ID: "d1", Repo: "acme/api", Environment: "production", SHA: "s1", Status: "success", StartedAt: at("2026-11-02T09:50:00Z"), FinishedAt: at("2026-11-02T10:00:00Z"),
			Commits: commits("c1", "2026-11-02T08:00:00Z", "c2", "2026-11-01T10:00:00Z")},
		{ID: "d2", Repo: "acme/api", Environment: "production", SHA: "s3", Status: "failure", FinishedAt: at("2026-11-03T12:00:00Z"),
			Commits: commits("c3", "2026-11-03T11:00:00Z")},
		{ID: "d3", Repo: "acme/api", Environment: "production", SHA: "s4", Status: "success", FinishedAt: at("2026-11-03T14:00:00Z"),
			Commits: commits("c3", "2026-11-03T11:00:00Z", "c4", "2026-11-03T13:29:59.5Z")},
		{ID: "d4", Repo: "acme/api", Environment: "production", SHA: "bad5", Status: "success", FinishedAt: at("2026-11-05T09:00:00Z"),
			Commits: commits("c5", "2026-11-04T09:00:00Z")},
		{ID: "d5", Repo: "acme/api", Environment: "production", SHA: "s6", Status: "success", FinishedAt: at("2026-11-06T00:00:00Z"),
			Commits: commits("c1", "2026-11-02T08:00:00Z", "c6", "2026-11-05T18:00:00Z")},
		{ID: "d6", Repo: "acme/api", Environment: "production", SHA: "s7", Status: "in_progress", StartedAt: at("2026-11-07T00:00:00Z")},
		{ID: "d7", Repo: "acme/api", Environment: "production", SHA: "s7", Status: "cancelled", FinishedAt: at("2026-11-07T01:00:00Z")},
		{ID: "d8", Repo: "acme/api", Environment: "production", SHA: "s8", Status: "success", FinishedAt: at("2026-11-08T12:00:00Z"),
			Commits: commits("c7", "2026-10-29T13:00:00Z", "c8", "2026-11-08T00:00:00Z")},
		{ID: "d9", Repo: "acme/api", Environment: "production", SHA: "s9", Status: "failure", FinishedAt: at("2026-11-12T00:00:00Z")},
		{ID: "w1", Repo: "acme/web", Environment: "staging", SHA: "w1sha", Status: "success", FinishedAt: at("2026-11-04T00:00:00Z"),
			Commits: commits("cw1", "2026-11-03T00:00:00Z")},
	}
	is := []Incident{
		{Key: "i1", Repo: "acme/api", Environment: "production", CreatedAt: at("2026-11-05T10:00:00Z"), ResolvedAt: at("2026-11-05T11:30:00Z"), CauseSHA: "bad5"},
		{Key: "i2", Repo: "acme/api", Environment: "production", CreatedAt: at("2026-11-08T13:00:00Z"), ResolvedAt: at("2026-11-08T15:00:00Z"), CauseDeploymentID: "d8"},
		{Key: "i3", Repo: "acme/api", Environment: "production", CreatedAt: at("2026-11-09T00:00:00Z"), ResolvedAt: at("2026-11-09T00:30:00Z")},
		{Key: "i4", Repo: "acme/api", Environment: "production", CreatedAt: at("2026-11-10T00:00:00Z")},
		{Key: "i5", Repo: "acme/api", Environment: "production", CreatedAt: at("2026-10-31T22:00:00Z"), ResolvedAt: at("2026-11-01T02:00:00Z")},
		{Key: "i6", Repo: "acme/web", CreatedAt: at("2026-11-04T01:00:00Z"), ResolvedAt: at("2026-11-04T02:00:00Z"), CauseSHA: "w1sha"},
	}
	return ds, is
}

const fixtureReport = `{
	"since": "2026-11-01T00:00:00Z", "until": "2026-11-11T00:00:00Z",
	"repositories": [
		{"repo": "acme/api", "environment": "production", "deployments": 6, "failed_deployments": 3, "incidents": 4,
		 "deployment_frequency_per_day": 0.5, "lead_time_median_seconds": 21600, "lead_time_p90_seconds": 86400,
		 "change_failure_rate": 0.5, "time_to_restore_median_seconds": 6300},
		{"repo": "acme/web", "environment": "production", "deployments": 0, "failed_deployments": 0, "incidents": 1,
		 "deployment_frequency_per_day": 0, "lead_time_median_seconds": null, "lead_time_p90_seconds": null,
		 "change_failure_rate": null, "time_to_restore_median_seconds": 3600},
		{"repo": "acme/web", "environment": "staging", "deployments": 1, "failed_deployments": 0, "incidents": 0,
		 "deployment_frequency_per_day": 0.1, "lead_time_median_seconds": 86400, "lead_time_p90_seconds": 86400,
		 "change_failure_rate": 0, "time_to_restore_median_seconds": null}
	]}`

var window = Query{Since: at("2026-11-01T00:00:00Z"), Until: at("2026-11-11T00:00:00Z")}

func reportJSON(t *testing.T, s *Store, q Query) string {
	t.Helper()
	r, err := s.Report(context.Background(), q)
	require.NoError(t, err)
	b, err := json.Marshal(r)
	require.NoError(t, err)
	return string(b)
}

func TestReportOverTheHandWorkedFixture(t *testing.T) {
	t.Parallel()
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			ctx := context.Background()
			ds, is := fixture()
			require.NoError(t, s.UpsertDeployments(ctx, ds))
			require.NoError(t, s.UpsertIncidents(ctx, is))
			require.JSONEq(t, fixtureReport, reportJSON(t, s, window))

			// Written again (a resend, a retried activity): nothing doubles.
			require.NoError(t, s.UpsertDeployments(ctx, ds))
			require.NoError(t, s.UpsertIncidents(ctx, is))
			require.JSONEq(t, fixtureReport, reportJSON(t, s, window))

			// One repository and environment.
			q := window
			q.Repo, q.Environment = "acme/web", "staging"
			var r Report
			require.NoError(t, json.Unmarshal([]byte(reportJSON(t, s, q)), &r))
			require.Len(t, r.Repositories, 1)
			require.Equal(t, "staging", r.Repositories[0].Environment)
			require.InDelta(t, 0.7, r.Repositories[0].DeploymentFrequencyPerWeek(), 1e-9)

			// An empty window has no repositories, and is not null.
			q = Query{Since: at("2020-01-01T00:00:00Z"), Until: at("2020-01-02T00:00:00Z")}
			require.JSONEq(t, `{"since":"2020-01-01T00:00:00Z","until":"2020-01-02T00:00:00Z","repositories":[]}`, reportJSON(t, s, q))
		})
	}
}

func TestUpsertUpdatesAndKeepsWhatTheResendLacks(t *testing.T) {
	t.Parallel()
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			ctx := context.Background()
			start := Deployment{ID: "run-1", Repo: "r", Environment: "production", SHA: "a", Status: "in_progress",
				StartedAt: at("2026-11-02T10:00:00Z"), URL: "https://ci/run-1", Commits: commits("c1", "2026-11-02T09:00:00Z")}
			require.NoError(t, s.UpsertDeployments(ctx, []Deployment{start}))
			q := Query{Since: at("2026-11-01T00:00:00Z"), Until: at("2026-11-03T00:00:00Z")}
			r, err := s.Report(ctx, q)
			require.NoError(t, err)
			require.Empty(t, r.Repositories, "a deployment in progress is not counted")

			end := Deployment{ID: "run-1", Repo: "r", Environment: "production", SHA: "a", Status: "SUCCESS"}
			require.ErrorIs(t, s.UpsertDeployments(ctx, []Deployment{end}), ErrInvalid, "statuses are normalised before the store")
			end.Status, end.FinishedAt = "success", at("2026-11-02T10:30:00Z")
			require.NoError(t, s.UpsertDeployments(ctx, []Deployment{end}))

			var started int64
			var url string
			require.NoError(t, s.db.QueryRowContext(ctx, s.sql(`SELECT started_at, url FROM dora_deployments WHERE deployment_id = ?`), "run-1").Scan(&started, &url))
			require.Equal(t, at("2026-11-02T10:00:00Z"), fromNanos(started), "the start call's time is kept")
			require.Equal(t, "https://ci/run-1", url)
			r, err = s.Report(ctx, q)
			require.NoError(t, err)
			require.Len(t, r.Repositories, 1)
			require.Equal(t, 1, r.Repositories[0].Deployments)
			require.Equal(t, 5400.0, *r.Repositories[0].LeadTimeMedianSeconds, "the commits of the start call are kept")

			// An incident resolved later: the resend with a resolution updates it.
			inc := Incident{Key: "pd-1", Repo: "r", CreatedAt: at("2026-11-02T11:00:00Z"), CauseDeploymentID: "run-1"}
			require.NoError(t, s.UpsertIncidents(ctx, []Incident{inc}))
			inc.CauseDeploymentID, inc.ResolvedAt = "", at("2026-11-02T11:00:01.25Z")
			require.NoError(t, s.UpsertIncidents(ctx, []Incident{inc}))
			r, err = s.Report(ctx, q)
			require.NoError(t, err)
			m := r.Repositories[0]
			require.Equal(t, 1, m.Incidents)
			require.Equal(t, 1, m.FailedDeployments, "the cause is kept when a resend omits it")
			require.Equal(t, 1.25, *m.TimeToRestoreMedianSeconds)
		})
	}
}

func TestUpsertRefusesIncompleteRecordsWhole(t *testing.T) {
	t.Parallel()
	s := engines(t)["sqlite"](t)
	ctx := context.Background()
	good := Deployment{ID: "ok", Repo: "r", Environment: "e", Status: "success", FinishedAt: at("2026-11-02T10:00:00Z")}
	for _, bad := range []Deployment{
		{Repo: "r", Environment: "e", Status: "success"},
		{ID: " ", Repo: "r", Environment: "e", Status: "success"},
		{ID: "x", Environment: "e", Status: "success"},
		{ID: "x", Repo: "r", Status: "success"},
		{ID: "x", Repo: "r", Environment: "e", Status: "done"},
	} {
		require.ErrorIs(t, s.UpsertDeployments(ctx, []Deployment{good, bad}), ErrInvalid)
	}
	for _, bad := range []Incident{{Repo: "r", CreatedAt: at("2026-11-02T10:00:00Z")}, {Key: "k", CreatedAt: at("2026-11-02T10:00:00Z")}, {Key: "k", Repo: "r"}} {
		require.ErrorIs(t, s.UpsertIncidents(ctx, []Incident{bad}), ErrInvalid)
	}
	var n int
	require.NoError(t, s.db.QueryRow(`SELECT COUNT(*) FROM dora_deployments`).Scan(&n))
	require.Zero(t, n, "a refused batch writes nothing")
}

func TestPrune(t *testing.T) {
	t.Parallel()
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			ctx := context.Background()
			ds, is := fixture()
			for i := range ds {
				ds[i].Batch = "b1"
			}
			require.NoError(t, s.UpsertDeployments(ctx, ds))
			require.NoError(t, s.UpsertIncidents(ctx, is))
			mistake := []Deployment{
				{ID: "oops1", Repo: "acme/api", Environment: "production", Status: "failure", FinishedAt: at("2026-11-02T00:00:00Z"), Batch: "b2"},
				{ID: "oops2", Repo: "acme/api", Environment: "production", Status: "failure", FinishedAt: at("2026-11-02T01:00:00Z"), Batch: "b2",
					Commits: commits("cx", "2026-11-01T00:00:00Z")},
			}
			require.NoError(t, s.UpsertDeployments(ctx, mistake))
			require.NotEqual(t, fixtureReport, reportJSON(t, s, window))

			_, err := s.Prune(ctx, PruneQuery{})
			require.Error(t, err)
			_, err = s.Prune(ctx, PruneQuery{Batch: "b2", Repo: "acme/api"})
			require.Error(t, err)

			p, err := s.Prune(ctx, PruneQuery{Batch: "b2", DryRun: true})
			require.NoError(t, err)
			require.Equal(t, Pruned{Deployments: 2, DryRun: true}, p)
			p, err = s.Prune(ctx, PruneQuery{Batch: "b2"})
			require.NoError(t, err)
			require.Equal(t, Pruned{Deployments: 2}, p)
			require.JSONEq(t, fixtureReport, reportJSON(t, s, window), "the metrics reflect the prune")
			var n int
			require.NoError(t, s.db.QueryRow(s.sql(`SELECT COUNT(*) FROM dora_commits WHERE sha = ?`), "cx").Scan(&n))
			require.Zero(t, n)

			// A repository since a time: acme/web's deployment (11-04) and incident (11-04).
			p, err = s.Prune(ctx, PruneQuery{Repo: "acme/web", Since: at("2026-11-03T00:00:00Z")})
			require.NoError(t, err)
			require.Equal(t, Pruned{Deployments: 1, Incidents: 1}, p)
			p, err = s.Prune(ctx, PruneQuery{Repo: "acme/api", Since: at("2026-11-12T00:00:00Z"), DryRun: true})
			require.NoError(t, err)
			require.Equal(t, Pruned{Deployments: 1, DryRun: true}, p, "only d9 finished after that")
		})
	}
}

func TestMedianAndP90(t *testing.T) {
	t.Parallel()
	seq := func(n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = float64(n - i) // descending: the functions sort
		}
		return out
	}
	for _, c := range []struct {
		in          []float64
		median, p90 float64
	}{
		{[]float64{7}, 7, 7},
		{[]float64{1, 2}, 1.5, 2},
		{[]float64{4, 1, 3, 2}, 2.5, 4},
		{seq(9), 5, 9},    // ⌈8.1⌉ = 9
		{seq(10), 5.5, 9}, // ⌈9⌉ = 9
		{seq(11), 6, 10},  // ⌈9.9⌉ = 10
		{seq(20), 10.5, 18},
		{seq(100), 50.5, 90},
		{[]float64{0.5, 0.25}, 0.375, 0.5},
	} {
		require.Equal(t, c.median, *Median(append([]float64(nil), c.in...)), "%v", c.in)
		require.Equal(t, c.p90, *P90(append([]float64(nil), c.in...)), "%v", c.in)
	}
	require.Nil(t, Median(nil))
	require.Nil(t, P90([]float64{}))
}

func TestReportRefusesAnEmptyWindow(t *testing.T) {
	t.Parallel()
	s := engines(t)["sqlite"](t)
	_, err := s.Report(context.Background(), Query{Since: at("2026-11-02T00:00:00Z"), Until: at("2026-11-01T00:00:00Z")})
	require.Error(t, err)
}

func TestMigrationsAreIdempotent(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "dora.db"))
	require.NoError(t, err)
	defer db.Close()
	for range 2 {
		_, err := OpenStore(context.Background(), db)
		require.NoError(t, err)
	}
}
