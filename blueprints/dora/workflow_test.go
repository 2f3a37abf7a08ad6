package dora_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	doraact "github.com/hookflow/hookflow/activities/dora"
	"github.com/hookflow/hookflow/blueprints/blueprinttest"
	"github.com/hookflow/hookflow/blueprints/dora"
	doraconn "github.com/hookflow/hookflow/connectors/dora"
)

// The recorded batch reaches dora/<integration>; the workflow applies it
// once through the ingress's apply endpoint (here a recording server
// that fails once), and a redelivery of the same batch is dropped.
func TestRecordedBatchIsAppliedOnce(t *testing.T) {
	t.Parallel()
	ev, route := blueprinttest.Deliver(t, dora.Blueprint, blueprinttest.Delivery{
		File: "testdata/batch.deployments.http", Source: "dora", Secret: blueprinttest.Secrets["dora"]})
	require.Equal(t, "dora/"+blueprinttest.Integration, route.WorkflowID)
	require.Equal(t, "2", ev.Meta["accepted"])
	require.Equal(t, "1", ev.Meta["rejected"])

	var mu sync.Mutex
	var calls []doraconn.Apply
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/admin/v1/dora/apply", r.URL.Path)
		require.Equal(t, "Bearer worker-token", r.Header.Get("Authorization"))
		var in doraconn.Apply
		require.NoError(t, json.NewDecoder(r.Body).Decode(&in))
		mu.Lock()
		calls = append(calls, in)
		n := len(calls)
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(doraconn.Applied{Deployments: 1, Incidents: 1, Rejected: 1})
	}))
	t.Cleanup(srv.Close)
	client, err := doraconn.New(doraconn.Options{BaseURL: srv.URL, Token: "worker-token"})
	require.NoError(t, err)

	env := blueprinttest.NewEnv(t, dora.Blueprint)
	env.SetTestTimeout(time.Minute) // real time: the machine may be busy
	doraact.Register(env, &doraact.Activities{Client: client})
	env.Send(time.Second, route, ev)
	env.Send(2*time.Second, route, ev) // a redelivery: dropped by the entity loop
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Hour)
	env.Run()
	require.True(t, env.IsWorkflowCompleted())

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, calls, 2, "one failure, one retry, nothing for the redelivery")
	require.Equal(t, ev.DeliveryID, calls[1].BatchID)
	require.JSONEq(t, string(ev.Payload), string(calls[1].Payload))
}

func TestRejectedBatchesAreNotRouted(t *testing.T) {
	t.Parallel()
	ev := blueprinttest.Event(t, blueprinttest.Delivery{File: "testdata/batch.deployments.http", Source: "dora", Secret: blueprinttest.Secrets["dora"]})
	ev.Type = "rejected"
	require.Empty(t, blueprinttest.Routes(dora.Blueprint, nil, ev))
	ev.Type, ev.Source = "batch", "generic"
	require.Empty(t, blueprinttest.Routes(dora.Blueprint, nil, ev))
}

func TestWorkerWithoutIngressFailsClearly(t *testing.T) {
	t.Parallel()
	_, err := (&doraact.Activities{}).ApplyBatch(context.Background(), doraact.ApplyInput{BatchID: "b"})
	require.ErrorContains(t, err, "--payload-url")
}

func TestSettings(t *testing.T) {
	t.Parallel()
	require.NoError(t, dora.DefaultSettings().Validate())
	require.Error(t, (&dora.Settings{DeploymentWorkflows: []string{" "}}).Validate())
}
