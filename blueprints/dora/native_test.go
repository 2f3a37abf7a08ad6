package dora_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"

	doraact "github.com/hookflow/hookflow/activities/dora"
	"github.com/hookflow/hookflow/blueprints/blueprinttest"
	"github.com/hookflow/hookflow/blueprints/dora"
	"github.com/hookflow/hookflow/ingress/dorametrics"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/workflows/dorabatch"
)

const repo = "root/test-deployment-webhooks"

// GitHub, GitLab and PagerDuty recorded deliveries feed one repository's
// records: each goes through its sender's Source, the router and the
// workflow; the batches the workflow applies are written to a real store
// and reported.
func TestNativeSendersFeedOneRepository(t *testing.T) {
	t.Parallel()
	settings := &dora.Settings{PagerDutyServices: map[string]dora.Service{"PF9KMXH": {Repo: repo, Environment: "staging"}}}
	deliveries := []blueprinttest.Delivery{
		{File: "../../ingress/gitlab/testdata/deployment.success.http", Source: "gitlab", Secret: blueprinttest.Secrets["gitlab"]},
		{File: "testdata/deployment_status.failure.http", Source: "github", Secret: blueprinttest.GitHubSecret},
		{File: "../../ingress/pagerduty/testdata/incident.triggered.http", Source: "pagerduty", Secret: blueprinttest.Secrets["pagerduty"]},
		{File: "../../ingress/pagerduty/testdata/incident.resolved.rotating.http", Source: "pagerduty", Secret: blueprinttest.Secrets["pagerduty"]},
	}
	var mu sync.Mutex
	var applied []doraact.ApplyInput
	for _, d := range deliveries {
		// One integration per sender: one workflow each.
		d.Integration = "int_" + d.Source
		ev := blueprinttest.Event(t, d)
		routes := blueprinttest.Routes(dora.Blueprint, settings, ev)
		require.Len(t, routes, 1, d.File)
		require.Equal(t, "dora/int_"+d.Source, routes[0].WorkflowID)

		env := blueprinttest.NewEnv(t, dora.Blueprint)
		env.RegisterActivityWithOptions(func(_ context.Context, in doraact.ApplyInput) (doraact.ApplyOutput, error) {
			mu.Lock()
			applied = append(applied, in)
			mu.Unlock()
			return doraact.ApplyOutput{}, nil
		}, activity.RegisterOptions{Name: doraact.ApplyBatch})
		env.Send(time.Second, routes[0], ev)
		env.RegisterDelayedCallback(env.CancelWorkflow, time.Hour)
		env.Run()
	}
	require.Len(t, applied, 4)

	db, err := sqlite.Open(filepath.Join(t.TempDir(), "dora.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	store, err := dorametrics.OpenStore(context.Background(), db)
	require.NoError(t, err)
	for _, in := range applied {
		b := dorabatch.Parse(in.Payload)
		require.Empty(t, b.Error, string(in.Payload))
		require.Empty(t, b.Rejected, string(in.Payload))
		ds, is := dorametrics.FromBatch(b, in.BatchID, in.Source, nil)
		require.NoError(t, store.UpsertDeployments(context.Background(), ds))
		require.NoError(t, store.UpsertIncidents(context.Background(), is))
	}
	r, err := store.Report(context.Background(), dorametrics.Query{Since: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.Len(t, r.Repositories, 1)
	m := r.Repositories[0]
	require.Equal(t, repo, m.Repo)
	require.Equal(t, "staging", m.Environment)
	require.Equal(t, 2, m.Deployments, "GitLab's success and GitHub's failure")
	require.Equal(t, 1, m.FailedDeployments)
	require.Equal(t, 0.5, *m.ChangeFailureRate)
	require.Equal(t, 1, m.Incidents, "triggered and resolved are one incident")
	require.Equal(t, 2700.0, *m.TimeToRestoreMedianSeconds, "11:00 to 11:45")
}

func TestUnmappedServicesAndSkippedStatusesAreNotRecords(t *testing.T) {
	t.Parallel()
	ev := blueprinttest.Event(t, blueprinttest.Delivery{File: "../../ingress/pagerduty/testdata/incident.triggered.http", Source: "pagerduty", Secret: blueprinttest.Secrets["pagerduty"]})
	require.Empty(t, blueprinttest.Routes(dora.Blueprint, nil, ev), "no service mapped: not taken")
	require.Empty(t, blueprinttest.Routes(dora.Blueprint, &dora.Settings{PagerDutyServices: map[string]dora.Service{"OTHER": {Repo: "x"}}}, ev))
	off := false
	gl := blueprinttest.Event(t, blueprinttest.Delivery{File: "../../ingress/gitlab/testdata/deployment.success.http", Source: "gitlab", Secret: blueprinttest.Secrets["gitlab"]})
	require.Len(t, blueprinttest.Routes(dora.Blueprint, nil, gl), 1)
	require.Empty(t, blueprinttest.Routes(dora.Blueprint, &dora.Settings{NativeDeployments: &off}, gl))
	require.Error(t, (&dora.Settings{PagerDutyServices: map[string]dora.Service{"P": {}}}).Validate())
}

// Runs of named deployment workflows are production deployments: a GitLab
// pipeline (recorded) and a GitHub workflow run; other runs are not.
func TestRunsOfDeploymentWorkflows(t *testing.T) {
	t.Parallel()
	gl := blueprinttest.Event(t, blueprinttest.Delivery{File: "../../ingress/gitlab/testdata/pipeline.success.http", Source: "gitlab", Secret: blueprinttest.Secrets["gitlab"]})
	require.Empty(t, blueprinttest.Routes(dora.Blueprint, nil, gl), "no deployment workflow named: CI runs are not deployments")
	settings := &dora.Settings{DeploymentWorkflows: []string{"pipeline for branch: master", "Deploy"}}
	routes := blueprinttest.Routes(dora.Blueprint, settings, gl)
	require.Len(t, routes, 1)

	gh := gl
	gh.Source, gh.Type, gh.DeliveryID = "github", "workflow_run", "wr-1"
	gh.Payload = []byte(`{"action":"completed","workflow_run":{"id":30433642,"name":"Deploy","head_sha":"acb5820ced9479c074f688cc328bf03f341a511d",
		"status":"completed","conclusion":"failure","run_started_at":"2026-11-02T10:00:00Z","updated_at":"2026-11-02T10:05:00Z",
		"html_url":"https://github.com/octo/api/actions/runs/30433642"},"repository":{"full_name":"octo/api"}}`)
	lint := gh
	lint.DeliveryID = "wr-2"
	lint.Payload = []byte(`{"action":"completed","workflow_run":{"id":2,"name":"Lint","status":"completed","conclusion":"success",
		"run_started_at":"2026-11-02T10:00:00Z","updated_at":"2026-11-02T10:05:00Z"},"repository":{"full_name":"octo/api"}}`)

	var mu sync.Mutex
	var applied []doraact.ApplyInput
	env := blueprinttest.NewEnv(t, dora.Blueprint)
	env.RegisterActivityWithOptions(func(_ context.Context, in doraact.ApplyInput) (doraact.ApplyOutput, error) {
		mu.Lock()
		applied = append(applied, in)
		mu.Unlock()
		return doraact.ApplyOutput{}, nil
	}, activity.RegisterOptions{Name: doraact.ApplyBatch})
	env.Send(time.Second, routes[0], gl, gh, lint)
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Hour)
	env.Run()
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, applied, 2, "the lint run is not a deployment")
	gitlab := dorabatch.Parse(applied[0].Payload)
	require.Len(t, gitlab.Deployments, 1)
	d := gitlab.Deployments[0]
	require.Equal(t, "gitlab-org/gitlab-test", d.Repo)
	require.Equal(t, "production", d.Environment)
	require.Equal(t, "success", d.Status)
	require.Equal(t, 181*time.Second, d.FinishedAt.Sub(d.StartedAt), "15:23:28 to 15:26:29 UTC")
	github := dorabatch.Parse(applied[1].Payload)
	require.Len(t, github.Deployments, 1)
	require.Equal(t, dorabatch.Deployment{DeploymentID: "github:octo/api/run/30433642", Repo: "octo/api", Environment: "production",
		SHA: "acb5820ced9479c074f688cc328bf03f341a511d", Status: "failure", StartedAt: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC),
		FinishedAt: time.Date(2026, 11, 2, 10, 5, 0, 0, time.UTC), URL: "https://github.com/octo/api/actions/runs/30433642"}, github.Deployments[0])
}
