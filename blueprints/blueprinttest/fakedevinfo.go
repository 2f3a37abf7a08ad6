package blueprinttest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	jiraact "github.com/hookflow/hookflow/activities/jira"
)

// The fake's Development Information API credentials and site, unless a
// test sets others (SetDevInfoClient, SetCloudID).
const (
	// FakeCloudID is the cloud ID /_edge/tenant_info answers.
	FakeCloudID = "11223344-a1b2-3b33-c444-def123456789"
	// FakeDevInfoCredential is the OAuth client the token endpoint accepts,
	// "client_id:client_secret" as the token store holds it.
	FakeDevInfoCredential = "dvnf-client-0001:dvnf-s3cr3t-MustNeverLeak"
)

// devinfo is a Jira Cloud site's development information, as
// https://developer.atlassian.com/cloud/jira/software/rest/api-group-development-information/
// describes it: repositories holding commits, branches and pull requests,
// each stored with its updateSequenceId; an update replaces the stored
// entity only when its updateSequenceId is greater.
type devinfo struct {
	cloudID        string
	clientID       string
	secret         string
	tokens         map[string]bool
	repos          map[string]*FakeDevRepository
	issued, denied int
}

func newDevinfo() devinfo {
	id, secret, _ := strings.Cut(FakeDevInfoCredential, ":")
	return devinfo{cloudID: FakeCloudID, clientID: id, secret: secret, tokens: map[string]bool{}, repos: map[string]*FakeDevRepository{}}
}

// FakeDevRepository is one repository's development information as the
// fake holds it.
type FakeDevRepository struct {
	ID               string
	Name             string
	UpdateSequenceID int64
	// Commits, Branches and PullRequests are the stored entities by ID.
	Commits      map[string]FakeDevEntity
	Branches     map[string]FakeDevEntity
	PullRequests map[string]FakeDevEntity
	// Ignored counts entity updates not applied because their
	// updateSequenceId was not greater than the stored one.
	Ignored int
	// Deleted are the branch IDs deleted, in order.
	Deleted []string
}

// FakeDevEntity is one stored commit, branch or pull request.
type FakeDevEntity struct {
	UpdateSequenceID int64
	IssueKeys        []string
	// Status is a pull request's (OPEN, MERGED, DECLINED).
	Status string
	// Raw is the entity as last stored.
	Raw json.RawMessage
}

// SetCloudID changes the cloud ID the site answers and the API serves.
func (f *FakeJira) SetCloudID(id string) {
	f.mu.Lock()
	f.dev.cloudID = id
	f.mu.Unlock()
}

// DevRepository returns a copy of what the fake holds for a repository
// (the zero value when it holds nothing).
func (f *FakeJira) DevRepository(id string) FakeDevRepository {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.dev.repos[id]
	if !ok {
		return FakeDevRepository{}
	}
	c := *r
	c.Commits, c.Branches, c.PullRequests = clone(r.Commits), clone(r.Branches), clone(r.PullRequests)
	c.Deleted = slices.Clone(r.Deleted)
	return c
}

// DevRepositories returns the IDs of the repositories the fake holds,
// sorted.
func (f *FakeJira) DevRepositories() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.dev.repos))
	for id := range f.dev.repos {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// TokensIssued counts the access tokens the token endpoint issued.
func (f *FakeJira) TokensIssued() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dev.issued
}

func clone(m map[string]FakeDevEntity) map[string]FakeDevEntity {
	out := make(map[string]FakeDevEntity, len(m))
	for k, v := range m {
		v.IssueKeys = slices.Clone(v.IssueKeys)
		out[k] = v
	}
	return out
}

// serveDevInfo answers the token endpoint, tenant_info and the
// Development Information API; it reports whether r was one of them.
// Called with f.mu held.
func (f *FakeJira) serveDevInfo(w http.ResponseWriter, r *http.Request, body []byte) bool {
	d := &f.dev
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/oauth/token":
		var in struct {
			GrantType    string `json:"grant_type"`
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
			Audience     string `json:"audience"`
		}
		if json.Unmarshal(body, &in) != nil || in.GrantType != "client_credentials" || in.Audience != "api.atlassian.com" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "grant_type client_credentials and audience api.atlassian.com are required"})
			return true
		}
		if in.ClientID != d.clientID || in.ClientSecret != d.secret {
			d.denied++
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "access_denied", "error_description": "Unauthorized"})
			return true
		}
		d.issued++
		tok := "fake-access-" + strconv.Itoa(d.issued)
		d.tokens[tok] = true
		writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": 3600, "token_type": "Bearer", "scope": "read:jira-work write:jira-work"})
		return true
	case r.Method == http.MethodGet && r.URL.Path == "/_edge/tenant_info":
		writeJSON(w, http.StatusOK, map[string]string{"cloudId": d.cloudID})
		return true
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/jira/devinfo/0.1/cloud/")
	if !ok {
		return false
	}
	cloud, rest, _ := strings.Cut(rest, "/")
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); !ok || !d.tokens[tok] {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"code": "401", "message": "Unauthorized"})
		return true
	}
	if cloud != d.cloudID {
		writeJSON(w, http.StatusNotFound, map[string]string{"code": "404", "message": "Not Found"})
		return true
	}
	switch {
	case r.Method == http.MethodPost && rest == "bulk":
		f.storeDevInfo(w, body)
	case r.Method == http.MethodDelete && strings.HasPrefix(rest, "repository/"):
		parts := strings.Split(strings.TrimPrefix(rest, "repository/"), "/")
		if len(parts) != 3 || parts[1] != "branch" {
			jiraError(w, http.StatusNotFound, "No resource for "+r.URL.Path)
			return true
		}
		seq, err := strconv.ParseInt(r.URL.Query().Get("_updateSequenceId"), 10, 64)
		if q := r.URL.Query().Get("_updateSequenceId"); q != "" && err != nil {
			jiraError(w, http.StatusBadRequest, "_updateSequenceId must be a number")
			return true
		}
		// Only stored data with an updateSequenceId less than or equal to
		// the one given is deleted.
		if repo, ok := d.repos[parts[0]]; ok {
			if b, ok := repo.Branches[parts[2]]; ok && (err != nil || b.UpdateSequenceID <= seq) {
				delete(repo.Branches, parts[2])
				repo.Deleted = append(repo.Deleted, parts[2])
			}
		}
		w.WriteHeader(http.StatusAccepted)
	default:
		jiraError(w, http.StatusNotFound, "No resource for "+r.URL.Path)
	}
	return true
}

// devEntity is the part of a commit, branch or pull request the fake
// checks and keeps.
type devEntity struct {
	ID               string   `json:"id"`
	IssueKeys        []string `json:"issueKeys"`
	UpdateSequenceID *int64   `json:"updateSequenceId"`
	Status           string   `json:"status"`
	raw              json.RawMessage
}

func (e *devEntity) UnmarshalJSON(b []byte) error {
	type plain devEntity
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*e = devEntity(p)
	e.raw = append(json.RawMessage(nil), b...)
	return nil
}

func (f *FakeJira) storeDevInfo(w http.ResponseWriter, body []byte) {
	var in struct {
		Repositories []struct {
			ID               string      `json:"id"`
			Name             string      `json:"name"`
			URL              string      `json:"url"`
			UpdateSequenceID *int64      `json:"updateSequenceId"`
			Commits          []devEntity `json:"commits"`
			Branches         []devEntity `json:"branches"`
			PullRequests     []devEntity `json:"pullRequests"`
		} `json:"repositories"`
	}
	if err := json.Unmarshal(body, &in); err != nil || len(in.Repositories) == 0 || len(in.Repositories) > 100 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errorMessages": []map[string]string{{"message": "repositories: 1 to 100 are required"}}})
		return
	}
	for _, r := range in.Repositories {
		if r.ID == "" || r.Name == "" || r.URL == "" || r.UpdateSequenceID == nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"errorMessages": []map[string]string{{"message": "repository: id, name, url and updateSequenceId are required"}}})
			return
		}
		if len(r.Commits) > 400 || len(r.Branches) > 400 || len(r.PullRequests) > 400 {
			writeJSON(w, http.StatusBadRequest, map[string]any{"errorMessages": []map[string]string{{"message": "at most 400 entities of each type per repository"}}})
			return
		}
	}
	accepted := map[string]map[string][]string{}
	failed := map[string]map[string][]map[string]any{}
	var unknown []string
	for _, r := range in.Repositories {
		repo, ok := f.dev.repos[r.ID]
		if !ok {
			repo = &FakeDevRepository{ID: r.ID, Commits: map[string]FakeDevEntity{}, Branches: map[string]FakeDevEntity{}, PullRequests: map[string]FakeDevEntity{}}
			f.dev.repos[r.ID] = repo
		}
		if *r.UpdateSequenceID > repo.UpdateSequenceID {
			repo.Name, repo.UpdateSequenceID = r.Name, *r.UpdateSequenceID
		}
		acc := map[string][]string{}
		for _, kind := range []struct {
			name string
			in   []devEntity
			into map[string]FakeDevEntity
		}{{"commits", r.Commits, repo.Commits}, {"branches", r.Branches, repo.Branches}, {"pullRequests", r.PullRequests, repo.PullRequests}} {
			for _, e := range kind.in {
				if e.ID == "" || e.UpdateSequenceID == nil || len(e.IssueKeys) == 0 || len(e.IssueKeys) > 500 {
					if failed[r.ID] == nil {
						failed[r.ID] = map[string][]map[string]any{}
					}
					failed[r.ID][kind.name] = append(failed[r.ID][kind.name], map[string]any{"id": e.ID,
						"errors": []map[string]string{{"message": "id, updateSequenceId and 1 to 500 issueKeys are required"}}})
					continue
				}
				for _, k := range e.IssueKeys {
					if _, ok := f.issues[k]; !ok && !slices.Contains(unknown, k) {
						unknown = append(unknown, k)
					}
				}
				// An entity that is not updated because its updateSequenceId
				// is out of order is still accepted, not failed.
				acc[kind.name] = append(acc[kind.name], e.ID)
				if old, ok := kind.into[e.ID]; ok && old.UpdateSequenceID >= *e.UpdateSequenceID {
					repo.Ignored++
					continue
				}
				kind.into[e.ID] = FakeDevEntity{UpdateSequenceID: *e.UpdateSequenceID, IssueKeys: slices.Clone(e.IssueKeys), Status: e.Status, Raw: e.raw}
			}
		}
		accepted[r.ID] = acc
	}
	out := map[string]any{"acceptedDevinfoEntities": accepted}
	if len(failed) > 0 {
		out["failedDevinfoEntities"] = failed
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		out["unknownIssueKeys"] = unknown
	}
	writeJSON(w, http.StatusAccepted, out)
}

// Activities returns the real Jira activities (activities/jira) over f:
// the site's REST API, the Development Information API and its token
// endpoint all at f.URL, with restCred as the site's credential and
// FakeDevInfoCredential as the OAuth client. The cloud ID is read from
// the fake's /_edge/tenant_info. Register them with jiraact.Register.
func (f *FakeJira) Activities(t testing.TB, restCred string) *jiraact.Activities {
	t.Helper()
	a, err := jiraact.New(jiraact.Options{SiteURL: f.URL, DevInfoAPIURL: f.URL + "/", DevInfoTokenURL: f.URL + "/oauth/token",
		Credentials: map[string]string{"jira": restCred, jiraact.DevInfoSystem: FakeDevInfoCredential}})
	require.NoError(t, err)
	return a
}
