// Package dorabatch is the typed view of a body sent to a dora integration:
// {"deployments": [...]}, {"workflow_runs": [...]} (Middleware's shape) and
// {"incidents": [...]}, up to MaxRecords records in all.
//
// The ingress's dora source uses it to answer the sender, per record, in
// the request; the dora blueprint uses the same function over the same
// body to apply the records it accepted, so that the two never disagree.
// Parse is deterministic: the same body always yields the same answer.
package dorabatch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MaxRecords is the most records one body may carry, all arrays together.
const MaxRecords = 500

// The kinds of record, which are also the body's array names.
const (
	KindDeployments  = "deployments"
	KindWorkflowRuns = "workflow_runs"
	KindIncidents    = "incidents"
)

// The API key scopes a body needs: deployments and workflow runs need
// ScopeDeployments, incidents ScopeIncidents.
const (
	ScopeDeployments = "deployments"
	ScopeIncidents   = "incidents"
)

// Deployment statuses, after normalisation.
const (
	StatusSuccess    = "success"
	StatusFailure    = "failure"
	StatusInProgress = "in_progress"
	StatusCancelled  = "cancelled"
)

// DefaultEnvironment is an incident's environment when it names none.
const DefaultEnvironment = "production"

// Field length limits: longer values are refused, never truncated.
const (
	maxID   = 256
	maxText = 1024
	maxURL  = 2048
)

// Deployment is one valid record of "deployments".
type Deployment struct {
	DeploymentID string    `json:"deployment_id"`
	Repo         string    `json:"repo"`
	Environment  string    `json:"environment"`
	SHA          string    `json:"sha"`
	Status       string    `json:"status"`
	StartedAt    time.Time `json:"started_at,omitzero"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
	Commits      []Commit  `json:"commits,omitempty"`
	URL          string    `json:"url,omitempty"`
}

// Commit is one commit a deployment lists.
type Commit struct {
	SHA         string    `json:"sha"`
	CommittedAt time.Time `json:"committed_at"`
}

// WorkflowRun is one valid record of "workflow_runs".
type WorkflowRun struct {
	WorkflowName string   `json:"workflow_name"`
	RepoNames    []string `json:"repo_names"`
	EventActor   string   `json:"event_actor,omitempty"`
	HeadBranch   string   `json:"head_branch,omitempty"`
	UniqueID     string   `json:"workflow_run_unique_id"`
	// Status is normalised to the deployment statuses.
	Status string `json:"status"`
	// Duration is in seconds; nil when the record has none (a start call,
	// or an end call whose start call gave the start).
	Duration    *float64  `json:"duration,omitempty"`
	ConductedAt time.Time `json:"workflow_run_conducted_at"`
	HTMLURL     string    `json:"html_url,omitempty"`
}

// Incident is one valid record of "incidents".
type Incident struct {
	Key               string    `json:"incident_key"`
	Provider          string    `json:"provider,omitempty"`
	Status            string    `json:"status,omitempty"`
	Title             string    `json:"title,omitempty"`
	CreatedAt         time.Time `json:"creation_date"`
	AcknowledgedAt    time.Time `json:"acknowledged_date,omitzero"`
	ResolvedAt        time.Time `json:"resolved_date,omitzero"`
	URL               string    `json:"url,omitempty"`
	Repo              string    `json:"repo"`
	Environment       string    `json:"environment"`
	CauseDeploymentID string    `json:"deployment_id,omitempty"`
	CauseSHA          string    `json:"sha,omitempty"`
}

// Rejection names one invalid record and how to fix it.
type Rejection struct {
	Kind  string `json:"kind"`
	Index int    `json:"index"`
	// Field is the record's field at fault ("" for the record as a whole;
	// "commits[2].sha" inside a list).
	Field string `json:"field"`
	Error string `json:"error"`
	Hint  string `json:"hint"`
}

// Batch is a body, parsed: the valid records in their order, the invalid
// ones named, or Error when the body as a whole is refused (then nothing
// is applied).
type Batch struct {
	Deployments  []Deployment
	WorkflowRuns []WorkflowRun
	Incidents    []Incident
	Rejected     []Rejection
	// Error refuses the whole body: not a JSON object, no known array, an
	// array that is not one, or more than MaxRecords records.
	Error string
	// Hint says how to fix Error.
	Hint string
}

// Accepted counts the valid records.
func (b Batch) Accepted() int { return len(b.Deployments) + len(b.WorkflowRuns) + len(b.Incidents) }

// Answer is what the sender gets back, always with 200.
type Answer struct {
	BatchID  string      `json:"batch_id"`
	Accepted int         `json:"accepted"`
	Rejected []Rejection `json:"rejected"`
	Error    string      `json:"error,omitempty"`
	Hint     string      `json:"hint,omitempty"`
}

// Answer is b's answer under batchID.
func (b Batch) Answer(batchID string) Answer {
	rej := b.Rejected
	if rej == nil {
		rej = []Rejection{}
	}
	return Answer{BatchID: batchID, Accepted: b.Accepted(), Rejected: rej, Error: b.Error, Hint: b.Hint}
}

var kinds = []string{KindDeployments, KindWorkflowRuns, KindIncidents}

// top decodes the body's top level.
func top(body []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, fmt.Errorf("the body is not a JSON object")
	}
	if dec.More() {
		return nil, fmt.Errorf("the body holds more than one JSON value")
	}
	return m, nil
}

// Scopes returns the API key scopes body needs, from the arrays it names
// (nil for a body that is not a JSON object or names none: such a body is
// answered with an error, under any valid key).
func Scopes(body []byte) []string {
	m, err := top(body)
	if err != nil {
		return nil
	}
	var out []string
	if _, ok := m[KindDeployments]; ok {
		out = append(out, ScopeDeployments)
	} else if _, ok := m[KindWorkflowRuns]; ok {
		out = append(out, ScopeDeployments)
	}
	if _, ok := m[KindIncidents]; ok {
		out = append(out, ScopeIncidents)
	}
	return out
}

const shapeHint = `send {"deployments": [...]}, {"workflow_runs": [...]} or {"incidents": [...]}, at most 500 records in all`

// Parse validates body.
func Parse(body []byte) Batch {
	m, err := top(body)
	if err != nil {
		return Batch{Error: err.Error(), Hint: shapeHint}
	}
	arrays := map[string][]json.RawMessage{}
	total := 0
	for _, k := range kinds {
		raw, ok := m[k]
		if !ok {
			continue
		}
		var recs []json.RawMessage
		if err := json.Unmarshal(raw, &recs); err != nil {
			return Batch{Error: fmt.Sprintf("%q is not an array", k), Hint: shapeHint}
		}
		arrays[k] = recs
		total += len(recs)
	}
	if len(arrays) == 0 {
		var names []string
		for k := range m {
			names = append(names, strconv.Quote(k))
		}
		sort.Strings(names)
		msg := "the body has no deployments, workflow_runs or incidents array"
		if len(names) > 0 {
			msg += " (it has " + strings.Join(names, ", ") + ")"
		}
		return Batch{Error: msg, Hint: shapeHint}
	}
	if total > MaxRecords {
		return Batch{Error: fmt.Sprintf("the body has %d records, more than %d", total, MaxRecords),
			Hint: fmt.Sprintf("split the records into bodies of at most %d; nothing in this one was applied", MaxRecords)}
	}
	var b Batch
	for i, raw := range arrays[KindDeployments] {
		r := newRecord(KindDeployments, i, raw)
		if d, ok := r.deployment(); ok {
			b.Deployments = append(b.Deployments, d)
		} else {
			b.Rejected = append(b.Rejected, r.rej)
		}
	}
	for i, raw := range arrays[KindWorkflowRuns] {
		r := newRecord(KindWorkflowRuns, i, raw)
		if w, ok := r.workflowRun(); ok {
			b.WorkflowRuns = append(b.WorkflowRuns, w)
		} else {
			b.Rejected = append(b.Rejected, r.rej)
		}
	}
	for i, raw := range arrays[KindIncidents] {
		r := newRecord(KindIncidents, i, raw)
		if in, ok := r.incident(); ok {
			b.Incidents = append(b.Incidents, in)
		} else {
			b.Rejected = append(b.Rejected, r.rej)
		}
	}
	return b
}

// record reads one record's fields, stopping at the first fault.
type record struct {
	f   map[string]json.RawMessage
	rej Rejection
	bad bool
}

func newRecord(kind string, i int, raw json.RawMessage) *record {
	r := &record{rej: Rejection{Kind: kind, Index: i}}
	if err := json.Unmarshal(raw, &r.f); err != nil || r.f == nil {
		r.fail("", "the record is not a JSON object", "each element of "+kind+" is an object of fields")
	}
	return r
}

func (r *record) fail(field, msg, hint string) {
	if r.bad {
		return
	}
	r.bad = true
	r.rej.Field, r.rej.Error, r.rej.Hint = field, msg, hint
}

func present(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}

// str reads a string field of at most max bytes; required fields must be
// present and not blank.
func (r *record) str(name string, required bool, max int) string {
	if r.bad {
		return ""
	}
	raw, ok := r.f[name]
	if !ok || !present(raw) {
		if required {
			r.fail(name, "missing", name+" is required: a string")
		}
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		r.fail(name, "not a string", name+" must be a JSON string")
		return ""
	}
	s = strings.TrimSpace(s)
	switch {
	case s == "" && required:
		r.fail(name, "empty", name+" is required: a non-empty string")
	case len(s) > max:
		r.fail(name, fmt.Sprintf("longer than %d bytes", max), "shorten "+name)
	}
	return s
}

const timeHint = "an RFC 3339 time with a zone, such as 2026-11-02T10:00:00Z or 2024-09-28T20:35:45.123456+00:00"

// time reads an RFC 3339 time; an optional one may be null or "".
func (r *record) time(name string, required bool) time.Time {
	s := r.str(name, required, 64)
	if r.bad || s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		r.fail(name, "not an RFC 3339 time: "+strconv.Quote(s), name+" must be "+timeHint)
		return time.Time{}
	}
	return t.UTC()
}

// status reads a status, without regard to case, through aliases.
func (r *record) status(name string, aliases map[string]string, hint string) string {
	s := r.str(name, true, 64)
	if r.bad {
		return ""
	}
	v, ok := aliases[strings.ToLower(s)]
	if !ok {
		r.fail(name, "unknown status "+strconv.Quote(s), hint)
	}
	return v
}

var deploymentStatuses = map[string]string{
	"success": StatusSuccess, "failure": StatusFailure, "in_progress": StatusInProgress, "cancelled": StatusCancelled,
	"canceled": StatusCancelled,
}

// runStatuses maps CI run statuses (GitHub Actions, GitLab, Middleware's
// seed) to deployment statuses.
var runStatuses = map[string]string{
	"success": StatusSuccess, "succeeded": StatusSuccess, "successful": StatusSuccess, "passed": StatusSuccess,
	"failure": StatusFailure, "failed": StatusFailure, "error": StatusFailure, "errored": StatusFailure, "timed_out": StatusFailure,
	"in_progress": StatusInProgress, "pending": StatusInProgress, "queued": StatusInProgress, "running": StatusInProgress,
	"started": StatusInProgress, "waiting": StatusInProgress,
	"cancelled": StatusCancelled, "canceled": StatusCancelled, "skipped": StatusCancelled,
}

func (r *record) deployment() (Deployment, bool) {
	d := Deployment{
		DeploymentID: r.str("deployment_id", true, maxID),
		Repo:         r.str("repo", true, maxID),
		Environment:  r.str("environment", true, maxID),
		SHA:          r.str("sha", true, maxID),
		Status:       r.status("status", deploymentStatuses, "status must be one of success, failure, in_progress, cancelled (any case)"),
	}
	// A deployment in progress needs its start; a finished one its end
	// (its start may have come with an earlier in_progress record, and is
	// then kept).
	finished := d.Status == StatusSuccess || d.Status == StatusFailure || d.Status == StatusCancelled
	d.StartedAt = r.time("started_at", !finished && !r.bad)
	d.FinishedAt = r.time("finished_at", finished && !r.bad)
	if !r.bad && !d.FinishedAt.IsZero() && !d.StartedAt.IsZero() && d.FinishedAt.Before(d.StartedAt) {
		r.fail("finished_at", "before started_at", "finished_at must not be earlier than started_at")
	}
	if raw, ok := r.f["commits"]; ok && present(raw) && !r.bad {
		var cs []json.RawMessage
		if err := json.Unmarshal(raw, &cs); err != nil {
			r.fail("commits", "not an array", `commits must be an array of {"sha", "committed_at"}`)
		}
		d.Commits = make([]Commit, 0, len(cs))
		for i, c := range cs {
			if r.bad {
				break
			}
			cr := &record{rej: r.rej}
			if err := json.Unmarshal(c, &cr.f); err != nil || cr.f == nil {
				r.fail(fmt.Sprintf("commits[%d]", i), "not an object", `each commit is {"sha", "committed_at"}`)
				break
			}
			cm := Commit{SHA: cr.str("sha", true, maxID), CommittedAt: cr.time("committed_at", true)}
			if !cr.bad && !d.FinishedAt.IsZero() && cm.CommittedAt.After(d.FinishedAt) {
				cr.fail("committed_at", "after the deployment's finished_at", "a deployment ships commits made before it finished: check the commit's time and zone")
			}
			if cr.bad {
				r.fail(fmt.Sprintf("commits[%d].%s", i, cr.rej.Field), cr.rej.Error, cr.rej.Hint)
				break
			}
			d.Commits = append(d.Commits, cm)
		}
	}
	d.URL = r.str("url", false, maxURL)
	return d, !r.bad
}

func (r *record) workflowRun() (WorkflowRun, bool) {
	w := WorkflowRun{
		WorkflowName: r.str("workflow_name", true, maxID),
	}
	if !r.bad {
		raw, ok := r.f["repo_names"]
		var names []string
		switch {
		case !ok || !present(raw):
			r.fail("repo_names", "missing", `repo_names is required: an array of repository names, such as ["acme/api"]`)
		case json.Unmarshal(raw, &names) != nil:
			r.fail("repo_names", "not an array of strings", `repo_names must be an array of repository names, such as ["acme/api"]`)
		}
		for _, n := range names {
			n = strings.TrimSpace(n)
			if n == "" || len(n) > maxID {
				r.fail("repo_names", "a name is empty or too long", "each repository name is a non-empty string")
				break
			}
			w.RepoNames = append(w.RepoNames, n)
		}
		if !r.bad && len(w.RepoNames) == 0 {
			r.fail("repo_names", "empty", "repo_names names at least one repository")
		}
	}
	w.EventActor = r.str("event_actor", false, maxText)
	w.HeadBranch = r.str("head_branch", false, maxText)
	w.UniqueID = r.str("workflow_run_unique_id", true, maxID)
	w.Status = r.status("status", runStatuses, "status must be one of SUCCESS, FAILURE, PENDING, IN_PROGRESS, CANCELLED (any case)")
	if raw, ok := r.f["duration"]; ok && present(raw) && !r.bad {
		// A number, or a number in a string as the seed sends it ("200").
		var n json.Number
		s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
		if json.Unmarshal([]byte(s), &n) != nil || s == "" {
			r.fail("duration", "not a number of seconds", `duration is a number of seconds, such as 200 or "200"`)
		} else if v, err := n.Float64(); err != nil || v < 0 || math.IsInf(v, 0) || v > 366*24*3600 {
			r.fail("duration", "out of range", "duration is a number of seconds between 0 and a year")
		} else {
			w.Duration = &v
		}
	}
	w.ConductedAt = r.time("workflow_run_conducted_at", true)
	w.HTMLURL = r.str("html_url", false, maxURL)
	return w, !r.bad
}

func (r *record) incident() (Incident, bool) {
	in := Incident{
		Key:      r.str("incident_key", true, maxID),
		Provider: r.str("provider", false, maxID),
		Status:   strings.ToLower(r.str("status", false, 64)),
		Title:    r.str("title", false, maxText),
	}
	in.CreatedAt = r.time("creation_date", true)
	in.AcknowledgedAt = r.time("acknowledged_date", false)
	in.ResolvedAt = r.time("resolved_date", false)
	if !r.bad && !in.ResolvedAt.IsZero() && in.ResolvedAt.Before(in.CreatedAt) {
		r.fail("resolved_date", "before creation_date", "resolved_date must not be earlier than creation_date")
	}
	if !r.bad && !in.AcknowledgedAt.IsZero() && in.AcknowledgedAt.Before(in.CreatedAt) {
		r.fail("acknowledged_date", "before creation_date", "acknowledged_date must not be earlier than creation_date")
	}
	in.URL = r.str("url", false, maxURL)
	in.Repo = r.str("repo", true, maxID)
	in.Environment = r.str("environment", false, maxID)
	if in.Environment == "" {
		in.Environment = DefaultEnvironment
	}
	in.CauseDeploymentID = r.str("deployment_id", false, maxID)
	in.CauseSHA = r.str("sha", false, maxID)
	return in, !r.bad
}
