package changegate_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// The fakes below are built from the vendors' API descriptions, not from
// our clients: they answer what the documented endpoints answer, keep the
// state those endpoints change, and record every request.

// call is one request a fake received.
type call struct {
	Method string
	Path   string
	Query  string
	Auth   string
	Body   []byte
}

type recorder struct {
	mu    sync.Mutex
	calls []call
}

func (r *recorder) record(req *http.Request) []byte {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.calls = append(r.calls, call{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, Auth: req.Header.Get("Authorization"), Body: body})
	r.mu.Unlock()
	return body
}

func (r *recorder) find(method, pathPart string) []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []call
	for _, c := range r.calls {
		if c.Method == method && strings.Contains(c.Path, pathPart) {
			out = append(out, c)
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fakeGitHub is the REST API's deployment protection rule callback
// (POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule,
// 204), deployment statuses (POST .../deployments/{id}/statuses, 201) and
// issue comments (GET and POST .../issues/{n}/comments).
type fakeGitHub struct {
	recorder
	URL      string
	comments map[string][]map[string]any
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	f := &fakeGitHub{comments: map[string][]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /repos/{owner}/{repo}/actions/runs/{run}/deployment_protection_rule", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			EnvironmentName string `json:"environment_name"`
			State           string `json:"state"`
		}
		if json.Unmarshal(f.record(r), &b) != nil || b.EnvironmentName == "" || (b.State != "approved" && b.State != "rejected") {
			writeJSON(w, 422, map[string]string{"message": "Validation Failed"})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /repos/{owner}/{repo}/deployments/{id}/statuses", func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		_ = json.Unmarshal(f.record(r), &b)
		writeJSON(w, 201, map[string]any{"id": len(f.find("POST", "/statuses")), "state": b["state"]})
	})
	mux.HandleFunc("GET /repos/{owner}/{repo}/issues/{n}/comments", func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		f.mu.Lock()
		list := append([]map[string]any{}, f.comments[r.URL.Path]...)
		f.mu.Unlock()
		writeJSON(w, 200, list)
	})
	mux.HandleFunc("POST /repos/{owner}/{repo}/issues/{n}/comments", func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		_ = json.Unmarshal(f.record(r), &b)
		f.mu.Lock()
		c := map[string]any{"id": len(f.comments[r.URL.Path]) + 1, "body": b["body"], "html_url": "https://github.com/x"}
		f.comments[r.URL.Path] = append(f.comments[r.URL.Path], c)
		f.mu.Unlock()
		writeJSON(w, 201, c)
	})
	// The environment's deployments, newest first: this one, then the last
	// successful one.
	mux.HandleFunc("GET /repos/{owner}/{repo}/deployments", func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		writeJSON(w, 200, []map[string]any{
			{"id": 1145432, "sha": "9049f1265b7d61be4a8904a9a27120d2064dab3b", "environment": r.URL.Query().Get("environment")},
			{"id": 1145001, "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e", "environment": r.URL.Query().Get("environment")},
		})
	})
	mux.HandleFunc("GET /repos/{owner}/{repo}/deployments/{id}/statuses", func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		writeJSON(w, 200, []map[string]any{{"id": 1, "state": "success"}})
	})
	mux.HandleFunc("GET /repos/{owner}/{repo}/compare/{basehead}", func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		if r.PathValue("basehead") != "6dcb09b5b57875f334f61aebed695e2e4193db5e...9049f1265b7d61be4a8904a9a27120d2064dab3b" {
			writeJSON(w, 404, map[string]string{"message": "Not Found"})
			return
		}
		writeJSON(w, 200, map[string]any{"total_commits": 2, "commits": []map[string]any{
			{"sha": "1111111aaaaaaa", "commit": map[string]any{"message": "PAY-118: retry the gateway (#41)", "author": map[string]string{"name": "Mona"}}, "author": map[string]string{"login": "mona"}},
			{"sha": "2222222bbbbbbb", "commit": map[string]any{"message": "Merge pull request #42 from octo-org/feature\n\nOPS-7 rollout", "author": map[string]string{"name": "Octocat"}}, "author": map[string]string{"login": "octocat"}},
		}})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		writeJSON(w, 404, map[string]string{"message": "Not Found"})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// reviews returns the protection rule answers, as "state: comment".
func (f *fakeGitHub) reviews() []string {
	var out []string
	for _, c := range f.find("POST", "/deployment_protection_rule") {
		var b map[string]string
		_ = json.Unmarshal(c.Body, &b)
		out = append(out, b["state"]+": "+b["comment"])
	}
	return out
}

// fakeServiceNow is the Table API (GET, POST and PATCH on
// /api/now/table/{table}[/{sys_id}], answers wrapped in "result", an
// encoded query in sysparm_query) over change_request and
// sys_journal_field, the table work notes are kept in.
type fakeServiceNow struct {
	recorder
	URL     string
	down    bool // every request answers 503
	lose    int  // the next creates are made but their answer is lost (502)
	changes map[string]map[string]string
	notes   []map[string]string
	n       int
	// onCreate runs after a change is created (an auto-approval).
	onCreate func(rec map[string]string)
}

func newFakeServiceNow(t *testing.T) *fakeServiceNow {
	f := &fakeServiceNow{changes: map[string]map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *fakeServiceNow) setDown(down bool) { f.mu.Lock(); f.down = down; f.mu.Unlock() }

func (f *fakeServiceNow) set(sysID, field, value string) {
	f.mu.Lock()
	f.changes[sysID][field] = value
	f.mu.Unlock()
}

func (f *fakeServiceNow) serve(w http.ResponseWriter, r *http.Request) {
	body := f.record(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		writeJSON(w, 503, map[string]any{"error": map[string]string{"message": "Service Unavailable"}, "status": "failure"})
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/now/table/")
	if !ok {
		writeJSON(w, 400, map[string]any{"error": map[string]string{"message": "Invalid path"}})
		return
	}
	table, sysID, _ := strings.Cut(rest, "/")
	query := r.URL.Query().Get("sysparm_query")
	switch {
	case table == "change_request" && r.Method == http.MethodGet && sysID == "":
		var out []map[string]string
		for _, c := range f.changes {
			if match(c, query) {
				out = append(out, c)
			}
		}
		writeJSON(w, 200, map[string]any{"result": out})
	case table == "change_request" && r.Method == http.MethodGet:
		c, ok := f.changes[sysID]
		if !ok {
			writeJSON(w, 404, map[string]any{"error": map[string]string{"message": "No Record found"}})
			return
		}
		writeJSON(w, 200, map[string]any{"result": c})
	case table == "change_request" && r.Method == http.MethodPost:
		var fields map[string]string
		if err := json.Unmarshal(body, &fields); err != nil {
			writeJSON(w, 400, map[string]any{"error": map[string]string{"message": "Invalid body"}})
			return
		}
		f.n++
		id := fmt.Sprintf("%032x", f.n)
		fields["sys_id"], fields["number"] = id, fmt.Sprintf("CHG%07d", 30041+f.n)
		fields["approval"], fields["state"], fields["sys_updated_by"] = "requested", "-4", "hookflow.integration"
		f.changes[id] = fields
		if f.onCreate != nil {
			f.onCreate(fields)
		}
		if f.lose > 0 {
			f.lose--
			writeJSON(w, 502, map[string]any{"error": map[string]string{"message": "Bad Gateway"}})
			return
		}
		writeJSON(w, 201, map[string]any{"result": fields})
	case table == "change_request" && r.Method == http.MethodPatch:
		c, ok := f.changes[sysID]
		if !ok {
			writeJSON(w, 404, map[string]any{"error": map[string]string{"message": "No Record found"}})
			return
		}
		var fields map[string]string
		_ = json.Unmarshal(body, &fields)
		for k, v := range fields {
			if k == "work_notes" {
				f.notes = append(f.notes, map[string]string{"element_id": sysID, "element": "work_notes", "value": v})
				continue
			}
			c[k] = v
		}
		writeJSON(w, 200, map[string]any{"result": c})
	case table == "sys_journal_field" && r.Method == http.MethodGet:
		var out []map[string]string
		for _, n := range f.notes {
			if match(n, query) {
				out = append(out, n)
			}
		}
		writeJSON(w, 200, map[string]any{"result": out})
	default:
		writeJSON(w, 400, map[string]any{"error": map[string]string{"message": "unsupported"}})
	}
}

// match evaluates an encoded query of field=value and fieldLIKEvalue
// terms joined by ^ (^^ is a literal caret).
func match(rec map[string]string, query string) bool {
	for _, term := range strings.Split(strings.ReplaceAll(query, "^^", "\x00"), "^") {
		term = strings.ReplaceAll(term, "\x00", "^")
		if k, v, ok := strings.Cut(term, "LIKE"); ok && !strings.Contains(k, "=") {
			if !strings.Contains(rec[k], v) {
				return false
			}
			continue
		}
		k, v, _ := strings.Cut(term, "=")
		if rec[k] != v {
			return false
		}
	}
	return true
}

func (f *fakeServiceNow) creates() int { return len(f.find("POST", "/change_request")) }

func (f *fakeServiceNow) only(t *testing.T) map[string]string {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.changes) != 1 {
		t.Fatalf("want exactly one change request, have %d", len(f.changes))
	}
	for _, c := range f.changes {
		return c
	}
	return nil
}

func (f *fakeServiceNow) workNotes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, n := range f.notes {
		out = append(out, n["value"])
	}
	return out
}

// fakeSplunk is HEC's POST /services/collector/event: concatenated JSON
// events, answered {"text":"Success","code":0}.
type fakeSplunk struct {
	recorder
	URL  string
	down bool
}

func newFakeSplunk(t *testing.T) *fakeSplunk {
	f := &fakeSplunk{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.record(r)
		f.mu.Lock()
		down := f.down
		f.mu.Unlock()
		switch {
		case r.URL.Path != "/services/collector/event":
			writeJSON(w, 404, map[string]any{"text": "Not Found", "code": 404})
		case r.Header.Get("Authorization") != "Splunk hec-test-token":
			writeJSON(w, 403, map[string]any{"text": "Invalid token", "code": 4})
		case down:
			writeJSON(w, 503, map[string]any{"text": "Server is busy", "code": 9})
		default:
			writeJSON(w, 200, map[string]any{"text": "Success", "code": 0})
		}
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// events returns every audit event HEC accepted, in order.
func (f *fakeSplunk) events(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, c := range f.find("POST", "/services/collector/event") {
		dec := json.NewDecoder(bufio.NewReader(bytes.NewReader(c.Body)))
		for dec.More() {
			var e struct {
				SourceType string         `json:"sourcetype"`
				Event      map[string]any `json:"event"`
			}
			if err := dec.Decode(&e); err != nil {
				t.Fatalf("HEC body: %v", err)
			}
			if e.SourceType != "hookflow:changegate:audit" {
				t.Fatalf("sourcetype %q", e.SourceType)
			}
			out = append(out, e.Event)
		}
	}
	return out
}

// actions returns the audit events' actions, in order.
func (f *fakeSplunk) actions(t *testing.T) []string {
	var out []string
	for _, e := range f.events(t) {
		out = append(out, fmt.Sprint(e["action"]))
	}
	return out
}
