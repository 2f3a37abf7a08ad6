package dorabatch

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const goodDeployment = `{"deployment_id": "d-1", "repo": "acme/api", "environment": "production", "sha": "abc123",
	"status": "SUCCESS", "started_at": "2026-11-02T08:50:00Z", "finished_at": "2026-11-02T10:00:00.5+01:00",
	"commits": [{"sha": "c1", "committed_at": "2026-11-02T08:00:00Z"}], "url": "https://ci/d-1"}`

// seedRun is seed 003's example, as Middleware's maintainers wrote it.
const seedRun = `{"workflow_name":"custom_workflow","repo_names":["middleware"],"event_actor":"adnanhashmi09","head_branch":"master",
	"workflow_run_unique_id":"unique_item","status":"SUCCESS","duration":"200","workflow_run_conducted_at":"2024-09-28T20:35:45.123456+00:00"}`

const goodIncident = `{"incident_key": "pd-1", "provider": "pagerduty", "status": "Resolved", "title": "5xx",
	"creation_date": "2026-11-02T11:00:00Z", "acknowledged_date": null, "resolved_date": "2026-11-02T11:30:00Z",
	"repo": "acme/api", "deployment_id": "d-1"}`

func TestParseValidRecords(t *testing.T) {
	t.Parallel()
	b := Parse([]byte(`{"deployments": [` + goodDeployment + `], "workflow_runs": [` + seedRun + `], "incidents": [` + goodIncident + `]}`))
	require.Empty(t, b.Error)
	require.Empty(t, b.Rejected)
	require.Equal(t, 3, b.Accepted())

	d := b.Deployments[0]
	require.Equal(t, StatusSuccess, d.Status, "statuses are matched without regard to case")
	require.Equal(t, time.Date(2026, 11, 2, 9, 0, 0, 5e8, time.UTC), d.FinishedAt, "zones are honoured, fractions kept")
	require.Equal(t, []Commit{{SHA: "c1", CommittedAt: time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)}}, d.Commits)

	w := b.WorkflowRuns[0]
	require.Equal(t, []string{"middleware"}, w.RepoNames)
	require.Equal(t, 200.0, *w.Duration, `the seed's "200" is a duration`)
	require.Equal(t, StatusSuccess, w.Status)
	require.Equal(t, time.Date(2024, 9, 28, 20, 35, 45, 123456000, time.UTC), w.ConductedAt)

	in := b.Incidents[0]
	require.Equal(t, DefaultEnvironment, in.Environment)
	require.Equal(t, "d-1", in.CauseDeploymentID)
	require.True(t, in.AcknowledgedAt.IsZero())
	require.Equal(t, "resolved", in.Status)
}

func TestParseNamesEachInvalidRecord(t *testing.T) {
	t.Parallel()
	edit := func(rec string, kv ...string) string {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(rec), &m))
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "<delete>" {
				delete(m, kv[i])
				continue
			}
			var v any
			require.NoError(t, json.Unmarshal([]byte(kv[i+1]), &v), kv[i+1])
			m[kv[i]] = v
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	for _, c := range []struct {
		kind, rec, field, err string
	}{
		{KindDeployments, `"not an object"`, "", "the record is not a JSON object"},
		{KindDeployments, `[1, 2]`, "", "the record is not a JSON object"},
		{KindDeployments, `null`, "", "the record is not a JSON object"},
		{KindDeployments, edit(goodDeployment, "deployment_id", "<delete>"), "deployment_id", "missing"},
		{KindDeployments, edit(goodDeployment, "deployment_id", `"  "`), "deployment_id", "empty"},
		{KindDeployments, edit(goodDeployment, "deployment_id", `42`), "deployment_id", "not a string"},
		{KindDeployments, edit(goodDeployment, "repo", `null`), "repo", "missing"},
		{KindDeployments, edit(goodDeployment, "repo", `"`+strings.Repeat("r", 300)+`"`), "repo", "longer than 256 bytes"},
		{KindDeployments, edit(goodDeployment, "status", `"done"`), "status", `unknown status "done"`},
		{KindDeployments, edit(goodDeployment, "status", `true`), "status", "not a string"},
		{KindDeployments, edit(goodDeployment, "started_at", `"yesterday"`), "started_at", `not an RFC 3339 time: "yesterday"`},
		{KindDeployments, edit(goodDeployment, "started_at", `"2026-11-02 10:00:00"`), "started_at", `not an RFC 3339 time: "2026-11-02 10:00:00"`},
		{KindDeployments, edit(goodDeployment, "started_at", `1730000000`), "started_at", "not a string"},
		{KindDeployments, edit(goodDeployment, "finished_at", "<delete>"), "finished_at", "missing"},
		{KindDeployments, edit(goodDeployment, "status", `"in_progress"`, "started_at", "<delete>"), "started_at", "missing"},
		{KindDeployments, edit(goodDeployment, "finished_at", `"2026-11-01T00:00:00Z"`), "finished_at", "before started_at"},
		{KindDeployments, edit(goodDeployment, "commits", `{"sha": "x"}`), "commits", "not an array"},
		{KindDeployments, edit(goodDeployment, "commits", `["c1"]`), "commits[0]", "not an object"},
		{KindDeployments, edit(goodDeployment, "commits", `[{"sha": "c1", "committed_at": "2026-11-01T00:00:00Z"}, {"committed_at": "2026-11-01T00:00:00Z"}]`), "commits[1].sha", "missing"},
		{KindDeployments, edit(goodDeployment, "commits", `[{"sha": "c1", "committed_at": "2026-12-01T00:00:00Z"}]`), "commits[0].committed_at", "after the deployment's finished_at"},
		{KindDeployments, edit(goodDeployment, "url", `["x"]`), "url", "not a string"},
		{KindWorkflowRuns, edit(seedRun, "repo_names", `"middleware"`), "repo_names", "not an array of strings"},
		{KindWorkflowRuns, edit(seedRun, "repo_names", `[]`), "repo_names", "empty"},
		{KindWorkflowRuns, edit(seedRun, "repo_names", `[""]`), "repo_names", "a name is empty or too long"},
		{KindWorkflowRuns, edit(seedRun, "workflow_run_unique_id", "<delete>"), "workflow_run_unique_id", "missing"},
		{KindWorkflowRuns, edit(seedRun, "duration", `"two hundred"`), "duration", "not a number of seconds"},
		{KindWorkflowRuns, edit(seedRun, "duration", `-1`), "duration", "out of range"},
		{KindWorkflowRuns, edit(seedRun, "duration", `1e300`), "duration", "out of range"},
		{KindWorkflowRuns, edit(seedRun, "status", `"WEIRD"`), "status", `unknown status "WEIRD"`},
		{KindWorkflowRuns, edit(seedRun, "workflow_run_conducted_at", `"2024-09-28T20:35:45"`), "workflow_run_conducted_at", `not an RFC 3339 time: "2024-09-28T20:35:45"`},
		{KindIncidents, edit(goodIncident, "incident_key", "<delete>"), "incident_key", "missing"},
		{KindIncidents, edit(goodIncident, "repo", "<delete>"), "repo", "missing"},
		{KindIncidents, edit(goodIncident, "creation_date", `""`), "creation_date", "empty"},
		{KindIncidents, edit(goodIncident, "resolved_date", `"2026-11-02T10:00:00Z"`), "resolved_date", "before creation_date"},
		{KindIncidents, edit(goodIncident, "acknowledged_date", `"2026-11-02T10:00:00Z"`), "acknowledged_date", "before creation_date"},
	} {
		t.Run(c.kind+"/"+c.field+"/"+c.err, func(t *testing.T) {
			t.Parallel()
			good := map[string]string{KindDeployments: goodDeployment, KindWorkflowRuns: seedRun, KindIncidents: goodIncident}[c.kind]
			// The bad record between two good ones: it is named by its index, the others are kept.
			b := Parse([]byte(fmt.Sprintf(`{%q: [%s, %s, %s]}`, c.kind, good, c.rec, good)))
			require.Empty(t, b.Error)
			require.Equal(t, 2, b.Accepted())
			require.Len(t, b.Rejected, 1)
			r := b.Rejected[0]
			require.Equal(t, Rejection{Kind: c.kind, Index: 1, Field: c.field, Error: c.err, Hint: r.Hint}, r)
			require.NotEmpty(t, r.Hint, "every rejection says how to fix it")
		})
	}
}

func TestParseRefusesWholeBodies(t *testing.T) {
	t.Parallel()
	many := func(n int) string {
		recs := make([]string, n)
		for i := range recs {
			recs[i] = strings.Replace(goodDeployment, `"d-1"`, fmt.Sprintf(`"d-%d"`, i), 1)
		}
		return strings.Join(recs, ",")
	}
	for name, c := range map[string]struct{ body, err string }{
		"not json":       {`deployments=1`, "the body is not a JSON object"},
		"empty":          {``, "the body is not a JSON object"},
		"array":          {`[` + goodDeployment + `]`, "the body is not a JSON object"},
		"null":           {`null`, "the body is not a JSON object"},
		"two values":     {`{"deployments": []} {"incidents": []}`, "the body holds more than one JSON value"},
		"no known array": {`{"workflowRuns": [], "x": 1}`, `the body has no deployments, workflow_runs or incidents array (it has "workflowRuns", "x")`},
		"empty object":   {`{}`, "the body has no deployments, workflow_runs or incidents array"},
		"not an array":   {`{"deployments": {"deployment_id": "x"}}`, `"deployments" is not an array`},
		"501":            {`{"deployments": [` + many(501) + `]}`, "the body has 501 records, more than 500"},
		"501 together":   {`{"deployments": [` + many(300) + `], "incidents": [` + strings.Repeat(goodIncident+",", 200) + goodIncident + `]}`, "the body has 501 records, more than 500"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := Parse([]byte(c.body))
			require.Equal(t, c.err, b.Error)
			require.NotEmpty(t, b.Hint)
			require.Zero(t, b.Accepted(), "nothing is applied")
			a := b.Answer("batch_x")
			require.Equal(t, []Rejection{}, a.Rejected)
		})
	}
	b := Parse([]byte(`{"deployments": [` + many(500) + `]}`))
	require.Empty(t, b.Error)
	require.Equal(t, 500, b.Accepted())
}

func TestScopes(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{ScopeDeployments}, Scopes([]byte(`{"deployments": []}`)))
	require.Equal(t, []string{ScopeDeployments}, Scopes([]byte(`{"workflow_runs": [], "deployments": 1}`)))
	require.Equal(t, []string{ScopeDeployments, ScopeIncidents}, Scopes([]byte(`{"workflow_runs": [], "incidents": []}`)))
	require.Equal(t, []string{ScopeIncidents}, Scopes([]byte(`{"incidents": []}`)))
	require.Nil(t, Scopes([]byte(`nope`)))
	require.Nil(t, Scopes([]byte(`{"other": []}`)))
}

func TestAnswerIsDeterministic(t *testing.T) {
	t.Parallel()
	body := []byte(`{"deployments": [` + goodDeployment + `, {"repo": 1}], "incidents": [{}]}`)
	a, _ := json.Marshal(Parse(body).Answer("b"))
	for range 20 {
		again, _ := json.Marshal(Parse(body).Answer("b"))
		require.Equal(t, string(a), string(again))
	}
	require.JSONEq(t, `{"batch_id": "b", "accepted": 1, "rejected": [
		{"kind": "deployments", "index": 1, "field": "deployment_id", "error": "missing", "hint": "deployment_id is required: a string"},
		{"kind": "incidents", "index": 0, "field": "incident_key", "error": "missing", "hint": "incident_key is required: a string"}]}`, string(a))
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"deployments": [` + goodDeployment + `]}`))
	f.Add([]byte(`{"workflow_runs": [` + seedRun + `]}`))
	f.Add([]byte(`{"incidents": [` + goodIncident + `]}`))
	f.Add([]byte(`{"deployments": [{"commits": [{}]}], "incidents": null}`))
	f.Add([]byte(`{"workflow_runs": [{"duration": "1e400", "repo_names": [1]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b := Parse(body)
		if b.Error != "" && (b.Accepted() != 0 || len(b.Rejected) != 0) {
			t.Fatalf("a refused body applies nothing: %+v", b)
		}
		if b.Accepted()+len(b.Rejected) > MaxRecords {
			t.Fatalf("more than %d records", MaxRecords)
		}
		for _, r := range b.Rejected {
			if r.Error == "" || r.Hint == "" {
				t.Fatalf("a rejection without error or hint: %+v", r)
			}
		}
		for _, d := range b.Deployments {
			if d.DeploymentID == "" || d.Repo == "" || d.Environment == "" || d.Status == "" {
				t.Fatalf("an accepted deployment lacks a field: %+v", d)
			}
			if (d.Status == StatusSuccess || d.Status == StatusFailure) && d.FinishedAt.IsZero() {
				t.Fatalf("a finished deployment without finished_at: %+v", d)
			}
		}
		if _, err := json.Marshal(b.Answer("x")); err != nil {
			t.Fatal(err)
		}
		_ = Scopes(body)
	})
}
