package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"
)

// padded is the recorded pull_request.opened delivery for pull request n,
// its body padded to size bytes in pull_request.body (GitHub sends up to
// 25 MB); "sender" stays the payload's last field.
func padded(t *testing.T, n, size int) []byte {
	t.Helper()
	var doc map[string]any
	require.NoError(t, json.Unmarshal(recordedBody(t, "pull_request.opened.http"), &doc))
	doc["number"] = n
	pr := doc["pull_request"].(map[string]any)
	pr["number"] = n
	pr["body"] = ""
	base, err := json.Marshal(doc)
	require.NoError(t, err)
	pr["body"] = strings.Repeat("lorem ipsum ", max(0, (size-len(base))/12+1))
	out, err := json.Marshal(doc) // keys sorted: sender comes last
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(out), size)
	return out
}

// TestLargePayloadsEndToEnd: 3 MiB and 20 MiB signed GitHub deliveries are
// accepted, forwarded by reference and applied under hookflow dev; the
// workflow reads the payload's last field through the projection activity
// and its history stays small. Then the finished-entity rule, both ways,
// and a refused ServiceNow delivery journaled with its delivery ID.
func TestLargePayloadsEndToEnd(t *testing.T) {
	bin := hookflowBinary(t)
	gh := newFakeGitHub(t)
	h := startDev(t, bin, t.TempDir(), gh.URL)
	var in struct{ ID, URL, Secret string }
	require.NoError(t, json.Unmarshal(h.cli(t, "integrations", "create", "--source", "github", "--name", "big", "--output", "json"), &in))
	tc, err := client.Dial(client.Options{HostPort: h.temporal})
	require.NoError(t, err)
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	var sender struct {
		Sender struct{ Login string } `json:"sender"`
	}
	require.NoError(t, json.Unmarshal(recordedBody(t, "pull_request.opened.http"), &sender))
	require.NotEmpty(t, sender.Sender.Login)

	const maxHistoryBytes = 64 << 10
	for _, tt := range []struct {
		pr   int
		size int
	}{{10, 3 << 20}, {11, 20 << 20}} {
		body := padded(t, tt.pr, tt.size)
		id := fmt.Sprintf("big-%d", tt.pr)
		code, answer := post(t, in.URL, in.Secret, "pull_request", id, body)
		require.Equal(t, http.StatusAccepted, code, answer)

		wfID := fmt.Sprintf("prcomment/github.com/Codertocat/Hello-World/pr/%d", tt.pr)
		require.Eventually(t, func() bool {
			for _, b := range gh.bodies() {
				if strings.Contains(b, id) {
					return true
				}
			}
			return false
		}, 2*time.Minute, 250*time.Millisecond, "the %d-byte pull request is commented on", len(body))
		var comment string
		for _, b := range gh.bodies() {
			if strings.Contains(b, id) {
				comment = b
			}
		}
		require.Contains(t, comment, "@"+sender.Sender.Login, "the payload's last field, read through the projection activity")

		size, projected := 0, false
		iter := tc.GetWorkflowHistory(ctx, wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			require.NoError(t, err)
			size += proto.Size(ev)
			if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == "hookflow.ProjectPayload" {
				projected = true
			}
		}
		require.True(t, projected, "the workflow read the payload through the projection activity")
		require.Less(t, size, maxHistoryBytes, "the history of a %d-byte delivery holds no payload", len(body))

		var list []struct {
			DeliveryID string `json:"delivery_id"`
			Status     string `json:"status"`
			Routes     []struct {
				WorkflowID string `json:"workflow_id"`
				Status     string `json:"status"`
			} `json:"routes"`
		}
		require.NoError(t, json.Unmarshal(h.cli(t, "deliveries", "list", "--output", "json"), &list))
		require.Equal(t, id, list[0].DeliveryID)
		require.Equal(t, "forwarded", list[0].Status)
		require.Len(t, list[0].Routes, 1)
		require.Equal(t, wfID, list[0].Routes[0].WorkflowID)
	}

	// A finished entity: pull request 10 is closed (its workflow
	// completes); a late edit is recorded as ignored, a reopen starts it
	// again.
	closed := padded(t, 10, 1)
	closed = []byte(strings.Replace(string(closed), `"action":"opened"`, `"action":"closed"`, 1))
	code, answer := post(t, in.URL, in.Secret, "pull_request", "close-10", closed)
	require.Equal(t, http.StatusAccepted, code, answer)
	wf10 := "prcomment/github.com/Codertocat/Hello-World/pr/10"
	require.NoError(t, tc.GetWorkflow(ctx, wf10, "").Get(ctx, nil))
	edited := []byte(strings.Replace(string(closed), `"action":"closed"`, `"action":"edited"`, 1))
	code, answer = post(t, in.URL, in.Secret, "pull_request", "edit-10", edited)
	require.Equal(t, http.StatusAccepted, code, answer)
	route := func(id string) (string, string) {
		var list []struct {
			DeliveryID string                            `json:"delivery_id"`
			Status     string                            `json:"status"`
			Routes     []struct{ Status, Reason string } `json:"routes"`
		}
		require.NoError(t, json.Unmarshal(h.cli(t, "deliveries", "list", "--output", "json"), &list))
		for _, d := range list {
			if d.DeliveryID == id && len(d.Routes) == 1 {
				return d.Routes[0].Status, d.Routes[0].Reason
			}
		}
		return "", ""
	}
	require.Eventually(t, func() bool { st, _ := route("edit-10"); return st == "ignored" }, time.Minute, 250*time.Millisecond)
	_, reason := route("edit-10")
	require.Contains(t, reason, "entity finished")
	desc, err := tc.DescribeWorkflowExecution(ctx, wf10, "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.GetWorkflowExecutionInfo().GetStatus(), "the late edit started nothing")

	reopened := []byte(strings.Replace(string(closed), `"action":"closed"`, `"action":"reopened"`, 1))
	code, answer = post(t, in.URL, in.Secret, "pull_request", "reopen-10", reopened)
	require.Equal(t, http.StatusAccepted, code, answer)
	require.Eventually(t, func() bool { st, _ := route("reopen-10"); return st == "forwarded" }, time.Minute, 250*time.Millisecond)
	desc, err = tc.DescribeWorkflowExecution(ctx, wf10, "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.GetWorkflowExecutionInfo().GetStatus(), "a reopened pull request starts a new run")
	require.Eventually(t, func() bool {
		for _, b := range gh.bodies() {
			if strings.Contains(b, "reopen-10") {
				return true
			}
		}
		return false
	}, time.Minute, 250*time.Millisecond, "and is welcomed again")

	// A ServiceNow delivery with a bad token is refused and journaled
	// with its own delivery ID.
	var sn struct{ URL string }
	require.NoError(t, json.Unmarshal(h.cli(t, "integrations", "create", "--source", "servicenow", "--name", "sn", "--output", "json"), &sn))
	req, err := http.NewRequest(http.MethodPost, sn.URL, strings.NewReader(`{"table":"change_request","sys_id":"abc","number":"CHG0031234"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-ServiceNow-Delivery", "sn-delivery-42")
	req.Header.Set("X-Hookflow-Token", "wrong-token-wrong-token")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	var rejected []struct {
		DeliveryID string `json:"delivery_id"`
		Source     string `json:"source"`
		Reason     string `json:"reason"`
	}
	require.NoError(t, json.Unmarshal(h.cli(t, "deliveries", "list", "--status", "rejected", "--output", "json"), &rejected))
	require.Len(t, rejected, 1)
	require.Equal(t, "sn-delivery-42", rejected[0].DeliveryID)
	require.Equal(t, "servicenow", rejected[0].Source)
	require.True(t, strings.HasPrefix(rejected[0].Reason, "401 unauthorized: "), rejected[0].Reason)

	h.stop(t)
	require.NotContains(t, h.logs(), "lorem ipsum", "no request body in logs")
}
