package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/blueprints/prcomment"
)

// TestPauseEndToEnd: under hookflow dev, a paused pull request's
// deliveries are answered 202 and held (its workflow does not even start)
// while another pull request's flow; after resume they are applied in the
// order they were accepted. Then `deliveries stuck` finds the other pull
// request's workflow terminated.
func TestPauseEndToEnd(t *testing.T) {
	bin := hookflowBinary(t)
	gh := newFakeGitHub(t)
	h := startDev(t, bin, t.TempDir(), gh.URL)
	var in struct{ ID, URL, Secret string }
	require.NoError(t, json.Unmarshal(h.cli(t, "integrations", "create", "--source", "github", "--name", "paused", "--output", "json"), &in))
	tc, err := client.Dial(client.Options{HostPort: h.temporal})
	require.NoError(t, err)
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	const wfID = "prcomment/github.com/Codertocat/Hello-World/pr/20"
	var paused struct {
		Kind string `json:"kind"`
		ID   string `json:"id"`
		Held int    `json:"held"`
	}
	require.NoError(t, json.Unmarshal(h.cli(t, "deliveries", "pause", "--workflow", wfID, "--reason", "e2e", "--output", "json"), &paused))
	require.Equal(t, "workflow", paused.Kind)
	require.Equal(t, wfID, paused.ID)

	opened := padded(t, 20, 1)
	withAction := func(action string) []byte {
		return []byte(strings.Replace(string(opened), `"action":"opened"`, `"action":"`+action+`"`, 1))
	}
	ids := []string{"pause-opened", "pause-edited", "pause-closed"}
	bodies := [][]byte{opened, withAction("edited"), withAction("closed")}
	for i, body := range bodies {
		code, answer := post(t, in.URL, in.Secret, "pull_request", ids[i], body)
		require.Equal(t, http.StatusAccepted, code, answer)
		require.Contains(t, answer, `"status":"accepted"`, "the sender never sees the pause")
	}
	// Another pull request flows meanwhile.
	code, answer := post(t, in.URL, in.Secret, "pull_request", "other-opened", padded(t, 21, 1))
	require.Equal(t, http.StatusAccepted, code, answer)
	commented := func(id string) bool {
		for _, b := range gh.bodies() {
			if strings.Contains(b, id) {
				return true
			}
		}
		return false
	}
	require.Eventually(t, func() bool { return commented("other-opened") }, time.Minute, 250*time.Millisecond, "the other pull request is forwarded")

	type route struct {
		WorkflowID string `json:"workflow_id"`
		Status     string `json:"status"`
	}
	routes := func() map[string]route {
		var list []struct {
			DeliveryID string  `json:"delivery_id"`
			Status     string  `json:"status"`
			Routes     []route `json:"routes"`
		}
		require.NoError(t, json.Unmarshal(h.cli(t, "deliveries", "list", "--output", "json"), &list))
		out := map[string]route{}
		for _, d := range list {
			require.Len(t, d.Routes, 1, d.DeliveryID)
			out[d.DeliveryID] = d.Routes[0]
		}
		return out
	}
	for _, id := range ids {
		require.Equal(t, route{WorkflowID: wfID, Status: "held"}, routes()[id], id)
	}
	_, err = tc.DescribeWorkflowExecution(ctx, wfID, "")
	require.True(t, errors.As(err, new(*serviceerror.NotFound)), "the paused workflow was never started: %v", err)
	require.False(t, commented("pause-opened"))
	var list []struct {
		ID     string `json:"id"`
		Held   int    `json:"held"`
		Reason string `json:"reason"`
	}
	require.NoError(t, json.Unmarshal(h.cli(t, "deliveries", "paused", "--output", "json"), &list))
	require.Len(t, list, 1)
	require.Equal(t, 3, list[0].Held)
	require.Equal(t, "e2e", list[0].Reason)
	resp, err := http.Get(h.ingressURL + "/metrics")
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(metrics), "hookflow_routes_held 3\n")

	require.Contains(t, string(h.cli(t, "deliveries", "resume", "--workflow", wfID)), "3 deliveries released")
	var out prcomment.Output
	require.NoError(t, tc.GetWorkflow(ctx, wfID, "").Get(ctx, &out))
	require.Equal(t, prcomment.Output{Applied: 3, Comments: 1}, out, "opened, edited, closed: applied, and closed last")
	require.True(t, commented("pause-opened"))

	var steps []struct {
		Step       string `json:"step"`
		Deliveries []struct {
			DeliveryID string `json:"delivery_id"`
		} `json:"deliveries"`
	}
	require.NoError(t, json.Unmarshal(h.cli(t, "audit", wfID, "--temporal-address", h.temporal, "--output", "json"), &steps))
	var applied []string
	for _, s := range steps {
		for _, d := range s.Deliveries {
			applied = append(applied, d.DeliveryID)
		}
	}
	require.Equal(t, ids, applied, "in the order they were accepted")

	// The hand-over export: a signed Markdown document with every step and
	// the SHA-256 of each payload as journaled.
	md := h.cli(t, "audit", wfID, "--temporal-address", h.temporal, "--output", "md")
	for i, body := range bodies {
		sum := sha256.Sum256(body)
		require.Contains(t, string(md), "| "+ids[i]+" | "+in.ID+" | "+hex.EncodeToString(sum[:])+" |")
	}
	for _, step := range []string{"workflow.started", "delivery", "activity.scheduled", "activity.completed", "workflow.completed"} {
		require.Contains(t, string(md), " | "+step+" | ")
	}
	file := filepath.Join(t.TempDir(), "audit.md")
	require.NoError(t, os.WriteFile(file, md, 0o600))
	pub := strings.TrimSpace(string(h.cli(t, "audit", "public-key")))
	require.Contains(t, string(h.cli(t, "audit", "verify", file, "--public-key", pub)), "signature valid")
	require.NoError(t, os.WriteFile(file, []byte(strings.Replace(string(md), "pause-edited", "pause-edit3d", 1)), 0o600))
	cmd := exec.Command(bin, "audit", "verify", file, "--public-key", pub)
	verifyOut, err := cmd.CombinedOutput()
	require.Error(t, err, "an altered export fails: %s", verifyOut)
	require.Contains(t, string(verifyOut), "altered")
	require.Eventually(t, func() bool {
		r := routes()
		for _, id := range ids {
			if r[id].Status != "forwarded" {
				return false
			}
		}
		return true
	}, 30*time.Second, 250*time.Millisecond)

	// Stuck detection asks the real Temporal: the other pull request's
	// workflow is terminated while its delivery is an hour old at most.
	const other = "prcomment/github.com/Codertocat/Hello-World/pr/21"
	require.NoError(t, tc.TerminateWorkflow(ctx, other, "", "e2e: an operator stopped it"))
	var stuck struct {
		EndedChecked bool `json:"ended_checked"`
		Ended        []struct {
			WorkflowID string `json:"workflow_id"`
			Status     string `json:"status"`
		} `json:"ended"`
		OldestPending *struct{} `json:"oldest_pending"`
	}
	require.NoError(t, json.Unmarshal(h.cli(t, "deliveries", "stuck", "--output", "json"), &stuck))
	require.True(t, stuck.EndedChecked)
	require.Nil(t, stuck.OldestPending, "everything was forwarded")
	require.Len(t, stuck.Ended, 1, "the completed pull request is not listed, the terminated one is")
	require.Equal(t, other, stuck.Ended[0].WorkflowID)
	require.Equal(t, "terminated", stuck.Ended[0].Status)
	require.Contains(t, string(h.cli(t, "deliveries", "stuck")), other+"  terminated")
	h.stop(t)
}
