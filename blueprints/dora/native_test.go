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
		env.SetTestTimeout(time.Minute)
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
