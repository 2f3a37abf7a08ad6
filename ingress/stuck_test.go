package ingress_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress"
	"github.com/hookflow/hookflow/ingress/journal"
)

// TestStuckThroughTheAdminAPI: what is not flowing, as GET /admin/v1/stuck
// and /metrics show it. Temporal's answers come from statuses, as the
// wiring's temporalWorkflowStatus gives them (the e2e test asks a real
// Temporal).
func TestStuckThroughTheAdminAPI(t *testing.T) {
	t.Parallel()
	statuses := map[string]string{"pr/7": "terminated", "pr/8": "running"}
	status := func(_ context.Context, id string) (string, error) {
		if st, ok := statuses[id]; ok {
			return st, nil
		}
		return "", errors.New("unavailable")
	}
	f := newFixtureWith(t, nil, func(c *ingress.Config) { c.WorkflowStatus = status })
	require.NoError(t, f.metrics.Registerer().Register(ingress.NewJournalCollector(f.journal, ingress.JournalCollectorOptions{WorkflowStatus: status})))
	const token = "admin-token-123"
	pr8 := bytes.ReplaceAll(prBody, []byte(`"number":7`), []byte(`"number":8`))
	for i, body := range [][]byte{prBody, prBody, prBody, pr8} {
		id := "s-" + strconv.Itoa(i)
		code, out, _ := f.send(t, delivery{event: "pull_request", id: id, sig: sign(body, secret), body: body})
		require.Equal(t, http.StatusAccepted, code, out)
	}
	p, err := f.journal.Pending(context.Background(), journal.PendingQuery{})
	require.NoError(t, err)
	last := p[len(p)-1]
	for range 6 {
		require.NoError(t, f.journal.MarkRoutes(context.Background(), journal.RouteMark{Seq: last.Event.Seq, WorkflowID: "pr/8", Retry: true,
			Reason: "retrying: signal pr/8: unavailable", RetryAt: time.Now()}))
	}

	code, body := f.adminCall(t, "GET", "/admin/v1/stuck?backlog_above=2", token, "")
	require.Equal(t, http.StatusOK, code, body)
	var v ingress.StuckView
	require.NoError(t, json.Unmarshal([]byte(body), &v))
	require.NotNil(t, v.OldestPending)
	require.Equal(t, "pr/7", v.OldestPending.WorkflowID)
	require.GreaterOrEqual(t, v.OldestPendingSeconds, 0.0)
	require.Equal(t, 3, v.MaxEntityBacklog)
	require.Equal(t, []journal.EntityBacklog{{WorkflowID: "pr/7", Pending: 3, OldestSeq: p[0].Event.Seq}}, v.Backlogged)
	require.Equal(t, 1, v.FailingTotal)
	require.Equal(t, "s-3", v.Failing[0].DeliveryID)
	require.Equal(t, 6, v.Failing[0].Attempts)
	require.True(t, v.EndedChecked)
	require.Equal(t, []ingress.EndedWorkflow{{WorkflowID: "pr/7", Status: "terminated"}}, v.Ended)

	text := f.metricsText(t)
	require.Contains(t, text, "hookflow_entity_backlog_max 3\n")
	require.Contains(t, text, "hookflow_entities_backlogged 0\n", "3 is not over the metric's threshold of 100")
	require.Contains(t, text, "hookflow_routes_failing 1\n")
	require.Contains(t, text, `hookflow_workflows_ended{status="terminated"} 1`)
	require.Contains(t, text, `hookflow_workflows_ended{status="failed"} 0`)
	require.Regexp(t, regexp.MustCompile(`hookflow_journal_oldest_pending_seconds \d`), text)
	require.NotContains(t, text, "pr/7", "no workflow ID in metrics")

	for _, q := range []string{"backlog_above=x", "min_attempts=-1", "limit=0.5", "since=yesterday"} {
		code, body := f.adminCall(t, "GET", "/admin/v1/stuck?"+q, token, "")
		require.Equal(t, http.StatusBadRequest, code, q+": "+body)
	}
	code, _ = f.adminCall(t, "GET", "/admin/v1/stuck", "", "")
	require.Equal(t, http.StatusUnauthorized, code)

	// Without Temporal the report says it did not check.
	plain := newFixture(t, nil)
	code, body = plain.adminCall(t, "GET", "/admin/v1/stuck", token, "")
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"ended_checked":false`)
	require.Contains(t, body, `"backlogged":[]`)
}

// TestPayloadDigests: the SHA-256 of payloads as journaled, never the
// payloads; entries without one are listed as missing.
func TestPayloadDigests(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	code, out, _ := f.send(t, delivery{event: "pull_request", id: "dg-1", sig: sign(prBody, secret), body: prBody})
	require.Equal(t, http.StatusAccepted, code, out)
	code, _, _ = f.send(t, delivery{event: "pull_request", id: "dg-2", sig: sign(prBody, "wrong"), body: prBody})
	require.Equal(t, http.StatusUnauthorized, code)
	list, err := f.journal.List(context.Background(), journal.Filter{})
	require.NoError(t, err)
	require.Len(t, list, 2)
	accepted, rejected := list[1].Event.Seq, list[0].Event.Seq
	code, body := f.adminCall(t, "POST", "/admin/v1/deliveries/digests", "admin-token-123",
		`{"seqs":[`+strconv.FormatInt(accepted, 10)+`,`+strconv.FormatInt(rejected, 10)+`,999]}`)
	require.Equal(t, http.StatusOK, code, body)
	var res ingress.DigestsResult
	require.NoError(t, json.Unmarshal([]byte(body), &res))
	sum := sha256.Sum256(prBody)
	require.Equal(t, []ingress.PayloadDigest{{Seq: accepted, SHA256: hex.EncodeToString(sum[:]), Size: len(prBody)}}, res.Digests)
	require.Equal(t, []int64{rejected, 999}, res.Missing)
	require.NotContains(t, body, "pull_request", "no payload in the answer")
	code, _ = f.adminCall(t, "POST", "/admin/v1/deliveries/digests", "", `{"seqs":[1]}`)
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = f.adminCall(t, "POST", "/admin/v1/deliveries/digests", "admin-token-123", `{"seqs":[`+strings.Repeat("1,", 1000)+`1]}`)
	require.Equal(t, http.StatusBadRequest, code)
}

func TestVerificationFailuresByReason(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for _, d := range []delivery{
		{event: "pull_request", id: "v-1", sig: sign(prBody, "wrong"), body: prBody},
		{event: "pull_request", id: "v-2", body: prBody},
		{event: "pull_request", id: "v-3", body: prBody},
	} {
		code, _, _ := f.send(t, d)
		require.Equal(t, http.StatusUnauthorized, code)
	}
	text := f.metricsText(t)
	require.Contains(t, text, `hookflow_verification_failures_total{reason="mismatch",source="github"} 1`)
	require.Contains(t, text, `hookflow_verification_failures_total{reason="missing",source="github"} 2`)
}
