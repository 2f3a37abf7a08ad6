package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/blueprints/blueprinttest"
)

// doraFixture is ingress/dorametrics' hand-worked fixture as the batches a
// CI and a pager send (see the metrics worked out in store_test.go).
func doraFixture() (deployments, incidents []map[string]any) {
	dep := func(id, repo, env, sha, status, finished string, commits ...string) map[string]any {
		d := map[string]any{"deployment_id": id, "repo": repo, "environment": env, "sha": sha, "status": status}
		if finished != "" {
			f, _ := time.Parse(time.RFC3339, finished)
			d["finished_at"] = finished
			d["started_at"] = f.Add(-10 * time.Minute).Format(time.RFC3339)
		} else {
			d["started_at"] = "2026-11-07T00:00:00Z"
		}
		var cs []map[string]string
		for i := 0; i < len(commits); i += 2 {
			cs = append(cs, map[string]string{"sha": commits[i], "committed_at": commits[i+1]})
		}
		if cs != nil {
			d["commits"] = cs
		}
		return d
	}
	deployments = []map[string]any{
		dep("d0", "acme/api", "production", "s0", "SUCCESS", "2026-10-30T12:00:00Z", "c0", "2026-10-29T12:00:00Z", "c7", "2026-10-29T13:00:00Z"),
		dep("d1", "acme/api", "production", "s1", "success", "2026-11-02T10:00:00Z", "c1", "2026-11-02T08:00:00Z", "c2", "2026-11-01T10:00:00Z"),
		dep("d2", "acme/api", "production", "s3", "Failure", "2026-11-03T12:00:00Z", "c3", "2026-11-03T11:00:00Z"),
		dep("d3", "acme/api", "production", "s4", "success", "2026-11-03T14:00:00Z", "c3", "2026-11-03T11:00:00Z", "c4", "2026-11-03T13:29:59.5Z"),
		dep("d4", "acme/api", "production", "bad5", "success", "2026-11-05T09:00:00Z", "c5", "2026-11-04T09:00:00Z"),
		dep("d5", "acme/api", "production", "s6", "success", "2026-11-06T00:00:00Z", "c1", "2026-11-02T08:00:00Z", "c6", "2026-11-05T18:00:00Z"),
		dep("d6", "acme/api", "production", "s7", "in_progress", ""),
		dep("d7", "acme/api", "production", "s7", "cancelled", "2026-11-07T01:00:00Z"),
		dep("d8", "acme/api", "production", "s8", "success", "2026-11-08T12:00:00Z", "c7", "2026-10-29T13:00:00Z", "c8", "2026-11-08T00:00:00Z"),
		dep("d9", "acme/api", "production", "s9", "failure", "2026-11-12T00:00:00Z"),
		dep("w1", "acme/web", "staging", "w1sha", "success", "2026-11-04T00:00:00Z", "cw1", "2026-11-03T00:00:00Z"),
	}
	inc := func(key, repo, created, resolved string, cause ...string) map[string]any {
		i := map[string]any{"incident_key": key, "repo": repo, "creation_date": created, "provider": "pagerduty"}
		if repo == "acme/api" {
			i["environment"] = "production"
		}
		if resolved != "" {
			i["resolved_date"] = resolved
		}
		if len(cause) == 2 {
			i[cause[0]] = cause[1]
		}
		return i
	}
	incidents = []map[string]any{
		inc("i1", "acme/api", "2026-11-05T10:00:00Z", "2026-11-05T11:30:00Z", "sha", "bad5"),
		inc("i2", "acme/api", "2026-11-08T13:00:00Z", "2026-11-08T15:00:00Z", "deployment_id", "d8"),
		inc("i3", "acme/api", "2026-11-09T00:00:00Z", "2026-11-09T00:30:00Z"),
		inc("i4", "acme/api", "2026-11-10T00:00:00Z", ""),
		inc("i5", "acme/api", "2026-10-31T22:00:00Z", "2026-11-01T02:00:00Z"),
		inc("i6", "acme/web", "2026-11-04T01:00:00Z", "2026-11-04T02:00:00Z", "sha", "w1sha"),
	}
	return deployments, incidents
}

const doraExpected = `{
	"since": "2026-11-01T00:00:00Z", "until": "2026-11-11T00:00:00Z",
	"repositories": [
		{"repo": "acme/api", "environment": "production", "deployments": 6, "failed_deployments": 3, "incidents": 4,
		 "deployment_frequency_per_day": 0.5, "lead_time_median_seconds": 21600, "lead_time_p90_seconds": 86400,
		 "change_failure_rate": 0.5, "time_to_restore_median_seconds": 6300},
		{"repo": "acme/web", "environment": "production", "deployments": 0, "failed_deployments": 0, "incidents": 1,
		 "deployment_frequency_per_day": 0, "lead_time_median_seconds": null, "lead_time_p90_seconds": null,
		 "change_failure_rate": null, "time_to_restore_median_seconds": 3600},
		{"repo": "acme/web", "environment": "staging", "deployments": 1, "failed_deployments": 0, "incidents": 0,
		 "deployment_frequency_per_day": 0.1, "lead_time_median_seconds": 86400, "lead_time_p90_seconds": 86400,
		 "change_failure_rate": 0, "time_to_restore_median_seconds": null}
	]}`

type doraAnswer struct {
	BatchID  string           `json:"batch_id"`
	Accepted int              `json:"accepted"`
	Rejected []map[string]any `json:"rejected"`
	Error    string           `json:"error"`
}

func postDORA(t *testing.T, url, key string, body any) (int, doraAnswer, time.Duration) {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	took := time.Since(start)
	require.NoError(t, err)
	defer resp.Body.Close()
	var a doraAnswer
	if resp.StatusCode == http.StatusOK {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
	}
	return resp.StatusCode, a, took
}

// TestDORAEndToEnd posts the hand-worked fixture in batches to hookflow dev
// and reads the report back through the CLI, before and after a restart,
// then prunes a mistaken upload.
func TestDORAEndToEnd(t *testing.T) {
	bin := hookflowBinary(t)
	gh := newFakeGitHub(t)
	dataDir := t.TempDir()
	h := startDev(t, bin, dataDir, gh.URL)

	var in struct{ ID, URL string }
	require.NoError(t, json.Unmarshal(h.cli(t, "integrations", "create", "--source", "dora", "--name", "ci", "--output", "json"), &in))
	var ci, pager struct{ Key string }
	require.NoError(t, json.Unmarshal(h.cli(t, "keys", "create", "--integration", in.ID, "--name", "ci", "--scope", "deployments", "--output", "json"), &ci))
	require.NoError(t, json.Unmarshal(h.cli(t, "keys", "create", "--integration", in.ID, "--name", "pager", "--scope", "incidents", "--output", "json"), &pager))

	deps, incs := doraFixture()
	// One invalid record among the deployments: named, the rest applied.
	withBad := append(append([]map[string]any{}, deps[:6]...), map[string]any{"deployment_id": "bad", "repo": "acme/api", "status": "shipped"})
	var took []time.Duration
	code, a, d := postDORA(t, in.URL, ci.Key, map[string]any{"deployments": withBad})
	took = append(took, d)
	require.Equal(t, 200, code)
	require.Equal(t, 6, a.Accepted)
	require.Len(t, a.Rejected, 1)
	require.Equal(t, float64(6), a.Rejected[0]["index"])
	require.Equal(t, "environment", a.Rejected[0]["field"])
	require.NotEmpty(t, a.Rejected[0]["hint"])
	code, again, _ := postDORA(t, in.URL, ci.Key, map[string]any{"deployments": withBad})
	require.Equal(t, 200, code)
	require.Equal(t, a.BatchID, again.BatchID, "an identical body: the same batch")

	code, _, d = postDORA(t, in.URL, ci.Key, map[string]any{"deployments": deps[6:]})
	took = append(took, d)
	require.Equal(t, 200, code)
	code, _, _ = postDORA(t, in.URL, ci.Key, map[string]any{"incidents": incs})
	require.Equal(t, 403, code, "the CI key has no incidents scope")
	code, a, d = postDORA(t, in.URL, pager.Key, map[string]any{"incidents": incs})
	took = append(took, d)
	require.Equal(t, 200, code)
	require.Equal(t, 6, a.Accepted)

	// 501 records: refused whole, nothing applied.
	var many []map[string]any
	for i := range 501 {
		many = append(many, map[string]any{"deployment_id": fmt.Sprintf("x%d", i), "repo": "acme/api", "environment": "production", "sha": "x",
			"status": "failure", "started_at": "2026-11-02T00:00:00Z", "finished_at": "2026-11-02T00:01:00Z"})
	}
	code, a, d = postDORA(t, in.URL, ci.Key, map[string]any{"deployments": many})
	took = append(took, d)
	require.Equal(t, 200, code)
	require.Zero(t, a.Accepted)
	require.Contains(t, a.Error, "more than 500")
	t.Logf("answer times: %v", took)

	report := func() string {
		return string(h.cli(t, "dora", "report", "--since", "2026-11-01T00:00:00Z", "--until", "2026-11-11T00:00:00Z", "--output", "json"))
	}
	require.Eventually(t, func() bool {
		var want, got any
		_ = json.Unmarshal([]byte(doraExpected), &want)
		_ = json.Unmarshal([]byte(report()), &got)
		return fmt.Sprint(want) == fmt.Sprint(got)
	}, 90*time.Second, 500*time.Millisecond, "the report matches the hand-worked metrics; last: %s", report())
	require.JSONEq(t, doraExpected, report())

	// A mistaken upload, then pruned by its batch: the metrics go back.
	oops := []map[string]any{{"deployment_id": "oops", "repo": "acme/api", "environment": "production", "sha": "o", "status": "failure",
		"started_at": "2026-11-02T00:00:00Z", "finished_at": "2026-11-02T00:01:00Z"}}
	code, a, _ = postDORA(t, in.URL, ci.Key, map[string]any{"deployments": oops})
	require.Equal(t, 200, code)
	require.Eventually(t, func() bool { return strings.Contains(report(), `"deployments":7`) }, 60*time.Second, 500*time.Millisecond)
	require.Contains(t, string(h.cli(t, "dora", "prune", "--batch", a.BatchID)), "removed 1 deployments")
	require.JSONEq(t, doraExpected, report())

	require.Empty(t, gh.compareRequests(), "every successful deployment of the fixture lists its commits")

	// A deployment without commits: its lead time comes from GitHub's
	// compare answer for the range from the previous success (q0, which
	// lists its own), once even when the CI sends it again.
	lead := []map[string]any{
		{"deployment_id": "q0", "repo": "acme/lead", "environment": "production", "sha": "q0sha", "status": "success",
			"started_at": "2026-11-30T11:50:00Z", "finished_at": "2026-11-30T12:00:00Z",
			"commits": []map[string]string{{"sha": "c-lead-0", "committed_at": "2026-11-30T11:00:00Z"}}},
		{"deployment_id": "q1", "repo": "acme/lead", "environment": "production", "sha": "q1sha", "status": "success",
			"started_at": "2026-12-02T11:50:00Z", "finished_at": "2026-12-02T12:00:00Z"},
	}
	code, _, _ = postDORA(t, in.URL, ci.Key, map[string]any{"deployments": lead})
	require.Equal(t, 200, code)
	leadReport := func() string {
		return string(h.cli(t, "dora", "report", "--repo", "acme/lead", "--since", "2026-12-01T00:00:00Z", "--until", "2026-12-11T00:00:00Z", "--output", "json"))
	}
	require.Eventually(t, func() bool { return strings.Contains(leadReport(), `"lead_time_median_seconds":10800`) },
		60*time.Second, 500*time.Millisecond, "q1 - c-lead-1 (committed 09:00) = 3 h; last: %s", leadReport())
	// The resend (finished later: 3.5 h now), then a failure: once the
	// failure shows, the workflow has handled the resend before it.
	resend := map[string]any{}
	for k, v := range lead[1] {
		resend[k] = v
	}
	resend["finished_at"] = "2026-12-02T12:30:00Z"
	code, _, _ = postDORA(t, in.URL, ci.Key, map[string]any{"deployments": []map[string]any{resend}})
	require.Equal(t, 200, code)
	code, _, _ = postDORA(t, in.URL, ci.Key, map[string]any{"deployments": []map[string]any{{"deployment_id": "q2", "repo": "acme/lead",
		"environment": "production", "sha": "q2sha", "status": "failure", "started_at": "2026-12-03T11:50:00Z", "finished_at": "2026-12-03T12:00:00Z"}}})
	require.Equal(t, 200, code)
	require.Eventually(t, func() bool {
		r := leadReport()
		return strings.Contains(r, `"deployments":2`) && strings.Contains(r, `"lead_time_median_seconds":12600`)
	}, 60*time.Second, 500*time.Millisecond, "last: %s", leadReport())
	require.Equal(t, []string{"/repos/acme/lead/compare/q0sha...q1sha?per_page=100"}, gh.compareRequests(), "asked once")
	require.Equal(t, "Bearer "+githubToken, gh.auth(), "the GitHub token, from the environment")

	// HOOKFLOW_RECORD_HISTORY_DORA=path writes the integration workflow's
	// history for the blueprint's replay test
	// (blueprints/dora/testdata/histories: batches-v0.json before commits
	// were resolved, batches-v1.json with the comparison above).
	if path := os.Getenv("HOOKFLOW_RECORD_HISTORY_DORA"); path != "" {
		tc, err := client.Dial(client.Options{HostPort: h.temporal})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		require.NoError(t, blueprinttest.WriteHistory(ctx, tc, "dora/"+in.ID, "", path))
		cancel()
		tc.Close()
	}

	// State survives a restart.
	h.stop(t)
	h = startDev(t, bin, dataDir, gh.URL)
	require.JSONEq(t, doraExpected, report())
	table := string(h.cli(t, "dora", "report", "--since", "2026-11-01T00:00:00Z", "--until", "2026-11-11T00:00:00Z"))
	require.Contains(t, table, "acme/api")
	for _, k := range []string{ci.Key, pager.Key, githubToken} {
		require.NotContains(t, h.logs(), k, "no key in the logs")
	}
}
