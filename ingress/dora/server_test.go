package dora_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress"
	"github.com/hookflow/hookflow/ingress/apikeys"
	"github.com/hookflow/hookflow/ingress/dora"
	"github.com/hookflow/hookflow/ingress/dorametrics"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/internal/secretbox"
	"github.com/hookflow/hookflow/workflows"
)

type fixture struct {
	rejected *counts
	srv      *httptest.Server
	journal  *journal.SQLite
	keys     *apikeys.Store
	in       integrations.Integration
	logs     *bytes.Buffer
}

// newFixture is a real ingress over SQLite with one dora integration and
// a subscription that takes its batches, as the dora blueprint's does.
func newFixture(t *testing.T, options map[string]string) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "hookflow.db"))
	require.NoError(t, err)
	j, err := journal.OpenSQLite(ctx, db)
	require.NoError(t, err)
	box, err := secretbox.New(bytes.Repeat([]byte{1}, secretbox.KeySize))
	require.NoError(t, err)
	store, err := integrations.OpenStore(ctx, db, box)
	require.NoError(t, err)
	in, err := store.Create(ctx, integrations.Integration{Name: "ci", Source: dora.Name, Options: options})
	require.NoError(t, err)
	keys, err := apikeys.OpenStore(ctx, db)
	require.NoError(t, err)
	metrics, err := dorametrics.OpenStore(ctx, db)
	require.NoError(t, err)
	rejected := &counts{m: map[string]int{}}
	src := dora.Source{CheckKey: func(req *hook.Request, key string) ([]string, bool) {
		k, ok := keys.Check(req.Context, req.IntegrationID, key)
		return k.Scopes, ok
	}, Rejected: rejected.add}
	router := workflows.NewRouter(workflows.Subscription{Blueprint: "dora", Workflow: "dora.Workflow", TaskQueue: "q",
		Route: func(ev workflows.Event) string {
			if ev.Source == dora.Name && ev.Type == dora.TypeBatch {
				return "dora/" + ev.Integration
			}
			return ""
		}})
	logs := &bytes.Buffer{}
	s, err := ingress.New(ingress.Config{Journal: j, Integrations: store, APIKeys: keys, Router: router,
		Sources: map[string]hook.Source{dora.Name: src}, Logger: slog.New(slog.NewJSONHandler(logs, nil)), AdminToken: "admin-token-123",
		WorkerToken: "worker-token-456", DORA: metrics})
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	t.Cleanup(func() { srv.Close(); j.Close(); db.Close() })
	return &fixture{srv: srv, journal: j, keys: keys, in: in, logs: logs, rejected: rejected}
}

// counts records the source's Rejected calls.
type counts struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counts) add(integration, kind string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[integration+"/"+kind] += n
}

func (c *counts) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}

func (f *fixture) key(t *testing.T, ttl time.Duration, scopes ...string) (apikeys.Key, string) {
	t.Helper()
	k, secret, err := f.keys.CreateScoped(context.Background(), f.in.ID, "ci", ttl, scopes)
	require.NoError(t, err)
	return k, secret
}

type answer struct {
	BatchID  string `json:"batch_id"`
	Accepted int    `json:"accepted"`
	Rejected []struct {
		Kind  string `json:"kind"`
		Index int    `json:"index"`
		Field string `json:"field"`
		Error string `json:"error"`
		Hint  string `json:"hint"`
	} `json:"rejected"`
	Error string `json:"error"`
	// A transport refusal's body.
	Refusal *hook.Error `json:"-"`
}

func (f *fixture) post(t *testing.T, key, contentType string, body []byte) (int, answer, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/hooks/"+f.in.Path, bytes.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var a answer
	if resp.StatusCode == http.StatusOK {
		require.NoError(t, json.Unmarshal(raw, &a), string(raw))
	}
	return resp.StatusCode, a, string(raw)
}

func deployment(i int) string {
	return fmt.Sprintf(`{"deployment_id": "d-%d", "repo": "acme/api", "environment": "production", "sha": "s%d", "status": "success",
		"started_at": "2026-11-02T09:00:00Z", "finished_at": "2026-11-02T10:00:00Z", "commits": [{"sha": "c%d", "committed_at": "2026-11-02T08:00:00Z"}]}`, i, i, i)
}

func records(n int) string {
	recs := make([]string, n)
	for i := range recs {
		recs[i] = deployment(i)
	}
	return strings.Join(recs, ",")
}

func TestBatchesOfUpTo500(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	_, key := f.key(t, 0, "deployments")
	ctx := context.Background()

	body := []byte(`{"deployments": [` + records(500) + `]}`)
	code, a, raw := f.post(t, key, "application/json", body)
	require.Equal(t, 200, code, raw)
	require.Equal(t, 500, a.Accepted)
	require.Empty(t, a.Rejected)
	require.Equal(t, dora.BatchID(body), a.BatchID)
	require.Contains(t, raw, `"rejected":[]`, "rejected is a list, even empty")

	code, again, _ := f.post(t, key, "application/json", body)
	require.Equal(t, 200, code)
	require.Equal(t, a, again, "an identical body answers the same batch_id")

	over := []byte(`{"deployments": [` + records(501) + `]}`)
	code, a, raw = f.post(t, key, "application/json", over)
	require.Equal(t, 200, code, raw)
	require.Zero(t, a.Accepted)
	require.Equal(t, "the body has 501 records, more than 500", a.Error)

	accepted, err := f.journal.List(ctx, journal.Filter{Status: journal.Accepted})
	require.NoError(t, err)
	require.Len(t, accepted, 1, "the resend is one delivery, the 501 none to apply")
	require.Equal(t, []string{"dora/" + f.in.ID}, accepted[0].WorkflowIDs)
	require.Equal(t, "500", accepted[0].Event.Meta[dora.MetaAccepted])

	ignored, err := f.journal.List(ctx, journal.Filter{Status: journal.Ignored})
	require.NoError(t, err)
	require.Len(t, ignored, 1)
	full, err := f.journal.Get(ctx, ignored[0].Event.Seq)
	require.NoError(t, err)
	require.Equal(t, dora.TypeRejected, full.Event.Type)
	require.Equal(t, "the body has 501 records, more than 500", full.Event.Meta[dora.MetaError])
	require.Equal(t, string(over), string(full.Event.Payload), "an erroneous request is kept whole")
}

func TestMixedRecordsAreNamed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	_, key := f.key(t, 0) // every scope
	body := []byte(`{"deployments": [` + deployment(0) + `, {"deployment_id": "d-1", "repo": "acme/api"}, 7],
		"incidents": [{"incident_key": "i-1", "repo": "acme/api", "creation_date": "2026-11-02T10:00:00Z"},
		              {"incident_key": "i-2", "repo": "acme/api", "creation_date": "tomorrow"}]}`)
	start := time.Now()
	code, a, raw := f.post(t, key, "application/json", body)
	t.Logf("answered in %v", time.Since(start))
	require.Equal(t, 200, code, raw)
	require.Equal(t, 2, a.Accepted)
	require.Len(t, a.Rejected, 3)
	require.Equal(t, "deployments", a.Rejected[0].Kind)
	require.Equal(t, 1, a.Rejected[0].Index)
	require.Equal(t, "environment", a.Rejected[0].Field)
	require.Equal(t, 2, a.Rejected[1].Index)
	require.Equal(t, "", a.Rejected[1].Field)
	require.Equal(t, "incidents", a.Rejected[2].Kind)
	require.Equal(t, "creation_date", a.Rejected[2].Field)
	for _, r := range a.Rejected {
		require.NotEmpty(t, r.Hint)
	}
	require.Equal(t, 2, f.rejected.get(f.in.ID+"/deployments"))
	require.Equal(t, 1, f.rejected.get(f.in.ID+"/incidents"))
	code, _, _ = f.post(t, key, "application/json", body)
	require.Equal(t, 200, code)
	require.Equal(t, 2, f.rejected.get(f.in.ID+"/deployments"), "a resend is not counted again")
	accepted, err := f.journal.List(context.Background(), journal.Filter{Status: journal.Accepted})
	require.NoError(t, err)
	require.Len(t, accepted, 1)
	require.Equal(t, map[string]string{"accepted": "2", "rejected": "3"}, accepted[0].Event.Meta)
}

func TestBodiesThatAreNotBatches(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	_, key := f.key(t, 0)
	t.Run("answers", func(t *testing.T) {
		for name, c := range map[string]struct {
			contentType, body, err string
		}{
			"not json":        {"text/plain", "deployment_id=1\x00\xff", "the body is not a JSON object"},
			"no content type": {"", `{"runs": []}`, `the body has no deployments, workflow_runs or incidents array (it has "runs")`},
			"wrong type":      {"application/json", `{"incidents": "i-1"}`, `"incidents" is not an array`},
			"empty":           {"application/json", ``, "the body is not a JSON object"},
		} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				code, a, raw := f.post(t, key, c.contentType, []byte(c.body))
				require.Equal(t, 200, code, raw)
				require.Zero(t, a.Accepted)
				require.Equal(t, c.err, a.Error)
				require.Equal(t, dora.BatchID([]byte(c.body)), a.BatchID)
			})
		}
	})
	// The body that is not JSON is kept whole, base64 in a JSON payload.
	ignored, err := f.journal.List(context.Background(), journal.Filter{Status: journal.Ignored, Limit: 10})
	require.NoError(t, err)
	require.Len(t, ignored, 4)
	found := false
	for _, e := range ignored {
		full, err := f.journal.Get(context.Background(), e.Event.Seq)
		require.NoError(t, err)
		var p map[string]string
		if json.Unmarshal(full.Event.Payload, &p) == nil && p[dora.UnparsedKey] != "" {
			found = true
			require.Equal(t, "ZGVwbG95bWVudF9pZD0xAP8=", p[dora.UnparsedKey])
		}
	}
	require.True(t, found)
}

func TestTransportProblemsKeepTheirCodes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, map[string]string{ingress.OptionMaxBodyBytes: "4096"})
	ctx := context.Background()
	_, deployKey := f.key(t, 0, "deployments")
	_, pagerKey := f.key(t, 0, "incidents")
	revoked, revokedKey := f.key(t, 0)
	require.NoError(t, f.keys.Revoke(ctx, revoked.ID))
	_, expiringKey := f.key(t, time.Second)
	_, otherKey, err := f.keys.CreateScoped(ctx, "int_other", "x", 0, nil)
	require.NoError(t, err)

	deps := []byte(`{"deployments": [` + deployment(1) + `]}`)
	incs := []byte(`{"incidents": [{"incident_key": "i-1", "repo": "acme/api", "creation_date": "2026-11-02T10:00:00Z"}]}`)
	both := []byte(`{"deployments": [` + deployment(2) + `], "incidents": []}`)

	code, _, _ := f.post(t, deployKey, "application/json", deps)
	require.Equal(t, 200, code)
	code, _, _ = f.post(t, pagerKey, "application/json", incs)
	require.Equal(t, 200, code)
	code, _, raw := f.post(t, pagerKey, "application/json", deps)
	require.Equal(t, 403, code, raw)
	require.Contains(t, raw, "deployments scope")
	code, _, raw = f.post(t, deployKey, "application/json", both)
	require.Equal(t, 403, code, "every array sent needs its scope: "+raw)
	code, _, _ = f.post(t, "", "application/json", deps)
	require.Equal(t, 401, code)
	code, _, _ = f.post(t, deployKey+"x", "application/json", deps)
	require.Equal(t, 401, code)
	code, _, _ = f.post(t, revokedKey, "application/json", deps)
	require.Equal(t, 401, code, "revoked")
	code, _, _ = f.post(t, otherKey, "application/json", deps)
	require.Equal(t, 401, code, "another integration's key")
	code, _, _ = f.post(t, "hfk_"+strings.Repeat("A", 43), "application/json", deps)
	require.Equal(t, 401, code)
	big := []byte(`{"deployments": [` + records(40) + `]}`)
	code, _, raw = f.post(t, deployKey, "application/json", big)
	require.Equal(t, 413, code, raw)

	// X-API-Key works too.
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/hooks/"+f.in.Path, bytes.NewReader(incs))
	req.Header.Set("X-API-Key", pagerKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)

	time.Sleep(2100 * time.Millisecond)
	code, _, _ = f.post(t, expiringKey, "application/json", deps)
	require.Equal(t, 401, code, "expired")

	for _, k := range []string{deployKey, pagerKey, revokedKey, expiringKey} {
		require.NotContains(t, f.logs.String(), k, "no key in the logs")
	}
	rejected, err := f.journal.List(ctx, journal.Filter{Status: journal.Rejected})
	require.NoError(t, err)
	require.NotEmpty(t, rejected, "refusals are journaled")
	for _, e := range rejected {
		for _, k := range []string{deployKey, pagerKey, revokedKey, expiringKey} {
			require.NotContains(t, e.Reason, k)
		}
	}
}

func (f *fixture) admin(t *testing.T, token, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, f.srv.URL+"/admin/v1"+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if out != nil && resp.StatusCode < 300 {
		require.NoError(t, json.Unmarshal(raw, out), string(raw))
	}
	return resp.StatusCode
}

// The path a batch takes once journaled: the blueprint's activity applies
// it through the admin API with the worker token; the report and prune
// read and change what it wrote.
func TestApplyReportPrune(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	_, key := f.key(t, 0)
	body := []byte(`{"deployments": [` + deployment(1) + `, ` + deployment(2) + `, {"deployment_id": "bad"}],
		"incidents": [{"incident_key": "i-1", "repo": "acme/api", "creation_date": "2026-11-02T11:00:00Z", "resolved_date": "2026-11-02T11:10:00Z", "deployment_id": "d-2"}]}`)
	code, a, _ := f.post(t, key, "application/json", body)
	require.Equal(t, 200, code)
	require.Equal(t, 3, a.Accepted)

	apply := ingress.ApplyDORARequest{BatchID: a.BatchID, Payload: body}
	require.Equal(t, 401, f.admin(t, "nope", "POST", "/dora/apply", apply, nil))
	var res ingress.ApplyDORAResult
	for range 2 { // a retried activity writes the same rows
		require.Equal(t, 200, f.admin(t, "worker-token-456", "POST", "/dora/apply", apply, &res))
		require.Equal(t, ingress.ApplyDORAResult{Deployments: 2, Incidents: 1, Rejected: 1}, res)
	}
	accepted, err := f.journal.List(context.Background(), journal.Filter{Status: journal.Accepted})
	require.NoError(t, err)
	apply = ingress.ApplyDORARequest{BatchID: a.BatchID, PayloadRef: journal.PayloadRef(accepted[0].Event.Seq)}
	require.Equal(t, 200, f.admin(t, "worker-token-456", "POST", "/dora/apply", apply, &res), "a payload held by reference is read from the journal")
	require.Equal(t, 404, f.admin(t, "worker-token-456", "POST", "/dora/apply", ingress.ApplyDORARequest{BatchID: "x", PayloadRef: "journal/999"}, nil))

	window := "?since=2026-11-01T00:00:00Z&until=2026-11-11T00:00:00Z"
	require.Equal(t, 401, f.admin(t, "worker-token-456", "GET", "/dora/report"+window, nil, nil), "the worker token only applies")
	var rep dorametrics.Report
	require.Equal(t, 200, f.admin(t, "admin-token-123", "GET", "/dora/report"+window, nil, &rep))
	require.Len(t, rep.Repositories, 1)
	m := rep.Repositories[0]
	require.Equal(t, 2, m.Deployments)
	require.Equal(t, 1, m.FailedDeployments)
	require.Equal(t, 0.2, m.DeploymentFrequencyPerDay)
	require.Equal(t, 7200.0, *m.LeadTimeMedianSeconds)
	require.Equal(t, 600.0, *m.TimeToRestoreMedianSeconds)
	require.Equal(t, 400, f.admin(t, "admin-token-123", "GET", "/dora/report?since=2026-11-11T00:00:00Z&until=2026-11-01T00:00:00Z", nil, nil))
	require.Equal(t, 400, f.admin(t, "admin-token-123", "GET", "/dora/report?since=30d", nil, nil))

	var p dorametrics.Pruned
	require.Equal(t, 400, f.admin(t, "admin-token-123", "POST", "/dora/prune", ingress.PruneDORARequest{}, nil))
	require.Equal(t, 200, f.admin(t, "admin-token-123", "POST", "/dora/prune", ingress.PruneDORARequest{Batch: a.BatchID}, &p))
	require.Equal(t, dorametrics.Pruned{Deployments: 2, Incidents: 1}, p)
	require.Equal(t, 200, f.admin(t, "admin-token-123", "GET", "/dora/report"+window, nil, &rep))
	require.Empty(t, rep.Repositories, "the metrics reflect the prune")
}
