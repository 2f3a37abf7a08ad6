package ingress_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/workflows"
)

func TestSyntheticEventsThroughTheAdminAPI(t *testing.T) {
	t.Parallel()
	router := workflows.NewRouter(workflows.Subscription{Blueprint: "gate", Workflow: "G", TaskQueue: "q", Route: func(ev workflows.Event) string {
		if ev.Source == ingress.SyntheticSource && strings.HasPrefix(ev.Key(workflows.KeyEntity), "gate/") {
			return ev.Key(workflows.KeyEntity)
		}
		return ""
	}})
	f := newFixture(t, nil, func(c *ingress.Config) { c.Router = router })
	call := func(token, body string) (int, string) {
		req, _ := http.NewRequest("POST", f.srv.URL+"/admin/v1/events", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	ok := `{"source":"hookflow","type":"gate.decide","action":"approve","keys":{"entity":"gate/1"},"payload":{"actor":"ops"}}`
	code, _ := call("wrong", ok)
	require.Equal(t, 401, code)
	for _, tc := range []struct {
		body string
		code int
	}{
		{`{"source":"github","type":"x","keys":{"entity":"gate/1"},"payload":{}}`, 400},
		{`{"source":"hookflow","keys":{"entity":"gate/1"},"payload":{}}`, 400},
		{`{"source":"hookflow","type":"x","keys":{"entity":"gate/1"},"payload":[1]}`, 400},
		{`{"source":"hookflow","type":"x","keys":{"entity":"other/1"},"payload":{}}`, 404},
	} {
		code, body := call("admin-token-123", tc.body)
		require.Equal(t, tc.code, code, tc.body+" "+body)
	}
	code, body := call("admin-token-123", ok)
	require.Equal(t, 202, code, body)
	var ans ingress.EventAnswer
	require.NoError(t, json.Unmarshal([]byte(body), &ans))
	require.True(t, strings.HasPrefix(ans.DeliveryID, "admin-"))
	require.Equal(t, []string{"gate/1"}, ans.WorkflowIDs)

	entries, err := f.journal.List(context.Background(), journal.Filter{})
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the routed event is journaled")
	e := entries[0]
	require.Equal(t, journal.Accepted, e.Status)
	require.Equal(t, ans.DeliveryID, e.Event.DeliveryID)
	require.Equal(t, ingress.SyntheticIntegration, e.Event.Integration)
	require.Equal(t, "gate/1", e.Routes[0].WorkflowID)
}
