package dorametrics

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/workflows/dorabatch"
)

// A start call and an end call of one run: the duration is inferred.
func TestWorkflowRunStartAndEndCalls(t *testing.T) {
	t.Parallel()
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			ctx := context.Background()
			apply := func(body string, workflows ...string) {
				b := dorabatch.Parse([]byte(body))
				require.Empty(t, b.Rejected)
				ds, is := FromBatch(b, "b", "dora", workflows)
				require.NoError(t, s.UpsertDeployments(ctx, ds))
				require.NoError(t, s.UpsertIncidents(ctx, is))
			}
			apply(`{"workflow_runs": [{"workflow_name": "deploy", "repo_names": ["acme/api"], "workflow_run_unique_id": "r1",
				"status": "IN_PROGRESS", "workflow_run_conducted_at": "2026-11-02T10:00:00Z"}]}`, "Deploy")
			apply(`{"workflow_runs": [{"workflow_name": "deploy", "repo_names": ["acme/api"], "workflow_run_unique_id": "r1",
				"status": "SUCCESS", "workflow_run_conducted_at": "2026-11-02T10:04:10Z"},
				{"workflow_name": "lint", "repo_names": ["acme/api"], "workflow_run_unique_id": "r2",
				"status": "FAILURE", "workflow_run_conducted_at": "2026-11-02T10:04:10Z"}]}`, "Deploy")
			// The seed's shape, with a duration, over two repositories.
			apply(`{"workflow_runs": [{"workflow_name": "deploy", "repo_names": ["acme/api", "acme/web"], "workflow_run_unique_id": "r3",
				"status": "FAILURE", "duration": "200", "workflow_run_conducted_at": "2026-11-03T10:00:00Z"}]}`, "deploy")

			var started, finished int64
			require.NoError(t, s.db.QueryRow(s.sql(`SELECT started_at, finished_at FROM dora_deployments WHERE deployment_id = ?`), "run:r1").Scan(&started, &finished))
			require.Equal(t, 250.0, seconds(finished-started), "the start call's time and the end call's")
			require.NoError(t, s.db.QueryRow(s.sql(`SELECT started_at, finished_at FROM dora_deployments WHERE deployment_id = ?`), "run:r3@acme/web").Scan(&started, &finished))
			require.Equal(t, 200.0, seconds(finished-started))

			r, err := s.Report(ctx, Query{Since: at("2026-11-01T00:00:00Z"), Until: at("2026-11-04T00:00:00Z")})
			require.NoError(t, err)
			require.Len(t, r.Repositories, 2)
			api := r.Repositories[0]
			require.Equal(t, 2, api.Deployments, "r1 and r3; lint is not a deployment workflow")
			require.Equal(t, 1, api.FailedDeployments)
			require.Equal(t, 0.5, *api.ChangeFailureRate)
		})
	}
}

func TestEveryRunCountsWhenNoWorkflowIsNamed(t *testing.T) {
	t.Parallel()
	b := dorabatch.Parse([]byte(`{"workflow_runs": [{"workflow_name": "anything", "repo_names": ["r"], "workflow_run_unique_id": "x",
		"status": "success", "workflow_run_conducted_at": "2026-11-02T10:00:00Z"}]}`))
	ds, _ := FromBatch(b, "b", "dora", nil)
	require.Len(t, ds, 1)
	ds, _ = FromBatch(b, "b", "dora", []string{"deploy"})
	require.Empty(t, ds)
}
