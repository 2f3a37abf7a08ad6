package dorametrics

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/sqlite"
)

// Lead time over commits resolved through the compare API:
//
//	p0 success 10-30 (before the window), sha s0, lists c0
//	f1 failure 11-02 10:00, sha s1, lists nothing (not resolved: it failed)
//	p2 success 11-02 12:00, sha s2, lists nothing: its range s0...s2 is
//	   c1 (11-02 08:00, first shipped by the failed f1: counts for p2, 4 h)
//	   and c2 (11-02 11:00, 1 h)
//
// lead times 3600 14400: median 9000, p90 (rank 2) 14400.
func TestLeadTimeUsesResolvedCommits(t *testing.T) {
	t.Parallel()
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			ctx := context.Background()
			p0 := Deployment{ID: "p0", Repo: "acme/api", Environment: "production", SHA: "s0", Status: StatusSuccess,
				FinishedAt: at("2026-10-30T12:00:00Z"), Commits: commits("c0", "2026-10-30T11:00:00Z"), Batch: "b1"}
			f1 := Deployment{ID: "f1", Repo: "acme/api", Environment: "production", SHA: "s1", Status: StatusFailure,
				FinishedAt: at("2026-11-02T10:00:00Z"), Batch: "b2"}
			p2 := Deployment{ID: "p2", Repo: "acme/api", Environment: "production", SHA: "s2", Status: StatusSuccess,
				FinishedAt: at("2026-11-02T12:00:00Z"), Batch: "b2"}
			// The first deployment of another repository: no range.
			w1 := Deployment{ID: "w1", Repo: "acme/web", Environment: "production", SHA: "w1", Status: StatusSuccess,
				FinishedAt: at("2026-11-03T00:00:00Z"), Batch: "b2"}
			require.NoError(t, s.UpsertDeployments(ctx, []Deployment{p0, f1, p2, w1}))

			un, err := s.Unresolved(ctx, "b1")
			require.NoError(t, err)
			require.Empty(t, un, "p0 listed its commits")
			un, err = s.Unresolved(ctx, "b2")
			require.NoError(t, err)
			require.Equal(t, []Unresolved{
				{DeploymentID: "p2", Repo: "acme/api", Environment: "production", SHA: "s2", BaseSHA: "s0", BaseDeploymentID: "p0"},
				{DeploymentID: "w1", Repo: "acme/web", Environment: "production", SHA: "w1"},
			}, un, "the failed f1 is neither resolved nor a base")

			resolved := []Resolution{
				{DeploymentID: "p2", SHA: "s2", From: CommitsCompared, Commits: commits("c1", "2026-11-02T08:00:00Z", "c2", "2026-11-02T11:00:00Z")},
				{DeploymentID: "w1", SHA: "w1", From: CommitsFirst},
			}
			rec, err := s.RecordCommits(ctx, resolved)
			require.NoError(t, err)
			require.Equal(t, Recorded{Deployments: 2, Commits: 2}, rec)
			const want = `{"since":"2026-11-01T00:00:00Z","until":"2026-11-11T00:00:00Z","repositories":[
				{"repo":"acme/api","environment":"production","deployments":2,"failed_deployments":1,"incidents":0,
				 "deployment_frequency_per_day":0.1,"lead_time_median_seconds":9000,"lead_time_p90_seconds":14400,
				 "change_failure_rate":0.5,"time_to_restore_median_seconds":null},
				{"repo":"acme/web","environment":"production","deployments":1,"failed_deployments":0,"incidents":0,
				 "deployment_frequency_per_day":0.1,"lead_time_median_seconds":null,"lead_time_p90_seconds":null,
				 "change_failure_rate":0,"time_to_restore_median_seconds":null}]}`
			require.JSONEq(t, want, reportJSON(t, s, window))

			// Idempotent: nothing is left to resolve, and recording again
			// or resending the records changes nothing.
			un, err = s.Unresolved(ctx, "b2")
			require.NoError(t, err)
			require.Empty(t, un)
			rec, err = s.RecordCommits(ctx, resolved)
			require.NoError(t, err)
			require.Equal(t, Recorded{Deployments: 2, Commits: 2}, rec)
			p2again := p2
			p2again.Batch = "b3"
			require.NoError(t, s.UpsertDeployments(ctx, []Deployment{f1, p2again, w1}))
			un, err = s.Unresolved(ctx, "b3")
			require.NoError(t, err)
			require.Empty(t, un, "a resend of the same SHA keeps its resolved commits")
			require.JSONEq(t, want, reportJSON(t, s, window))

			// A resend with another SHA drops the old range's commits and
			// is resolved again; a resolution for the old SHA is skipped.
			moved := p2
			moved.SHA, moved.Batch = "s2b", "b4"
			require.NoError(t, s.UpsertDeployments(ctx, []Deployment{moved}))
			un, err = s.Unresolved(ctx, "b4")
			require.NoError(t, err)
			require.Equal(t, []Unresolved{{DeploymentID: "p2", Repo: "acme/api", Environment: "production", SHA: "s2b", BaseSHA: "s0", BaseDeploymentID: "p0"}}, un)
			rec, err = s.RecordCommits(ctx, resolved[:1])
			require.NoError(t, err)
			require.Equal(t, Recorded{Skipped: 1}, rec)

			// Commits a record lists win over a resolution.
			listed := moved
			listed.Commits = commits("c9", "2026-11-02T11:30:00Z")
			require.NoError(t, s.UpsertDeployments(ctx, []Deployment{listed}))
			rec, err = s.RecordCommits(ctx, []Resolution{{DeploymentID: "p2", SHA: "s2b", From: CommitsCompared, Commits: commits("c1", "2026-11-02T08:00:00Z")}})
			require.NoError(t, err)
			require.Equal(t, Recorded{Skipped: 1}, rec)
			r, err := s.Report(ctx, Query{Repo: "acme/api", Since: window.Since, Until: window.Until})
			require.NoError(t, err)
			require.Equal(t, 1800.0, *r.Repositories[0].LeadTimeMedianSeconds, "only the listed c9")
		})
	}
}

func TestRecordCommitsRefusesInvalidResolutionsWhole(t *testing.T) {
	t.Parallel()
	s := engines(t)["sqlite"](t)
	ctx := context.Background()
	for _, bad := range []Resolution{
		{SHA: "s", From: CommitsFirst},
		{DeploymentID: "d", From: CommitsFirst},
		{DeploymentID: "d", SHA: "s", From: "guess"},
		{DeploymentID: "d", SHA: "s", From: CommitsFirst, Commits: commits("c", "2026-11-02T00:00:00Z")},
		{DeploymentID: "d", SHA: "s", From: CommitsCompared, Commits: []Commit{{SHA: "c"}}},
	} {
		_, err := s.RecordCommits(ctx, []Resolution{bad})
		require.ErrorIs(t, err, ErrInvalid)
	}
}

// A database written before commits_from existed: deployments with
// commits count as listed, the others are left to resolve.
func TestMigrationMarksListedCommits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "dora.db"))
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, sqlite.Migrate(ctx, db, "dorametrics", sqliteMigrations[:1]))
	for _, q := range []string{
		`INSERT INTO dora_deployments (deployment_id, repo, environment, sha, status, finished_at, batch_id, updated_at) VALUES ('a', 'r', 'e', 'sa', 'success', 1, 'b', 1)`,
		`INSERT INTO dora_deployments (deployment_id, repo, environment, sha, status, finished_at, batch_id, updated_at) VALUES ('b', 'r', 'e', 'sb', 'success', 2, 'b', 1)`,
		`INSERT INTO dora_commits (deployment_id, sha, committed_at) VALUES ('a', 'c', 1)`,
	} {
		_, err := db.ExecContext(ctx, q)
		require.NoError(t, err)
	}
	s, err := OpenStore(ctx, db)
	require.NoError(t, err)
	un, err := s.Unresolved(ctx, "b")
	require.NoError(t, err)
	require.Equal(t, []Unresolved{{DeploymentID: "b", Repo: "r", Environment: "e", SHA: "sb", BaseSHA: "sa", BaseDeploymentID: "a"}}, un)
}
