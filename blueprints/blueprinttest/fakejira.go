package blueprinttest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// FakeJira is a Jira Cloud / Data Center site at the HTTP level, built
// from Jira's REST API v2 description (not from Hookflow's client): issues
// with a status and the transitions their workflow offers, remote links
// upserted by globalId, comments with properties. It records every request
// and keeps the state those requests leave, so that a test can assert
// both what Jira received and what it now holds.
//
// Endpoints: GET /rest/api/2/issue/{key} (fields ignored but for the
// status); GET and POST .../transitions; POST and DELETE
// (?globalId=) .../remotelink, GET .../remotelink; GET (startAt,
// maxResults, expand=properties) and POST .../comment. A request without
// an Authorization header is 401; an unknown issue is 404 with Jira's
// error body; while Down is set every request is answered with it.
// PUT .../comment/{id} edits a comment's body.
//
// It is also Jira Cloud's Development Information API as an OAuth 2.0
// client-credentials app reaches it (fakedevinfo.go): the token endpoint,
// the site's /_edge/tenant_info and /jira/devinfo/0.1/cloud/{cloudId}/...,
// so that one URL stands for the site, the API root and the token root.
type FakeJira struct {
	URL string
	mu  sync.Mutex
	got []Request
	// issues by key.
	issues map[string]*FakeIssue
	down   *Response
	nextID int
	dev    devinfo
}

// FakeIssue is one issue of a FakeJira.
type FakeIssue struct {
	Key    string
	Status string
	// Transitions are the issue's workflow: each leads to a status and is
	// offered when the issue is not already there.
	Transitions []FakeTransition
	// Links are the remote links, by globalId, as last written.
	Links map[string]json.RawMessage
	// Comments are the comments' bodies with their property values.
	Comments []FakeComment
	// Moves are the statuses the issue was moved to, in order.
	Moves []string
	// Edits counts the comment edits (PUT .../comment/{id}).
	Edits int
}

// FakeTransition is a transition of a FakeIssue's workflow.
type FakeTransition struct{ ID, Name, To string }

// FakeComment is a comment of a FakeIssue.
type FakeComment struct {
	ID         string
	Body       string
	Properties json.RawMessage
}

// SoftwareWorkflow is a Jira Software project's simplified workflow.
func SoftwareWorkflow() []FakeTransition {
	return []FakeTransition{{"11", "To Do", "To Do"}, {"21", "Start progress", "In Progress"}, {"31", "Send to review", "In Review"}, {"41", "Resolve", "Done"}}
}

// NewFakeJira starts a FakeJira, closed when the test ends.
func NewFakeJira(t testing.TB) *FakeJira {
	f := &FakeJira{issues: map[string]*FakeIssue{}, nextID: 10000, dev: newDevinfo()}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// AddIssue creates an issue in status with the given workflow
// (SoftwareWorkflow when nil).
func (f *FakeJira) AddIssue(key, status string, workflow []FakeTransition) {
	if workflow == nil {
		workflow = SoftwareWorkflow()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.issues[key] = &FakeIssue{Key: key, Status: status, Transitions: workflow, Links: map[string]json.RawMessage{}}
}

// SetDown makes every request answer r (a 503 with Retry-After, say);
// nil brings the site back.
func (f *FakeJira) SetDown(r *Response) {
	f.mu.Lock()
	f.down = r
	f.mu.Unlock()
}

// Issue returns a copy of an issue's state.
func (f *FakeJira) Issue(key string) FakeIssue {
	f.mu.Lock()
	defer f.mu.Unlock()
	is, ok := f.issues[key]
	if !ok {
		return FakeIssue{}
	}
	c := *is
	c.Links = map[string]json.RawMessage{}
	for k, v := range is.Links {
		c.Links[k] = v
	}
	c.Comments = slices.Clone(is.Comments)
	c.Moves = slices.Clone(is.Moves)
	return c
}

// Requests returns every request received, in order.
func (f *FakeJira) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.got)
}

// Writes returns the requests that change something (every method but
// GET), as "METHOD path", in order.
func (f *FakeJira) Writes() []string {
	var out []string
	for _, r := range f.Requests() {
		if r.Method != http.MethodGet {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

func jiraError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"errorMessages": []string{msg}, "errors": map[string]string{}})
	_, _ = w.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *FakeJira) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	if d := f.down; d != nil {
		for k, v := range d.Header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(d.Status)
		_, _ = io.WriteString(w, d.Body)
		return
	}
	if f.serveDevInfo(w, r, body) {
		return
	}
	if r.Header.Get("Authorization") == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Client must be authenticated to access this resource."})
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/rest/api/2/issue/")
	if !ok {
		jiraError(w, http.StatusNotFound, "No resource for "+r.URL.Path)
		return
	}
	key, sub, _ := strings.Cut(rest, "/")
	is, ok := f.issues[key]
	if !ok {
		jiraError(w, http.StatusNotFound, "Issue does not exist or you do not have permission to see it.")
		return
	}
	self := "http://" + r.Host + "/rest/api/2/issue/" + key
	if id, ok := strings.CutPrefix(sub, "comment/"); ok && r.Method == http.MethodPut {
		var in struct {
			Body string `json:"body"`
		}
		i := slices.IndexFunc(is.Comments, func(c FakeComment) bool { return c.ID == id })
		switch {
		case i < 0:
			jiraError(w, http.StatusNotFound, "Can not find a comment for the id: "+id+".")
		case json.Unmarshal(body, &in) != nil || in.Body == "":
			jiraError(w, http.StatusBadRequest, "Comment body can not be empty!")
		default:
			is.Comments[i].Body = in.Body
			is.Edits++
			writeJSON(w, http.StatusOK, map[string]any{"id": id, "self": self + "/comment/" + id, "body": in.Body})
		}
		return
	}
	switch r.Method + " " + sub {
	case "GET ":
		writeJSON(w, http.StatusOK, map[string]any{"id": "1" + strings.TrimLeft(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-"), "key": key, "self": self,
			"fields": map[string]any{"status": map[string]any{"name": is.Status, "statusCategory": map[string]string{"key": category(is.Status)}}}})
	case "GET transitions":
		var ts []map[string]any
		for _, t := range is.Transitions {
			if t.To != is.Status {
				ts = append(ts, map[string]any{"id": t.ID, "name": t.Name, "to": map[string]any{"name": t.To, "statusCategory": map[string]string{"key": category(t.To)}}})
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"expand": "transitions", "transitions": ts})
	case "POST transitions":
		var in struct {
			Transition struct {
				ID string `json:"id"`
			} `json:"transition"`
		}
		if json.Unmarshal(body, &in) != nil {
			jiraError(w, http.StatusBadRequest, "Can not deserialize the request body.")
			return
		}
		i := slices.IndexFunc(is.Transitions, func(t FakeTransition) bool { return t.ID == in.Transition.ID && t.To != is.Status })
		if i < 0 {
			jiraError(w, http.StatusBadRequest, "Transition id '"+in.Transition.ID+"' is not valid for this issue.")
			return
		}
		is.Status = is.Transitions[i].To
		is.Moves = append(is.Moves, is.Status)
		w.WriteHeader(http.StatusNoContent)
	case "GET remotelink":
		var links []json.RawMessage
		for _, gid := range sortedLinkIDs(is.Links) {
			if g := r.URL.Query().Get("globalId"); g == "" || g == gid {
				links = append(links, is.Links[gid])
			}
		}
		writeJSON(w, http.StatusOK, links)
	case "POST remotelink":
		var in struct {
			GlobalID string `json:"globalId"`
			Object   *struct {
				URL   string `json:"url"`
				Title string `json:"title"`
			} `json:"object"`
		}
		if json.Unmarshal(body, &in) != nil || in.Object == nil || in.Object.URL == "" || in.Object.Title == "" {
			jiraError(w, http.StatusBadRequest, "object: url and title are required")
			return
		}
		gid := in.GlobalID
		if gid == "" {
			f.nextID++
			gid = "id:" + strconv.Itoa(f.nextID)
		}
		status := http.StatusOK // Jira answers 200 when it updates the link with this globalId
		if _, ok := is.Links[gid]; !ok {
			status = http.StatusCreated
		}
		is.Links[gid] = append(json.RawMessage(nil), body...)
		f.nextID++
		writeJSON(w, status, map[string]any{"id": f.nextID, "self": fmt.Sprintf("%s/remotelink/%d", self, f.nextID)})
	case "DELETE remotelink":
		gid := r.URL.Query().Get("globalId")
		if _, ok := is.Links[gid]; !ok || gid == "" {
			jiraError(w, http.StatusNotFound, "No remote link with globalId "+gid)
			return
		}
		delete(is.Links, gid)
		w.WriteHeader(http.StatusNoContent)
	case "GET comment":
		q := r.URL.Query()
		start, _ := strconv.Atoi(q.Get("startAt"))
		max, _ := strconv.Atoi(q.Get("maxResults"))
		if max <= 0 {
			max = 50
		}
		page := []map[string]any{}
		for i := start; i < len(is.Comments) && len(page) < max; i++ {
			c := map[string]any{"id": is.Comments[i].ID, "self": self + "/comment/" + is.Comments[i].ID, "body": is.Comments[i].Body}
			if strings.Contains(q.Get("expand"), "properties") && len(is.Comments[i].Properties) > 0 {
				c["properties"] = is.Comments[i].Properties
			}
			page = append(page, c)
		}
		writeJSON(w, http.StatusOK, map[string]any{"startAt": start, "maxResults": max, "total": len(is.Comments), "comments": page})
	case "POST comment":
		var in struct {
			Body       string          `json:"body"`
			Properties json.RawMessage `json:"properties"`
		}
		if json.Unmarshal(body, &in) != nil || in.Body == "" {
			jiraError(w, http.StatusBadRequest, "Comment body can not be empty!")
			return
		}
		f.nextID++
		id := strconv.Itoa(f.nextID)
		is.Comments = append(is.Comments, FakeComment{ID: id, Body: in.Body, Properties: in.Properties})
		writeJSON(w, http.StatusCreated, map[string]any{"id": id, "self": self + "/comment/" + id, "body": in.Body})
	default:
		jiraError(w, http.StatusMethodNotAllowed, r.Method+" "+r.URL.Path+" is not supported")
	}
}

func category(status string) string {
	switch status {
	case "Done", "Closed", "Resolved":
		return "done"
	case "To Do", "Open", "Backlog":
		return "new"
	}
	return "indeterminate"
}

func sortedLinkIDs(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
