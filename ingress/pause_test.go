package ingress_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress"
	"github.com/hookflow/hookflow/ingress/journal"
)

// adminCall sends an admin API request with the fixture's admin token
// (token "" sends none).
func (f *fixture) adminCall(t *testing.T, method, path, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (f *fixture) metricsText(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(f.srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestPauseAndResumeThroughTheAdminAPI: a paused pull request's deliveries
// are answered 202 and held, another one's are not; the held count is on
// /metrics; resume releases them in order.
func TestPauseAndResumeThroughTheAdminAPI(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	require.NoError(t, f.metrics.Registerer().Register(ingress.NewJournalCollector(f.journal, ingress.JournalCollectorOptions{})))
	const token = "admin-token-123"
	pr8 := bytes.ReplaceAll(prBody, []byte(`"number":7`), []byte(`"number":8`))
	send := func(id string, body []byte) {
		code, out, _ := f.send(t, delivery{event: "pull_request", id: id, sig: sign(body, secret), body: body})
		require.Equal(t, http.StatusAccepted, code, out)
		require.Equal(t, "accepted", out["status"], "a sender never sees a pause")
	}
	send("p-1", prBody)

	code, body := f.adminCall(t, "POST", "/admin/v1/deliveries/pause", token, `{"workflow":"pr/7","reason":"flaky downstream"}`)
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"kind":"workflow","id":"pr/7","held":1,"released":0}`, body)
	send("p-2", prBody)
	send("o-1", pr8)

	var list []ingress.DeliveryView
	code, body = f.adminCall(t, "GET", "/admin/v1/deliveries", token, "")
	require.Equal(t, http.StatusOK, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	routes := map[string]journal.Status{}
	for _, d := range list {
		require.Equal(t, "accepted", d.Status)
		routes[d.DeliveryID] = d.Routes[0].Status
	}
	require.Equal(t, map[string]journal.Status{"p-1": journal.Held, "p-2": journal.Held, "o-1": journal.Accepted}, routes)

	var pauses []journal.Pause
	code, body = f.adminCall(t, "GET", "/admin/v1/pauses", token, "")
	require.Equal(t, http.StatusOK, code, body)
	require.NoError(t, json.Unmarshal([]byte(body), &pauses))
	require.Len(t, pauses, 1)
	require.Equal(t, "pr/7", pauses[0].ID)
	require.Equal(t, "flaky downstream", pauses[0].Reason)
	require.Equal(t, 2, pauses[0].Held)
	text := f.metricsText(t)
	require.Contains(t, text, "hookflow_routes_held 2\n")
	require.Contains(t, text, `hookflow_pauses{kind="workflow"} 1`)
	require.NotContains(t, text, "pr/7", "no workflow ID in metrics")

	code, body = f.adminCall(t, "POST", "/admin/v1/deliveries/resume", token, `{"workflow":"pr/7"}`)
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"kind":"workflow","id":"pr/7","held":0,"released":2}`, body)
	p, err := f.journal.Pending(context.Background(), journal.PendingQuery{})
	require.NoError(t, err)
	var order []string
	for _, x := range p {
		order = append(order, x.Event.DeliveryID)
	}
	require.Equal(t, []string{"p-1", "p-2", "o-1"}, order, "released in acceptance order")
	require.Contains(t, f.metricsText(t), "hookflow_routes_held 0\n")

	// An integration pause holds what comes through it.
	code, body = f.adminCall(t, "POST", "/admin/v1/deliveries/pause", token, `{"integration":"`+f.in.ID+`"}`)
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"kind":"integration","id":"`+f.in.ID+`","held":3,"released":0}`, body)
	send("p-3", pr8)
	require.Contains(t, f.metricsText(t), "hookflow_routes_held 4\n")
	code, body = f.adminCall(t, "POST", "/admin/v1/deliveries/resume", token, `{"integration":"`+f.in.ID+`"}`)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"released":4`)
	require.Contains(t, f.logs.String(), `"msg":"deliveries paused"`)
	require.Contains(t, f.logs.String(), `"msg":"deliveries resumed"`)

	for _, tc := range []struct {
		name, method, path, token, body string
		code                            int
		errCode                         string
	}{
		{"no token", "POST", "/admin/v1/deliveries/pause", "", `{"workflow":"pr/7"}`, 401, "unauthorized"},
		{"wrong token", "GET", "/admin/v1/pauses", "nope", "", 401, "unauthorized"},
		{"neither", "POST", "/admin/v1/deliveries/pause", token, `{}`, 400, "nothing_selected"},
		{"both", "POST", "/admin/v1/deliveries/pause", token, `{"workflow":"w","integration":"` + f.in.ID + `"}`, 400, "nothing_selected"},
		{"unknown field", "POST", "/admin/v1/deliveries/pause", token, `{"entity":"w"}`, 400, "malformed_json"},
		{"too long", "POST", "/admin/v1/deliveries/pause", token, `{"workflow":"` + strings.Repeat("w", 1001) + `"}`, 400, "too_long"},
		{"unknown integration", "POST", "/admin/v1/deliveries/pause", token, `{"integration":"int_nope"}`, 404, "not_found"},
		{"not paused", "POST", "/admin/v1/deliveries/resume", token, `{"workflow":"pr/7"}`, 404, "not_paused"},
	} {
		code, body := f.adminCall(t, tc.method, tc.path, tc.token, tc.body)
		require.Equal(t, tc.code, code, tc.name+": "+body)
		require.Contains(t, body, `"code":"`+tc.errCode+`"`, tc.name)
	}
}
