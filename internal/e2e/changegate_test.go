package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hookflow/hookflow/blueprints/changegate"
)

// gateFakes are GitHub's protection rule callback, ServiceNow's Table API
// over change_request and HEC's event endpoint, recording every request.
type gateFakes struct {
	mu       sync.Mutex
	reviews  []string
	ghAuth   []string
	changes  map[string]map[string]string
	creates  int
	hec      []string
	requests []string
	gh, sn   *httptest.Server
	splunk   *httptest.Server
}

func newGateFakes(t *testing.T) *gateFakes {
	f := &gateFakes{changes: map[string]map[string]string{}}
	reply := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	}
	f.gh = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.requests = append(f.requests, "github "+r.Method+" "+r.URL.Path)
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/deployment_protection_rule") {
			f.reviews = append(f.reviews, string(b))
			f.ghAuth = append(f.ghAuth, r.Header.Get("Authorization"))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		reply(w, 404, map[string]string{"message": "Not Found"})
	}))
	t.Cleanup(f.gh.Close)
	f.sn = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.requests = append(f.requests, "servicenow "+r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
		rest, _ := strings.CutPrefix(r.URL.Path, "/api/now/table/")
		table, sysID, _ := strings.Cut(rest, "/")
		switch {
		case table == "change_request" && r.Method == http.MethodGet && sysID == "":
			q := strings.TrimPrefix(r.URL.Query().Get("sysparm_query"), "correlation_id=")
			out := []map[string]string{}
			for _, c := range f.changes {
				if c["correlation_id"] == q {
					out = append(out, c)
				}
			}
			reply(w, 200, map[string]any{"result": out})
		case table == "change_request" && r.Method == http.MethodGet:
			reply(w, 200, map[string]any{"result": f.changes[sysID]})
		case table == "change_request" && r.Method == http.MethodPost:
			var c map[string]string
			_ = json.Unmarshal(b, &c)
			f.creates++
			c["sys_id"], c["number"], c["approval"], c["state"] = fmt.Sprintf("%032x", f.creates), fmt.Sprintf("CHG%07d", 30041+f.creates), "requested", "-4"
			f.changes[c["sys_id"]] = c
			reply(w, 201, map[string]any{"result": c})
		case table == "change_request" && r.Method == http.MethodPatch:
			var fields map[string]string
			_ = json.Unmarshal(b, &fields)
			for k, v := range fields {
				f.changes[sysID][k] = v
			}
			reply(w, 200, map[string]any{"result": f.changes[sysID]})
		case table == "sys_journal_field":
			reply(w, 200, map[string]any{"result": []any{}})
		default:
			reply(w, 400, map[string]any{"error": map[string]string{"message": "unsupported"}})
		}
	}))
	t.Cleanup(f.sn.Close)
	f.splunk = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.hec = append(f.hec, string(b))
		f.mu.Unlock()
		reply(w, 200, map[string]any{"text": "Success", "code": 0})
	}))
	t.Cleanup(f.splunk.Close)
	return f
}

func (f *gateFakes) snapshot() (reviews []string, creates int, hec string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reviews...), f.creates, strings.Join(f.hec, "\n")
}

// changegateBody is a recorded delivery of blueprints/changegate/testdata.
func changegateBody(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "blueprints", "changegate", "testdata", name))
	require.NoError(t, err)
	_, body, ok := bytes.Cut(raw, []byte("\n\n"))
	require.True(t, ok)
	return body
}

func postServiceNow(t *testing.T, url, token, delivery string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hookflow-Token", token)
	req.Header.Set("X-ServiceNow-Delivery", delivery)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestChangegateEndToEnd: under the real `hookflow dev`, a signed
// deployment_protection_rule delivery opens exactly one change carrying
// the workflow ID, a signed ServiceNow approval delivered twice reaches the
// same workflow, and the fake GitHub receives exactly one approval.
func TestChangegateEndToEnd(t *testing.T) {
	bin := hookflowBinary(t)
	f := newGateFakes(t)
	dataDir := t.TempDir()
	for system, cred := range map[string]string{"servicenow": "hookflow.integration:e2e-pw", "splunk": "e2e-hec-token"} {
		cmd := exec.Command(bin, "--data-dir", dataDir, "tokens", "put", "--system", system, "--stdin")
		cmd.Stdin = strings.NewReader(cred)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, string(out))
	}
	h := startDev(t, bin, dataDir, f.gh.URL, "--servicenow-url", f.sn.URL+"/", "--splunk-hec-url", f.splunk.URL+"/")

	var gh, sn struct{ ID, URL, Secret string }
	require.NoError(t, json.Unmarshal(h.cli(t, "integrations", "create", "--source", "github", "--name", "gh", "--output", "json"), &gh))
	require.NoError(t, json.Unmarshal(h.cli(t, "integrations", "create", "--source", "servicenow", "--name", "snow", "--output", "json"), &sn))

	const wfID = "changegate/github.com/octo-org/example/deployment/1145432"
	rule := bytes.ReplaceAll(changegateBody(t, "deployment_protection_rule.requested.http"), []byte("https://api.github.com/"), []byte(f.gh.URL+"/"))
	code, body := post(t, gh.URL, gh.Secret, "deployment_protection_rule", "e2e-rule", rule)
	require.Equal(t, http.StatusAccepted, code, body)

	require.Eventually(t, func() bool { _, n, _ := f.snapshot(); return n == 1 }, 90*time.Second, 200*time.Millisecond, "the change is opened\n%s", h.logs())
	f.mu.Lock()
	var change map[string]string
	for _, c := range f.changes {
		change = c
	}
	f.mu.Unlock()
	require.Equal(t, wfID, change["correlation_id"])

	approval := bytes.ReplaceAll(changegateBody(t, "change_request.approved.http"), []byte("8f3c2a1b47d31110a1b2c3d4e5f60718"), []byte(change["sys_id"]))
	code, body = postServiceNow(t, sn.URL, sn.Secret, change["sys_id"]+":4", approval)
	require.Equal(t, http.StatusAccepted, code, body)
	code, body = postServiceNow(t, sn.URL, sn.Secret, change["sys_id"]+":4", approval)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"duplicate"`)
	// The same decision in a later version of the record: a new delivery,
	// routed to the same workflow, which has decided already.
	later := bytes.ReplaceAll(approval, []byte(`"sys_mod_count":"4"`), []byte(`"sys_mod_count":"5"`))
	code, body = postServiceNow(t, sn.URL, sn.Secret, change["sys_id"]+":5", later)
	require.Equal(t, http.StatusAccepted, code, body)

	require.Eventually(t, func() bool { r, _, _ := f.snapshot(); return len(r) >= 1 }, 60*time.Second, 200*time.Millisecond, "GitHub is answered\n%s", h.logs())
	time.Sleep(3 * time.Second) // room for a second answer, which must not come
	reviews, creates, _ := f.snapshot()
	require.Len(t, reviews, 1, "exactly one approval")
	require.JSONEq(t, `{"environment_name":"production","state":"approved","comment":"Change CHG0030042 approved by alice.approver (servicenow)."}`, reviews[0])
	require.Equal(t, 1, creates)
	f.mu.Lock()
	require.Equal(t, "Bearer "+githubToken, f.ghAuth[0])
	f.mu.Unlock()

	// The deployment succeeds: the change is closed and the workflow ends.
	status := bytes.ReplaceAll(changegateBody(t, "deployment_status.success.http"), []byte("https://api.github.com/"), []byte(f.gh.URL+"/"))
	code, body = post(t, gh.URL, gh.Secret, "deployment_status", "e2e-status", status)
	require.Equal(t, http.StatusAccepted, code, body)

	tc, err := client.Dial(client.Options{HostPort: h.temporal})
	require.NoError(t, err)
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out changegate.Output
	require.NoError(t, tc.GetWorkflow(ctx, wfID, "").Get(ctx, &out), h.logs())
	require.Equal(t, changegate.PhaseClosed, out.Phase)
	require.Equal(t, "alice.approver", out.Decision.Actor)
	require.Equal(t, "success", out.Deployed)
	f.mu.Lock()
	require.Equal(t, "successful", f.changes[change["sys_id"]]["close_code"])
	f.mu.Unlock()

	// A late deployment_status and a late approval after the gate finished
	// start nothing: journaled, then ignored as "entity finished".
	code, body = post(t, gh.URL, gh.Secret, "deployment_status", "e2e-status-late", status)
	require.Equal(t, http.StatusAccepted, code, body)
	code, body = postServiceNow(t, sn.URL, sn.Secret, change["sys_id"]+":9", bytes.ReplaceAll(approval, []byte(`"sys_mod_count":"4"`), []byte(`"sys_mod_count":"9"`)))
	require.Equal(t, http.StatusAccepted, code, body)
	require.Eventually(t, func() bool {
		list := string(h.cli(t, "deliveries", "list", "--status", "ignored", "--output", "json"))
		return strings.Count(list, "entity finished") >= 2
	}, 60*time.Second, 500*time.Millisecond, "late events are ignored")
	reviews, creates, _ = f.snapshot()
	require.Equal(t, 1, creates, "no second change")
	require.Len(t, reviews, 1)

	_, _, hec := f.snapshot()
	for _, action := range []string{`"action":"opened"`, `"action":"approved"`, `"action":"deployed"`, `"action":"closed"`} {
		require.Contains(t, hec, action)
	}

	iter := tc.GetWorkflowHistory(ctx, wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var recorded historypb.History
	var hist bytes.Buffer
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		recorded.Events = append(recorded.Events, ev)
		b, _ := json.Marshal(ev)
		hist.Write(b)
	}
	for _, secret := range []string{githubToken, gh.Secret, sn.Secret, "e2e-pw", "e2e-hec-token"} {
		require.NotContains(t, hist.String(), secret, "no secret in the history")
		require.NotContains(t, h.logs(), secret, "no secret in the logs")
	}
	// HOOKFLOW_RECORD_HISTORY=path writes this history for changegate's
	// replay test (blueprints/changegate/testdata/histories).
	if path := os.Getenv("HOOKFLOW_RECORD_HISTORY"); path != "" {
		b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&recorded)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, b, 0o644))
	}

	// Break glass on a second deployment: the CLI journals the decision
	// through the admin API and GitHub is answered with its actor.
	const wfID2 = "changegate/github.com/octo-org/example/deployment/1145434"
	rule2 := bytes.ReplaceAll(rule, []byte("1145432"), []byte("1145434"))
	code, body = post(t, gh.URL, gh.Secret, "deployment_protection_rule", "e2e-rule-2", rule2)
	require.Equal(t, http.StatusAccepted, code, body)
	require.Eventually(t, func() bool { _, n, _ := f.snapshot(); return n == 2 }, 60*time.Second, 200*time.Millisecond, "the second change is opened")
	var bg changegate.EventAnswer
	require.NoError(t, json.Unmarshal(h.cli(t, "--output", "json", "changegate", "approve", wfID2, "--reason", "INC0012345 outage fix", "--actor", "dana.oncall", "--temporal-address", h.temporal), &bg))
	require.True(t, strings.HasPrefix(bg.DeliveryID, "admin-"), bg.DeliveryID)
	require.Equal(t, []string{wfID2}, bg.WorkflowIDs)
	require.Eventually(t, func() bool { r, _, _ := f.snapshot(); return len(r) == 2 }, 60*time.Second, 200*time.Millisecond, "break glass answers GitHub")
	reviews, _, _ = f.snapshot()
	require.Contains(t, reviews[1], "approved by dana.oncall (break_glass)")
	for _, args := range [][]string{
		{"changegate", "approve", "changegate/github.com/octo-org/example/pr/1", "--reason", "x", "--actor", "y"},
		{"changegate", "reject", wfID2, "--actor", "y"},
		{"changegate", "reject", wfID2, "--reason", "x"},
		{"changegate", "reject", "changegate/github.com/octo-org/other/deployment/9", "--reason", "x", "--actor", "y", "--temporal-address", h.temporal},
		{"changegate", "reject", wfID, "--reason", "x", "--actor", "y", "--temporal-address", h.temporal},
	} {
		cmd := exec.Command(bin, append([]string{"--data-dir", dataDir, "--server", h.ingressURL}, args...)...)
		out, err := cmd.CombinedOutput()
		require.Error(t, err, "%v: %s", args, out)
		require.Contains(t, string(out), "changegate", string(out))
		t.Logf("hookflow %s: %s", strings.Join(args[:2], " "), out)
	}

	// With Temporal unreachable from the CLI, the decision is journaled all
	// the same; the gate, approved already, records it as ignored.
	var late changegate.EventAnswer
	require.NoError(t, json.Unmarshal(h.cli(t, "--output", "json", "changegate", "reject", wfID2, "--reason", "too late", "--actor", "erin", "--temporal-address", "127.0.0.1:1"), &late))
	require.NotEqual(t, bg.DeliveryID, late.DeliveryID)
	require.Eventually(t, func() bool { _, _, hec := f.snapshot(); return strings.Contains(hec, `"action":"break_glass_ignored"`) }, 60*time.Second, 200*time.Millisecond, "break glass ignored: not waiting")

	// The audit of the entity lists the steps.
	audit := string(h.cli(t, "--output", "json", "audit", wfID, "--temporal-address", h.temporal))
	var steps []struct {
		Time   time.Time `json:"time"`
		Step   string    `json:"step"`
		Actor  string    `json:"actor"`
		Detail string    `json:"detail"`
	}
	require.NoError(t, json.Unmarshal([]byte(audit), &steps), audit)
	var stepsSeen []string
	for _, s := range steps {
		if strings.HasPrefix(s.Step, "record.") {
			require.False(t, s.Time.IsZero())
			stepsSeen = append(stepsSeen, s.Step+" by "+s.Actor)
		}
	}
	require.Equal(t, []string{"record.changegate.opened by octocat", "record.changegate.approved by alice.approver",
		"record.changegate.deployed by octocat", "record.changegate.closed by changegate"}, stepsSeen, audit)
	h.stop(t)
}
