package dora_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	actall "github.com/hookflow/hookflow/activities/all"
	doraact "github.com/hookflow/hookflow/activities/dora"
	"github.com/hookflow/hookflow/blueprints/blueprinttest"
	"github.com/hookflow/hookflow/blueprints/dora"
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
	var calls []struct {
		BatchID string          `json:"batch_id"`
		Payload json.RawMessage `json:"payload"`
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/admin/v1/dora/unresolved" {
			// The recorded deployments list their commits.
			_, _ = w.Write([]byte(`{"deployments":[]}`))
			return
		}
		require.Equal(t, "/admin/v1/dora/apply", r.URL.Path)
		require.Equal(t, "Bearer worker-token", r.Header.Get("Authorization"))
		var in struct {
			BatchID string          `json:"batch_id"`
			Payload json.RawMessage `json:"payload"`
		}
		require.NoError(t, json.NewDecoder(r.Body).Decode(&in))
		mu.Lock()
		calls = append(calls, in)
		n := len(calls)
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"deployments":1,"incidents":1,"rejected":1}`))
	}))
	t.Cleanup(srv.Close)
	env := blueprinttest.NewEnv(t, dora.Blueprint)
	require.NoError(t, actall.Register(env, actall.Sites{PayloadURL: srv.URL, PayloadToken: "worker-token"}))
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

func TestRejectedBatchesNotifyAndApplyNothing(t *testing.T) {
	t.Parallel()
	ev := blueprinttest.Event(t, blueprinttest.Delivery{File: "testdata/batch.deployments.http", Source: "dora", Secret: blueprinttest.Secrets["dora"]})
	ev.Type, ev.Meta = "rejected", map[string]string{"accepted": "0", "rejected": "0", "error": "the body has 501 records, more than 500"}
	routes := blueprinttest.Routes(dora.Blueprint, nil, ev)
	require.Len(t, routes, 1, "a rejected batch reaches the workflow, to notify")
	other := ev
	other.Source = "generic"
	require.Empty(t, blueprinttest.Routes(dora.Blueprint, nil, other))

	var mu sync.Mutex
	var texts []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]string
		require.NoError(t, json.NewDecoder(r.Body).Decode(&m))
		mu.Lock()
		texts = append(texts, m["text"])
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	secretURL := hook.URL + "/services/T000/B000/XXXXSECRET"

	env := blueprinttest.NewEnv(t, dora.Blueprint)
	require.NoError(t, actall.Register(env, actall.Sites{Tokens: actall.StaticTokens(map[string]string{doraact.NotifySystem: secretURL})}))
	env.Send(time.Second, routes[0], ev)
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Hour)
	env.Run()
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, texts, 1)
	require.Contains(t, texts[0], "0 records accepted")
	require.Contains(t, texts[0], "more than 500")
	require.Contains(t, texts[0], ev.DeliveryID)
	require.NotContains(t, texts[0], "XXXXSECRET")
}

func TestSettings(t *testing.T) {
	t.Parallel()
	require.NoError(t, dora.DefaultSettings().Validate())
	require.Error(t, (&dora.Settings{DeploymentWorkflows: []string{" "}}).Validate())
}
