package devinfo

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow/blueprints/prjira"
	"github.com/hookflow/hookflow/workflows"
)

// Limits on what one repository's workflow keeps, so that its state (carried
// across continue-as-new) stays small however long the repository lives.
const (
	// MaxMessage is the longest commit message kept, in bytes (the
	// Development Information API takes longer ones, but the keys are
	// nearly always in the first line).
	MaxMessage = 1024
	// MaxTracked is how many branches and how many pull requests are kept;
	// beyond, the ones least recently changed (and already written) are
	// forgotten. A forgotten one is written again whole when it changes.
	MaxTracked = 500
	// MaxOutcomes is how many outcomes are kept, the newest.
	MaxOutcomes = 50
)

// Repo names the repository a workflow writes for.
type Repo struct {
	Provider string `json:"provider"`
	Host     string `json:"host"`
	Owner    string `json:"owner"`
	Name     string `json:"name"`
	URL      string `json:"url"`
}

// Path is the repository's path on its host.
func (r Repo) Path() string { return r.Owner + "/" + r.Name }

// ID is the repository's ID in Jira: its host and path, with the
// characters the Development Information API refuses in IDs (it takes
// letters, digits and ~.-_) escaped as ~XX.
func (r Repo) ID() string { return EntityID(r.Host + "/" + r.Path()) }

// EntityID escapes s for an ID of the Development Information API.
func EntityID(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "~%02X", c)
	}
	return b.String()
}

// Commit is a commit that names at least one key.
type Commit struct {
	ID      string   `json:"id"`
	Message string   `json:"message"`
	URL     string   `json:"url,omitempty"`
	Author  string   `json:"author,omitempty"`
	Email   string   `json:"email,omitempty"`
	Time    string   `json:"time,omitempty"` // RFC 3339
	Keys    []string `json:"keys"`
	Seq     int64    `json:"seq"`
}

// Branch is a branch whose name names at least one key.
type Branch struct {
	Name string   `json:"name"`
	Keys []string `json:"keys"`
	// At is the sender's time of the newest event seen for the branch
	// (Unix ms): an older event never replaces a newer one.
	At int64 `json:"at"`
	// Seq is the update sequence ID last given: it only grows.
	Seq     int64  `json:"seq"`
	Head    Commit `json:"head"`
	Deleted bool   `json:"deleted,omitempty"`
	// Dirty says Jira does not hold this version yet.
	Dirty bool `json:"dirty,omitempty"`
}

// PullRequest is a pull or merge request that names at least one key.
type PullRequest struct {
	Number int      `json:"number"`
	Title  string   `json:"title"`
	URL    string   `json:"url"`
	Status string   `json:"status"` // OPEN, MERGED or DECLINED
	Source string   `json:"source"`
	Dest   string   `json:"dest,omitempty"`
	Author string   `json:"author,omitempty"`
	Keys   []string `json:"keys"`
	At     int64    `json:"at"`
	Seq    int64    `json:"seq"`
	Dirty  bool     `json:"dirty,omitempty"`
}

// Observation is what one event says: the branches it changed, the
// commits it lists, the pull request it describes.
type Observation struct {
	Repo        Repo
	Branches    []Branch
	Commits     []Commit
	PullRequest *PullRequest
	// Truncated names the refs whose commits the sender listed only in
	// part, with where to see them all.
	Truncated []string
}

// Facts are what a repository's workflow knows and has still to write.
type Facts struct {
	Repo         Repo                    `json:"repo"`
	Branches     map[string]*Branch      `json:"branches,omitempty"`
	PullRequests map[string]*PullRequest `json:"pull_requests,omitempty"`
	// Pending are the commits Jira does not hold yet, in the order seen.
	Pending []Commit `json:"pending,omitempty"`
	// Since is when the oldest unwritten change was folded (workflow
	// time, Unix ms); 0 when nothing waits.
	Since int64 `json:"since,omitempty"`
}

// Dirty reports whether something waits to be written.
func (f *Facts) Dirty() bool {
	if len(f.Pending) > 0 {
		return true
	}
	for _, b := range f.Branches {
		if b.Dirty {
			return true
		}
	}
	for _, p := range f.PullRequests {
		if p.Dirty {
			return true
		}
	}
	return false
}

// Fold adds o to the facts. An observation of a branch or pull request
// older (by the sender's own time) than what the facts hold is dropped;
// one at the same time as the held one but seen later replaces it, with a
// greater sequence ID, so that Jira (which keeps an update only when its
// sequence ID is greater) takes it.
func (f *Facts) Fold(o Observation) (changed bool) {
	if f.Repo.Host == "" || o.Repo.URL != "" {
		f.Repo = o.Repo
	}
	if f.Branches == nil {
		f.Branches = map[string]*Branch{}
	}
	if f.PullRequests == nil {
		f.PullRequests = map[string]*PullRequest{}
	}
	for _, b := range o.Branches {
		held, ok := f.Branches[b.Name]
		if ok && b.At < held.At {
			continue
		}
		b.Seq = b.At
		if ok && b.Seq <= held.Seq {
			b.Seq = held.Seq + 1
		}
		if ok && b.Head.ID == "" && !b.Deleted {
			b.Head = held.Head
		}
		b.Dirty = true
		f.Branches[b.Name] = &b
		changed = true
	}
	for _, c := range o.Commits {
		if i := slices.IndexFunc(f.Pending, func(p Commit) bool { return p.ID == c.ID }); i >= 0 {
			continue
		}
		f.Pending = append(f.Pending, c)
		changed = true
	}
	if p := o.PullRequest; p != nil {
		id := strconv.Itoa(p.Number)
		held, ok := f.PullRequests[id]
		switch {
		case ok && p.At < held.At:
		case ok && held.Status == "MERGED" && p.Status != "MERGED":
			// Merged is final, whatever the clocks say.
		default:
			p.Seq = p.At
			if ok && p.Seq <= held.Seq {
				p.Seq = held.Seq + 1
			}
			p.Dirty = true
			f.PullRequests[id] = p
			changed = true
		}
	}
	f.forget()
	return changed
}

// forget drops the least recently changed clean branches and pull requests
// beyond MaxTracked.
func (f *Facts) forget() {
	if len(f.Branches) > MaxTracked {
		var clean []*Branch
		for _, b := range f.Branches {
			if !b.Dirty {
				clean = append(clean, b)
			}
		}
		slices.SortFunc(clean, func(a, b *Branch) int { return cmpAt(a.At, b.At, a.Name, b.Name) })
		for i := 0; i < len(clean) && len(f.Branches) > MaxTracked; i++ {
			delete(f.Branches, clean[i].Name)
		}
	}
	if len(f.PullRequests) > MaxTracked {
		var clean []*PullRequest
		for _, p := range f.PullRequests {
			if !p.Dirty {
				clean = append(clean, p)
			}
		}
		slices.SortFunc(clean, func(a, b *PullRequest) int { return cmpAt(a.At, b.At, strconv.Itoa(a.Number), strconv.Itoa(b.Number)) })
		for i := 0; i < len(clean) && len(f.PullRequests) > MaxTracked; i++ {
			delete(f.PullRequests, strconv.Itoa(clean[i].Number))
		}
	}
}

func cmpAt(a, b int64, an, bn string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return strings.Compare(an, bn)
}

// keysIn returns the keys of the strings, of projects (every project when
// empty), once each, sorted.
func keysIn(projects []string, ss ...string) []string {
	var out []string
	for _, s := range ss {
		for _, k := range prjira.Keys(s) {
			project, _, _ := strings.Cut(k, "-")
			if (len(projects) == 0 || slices.Contains(projects, project)) && !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Observe reads what ev says about its repository: a push (GitHub/GHES,
// GitLab, Bitbucket Cloud and Data Center) or a pull request event, with
// payload as its body (inline, or rebuilt from a projection). Only
// branches, commits and pull requests naming keys of projects are kept.
func Observe(ev workflows.Event, payload []byte, projects []string) (Observation, error) {
	ev.Payload = payload
	switch ev.Type {
	case "pull_request", "merge_request":
		return observePullRequest(ev, projects)
	}
	if strings.HasPrefix(ev.Type, "pullrequest:") || strings.HasPrefix(ev.Type, "pr:") {
		return observePullRequest(ev, projects)
	}
	return observePush(ev, projects)
}

func observePullRequest(ev workflows.Event, projects []string) (Observation, error) {
	o, err := prjira.Observe(ev, ev.Payload)
	if err != nil {
		return Observation{}, err
	}
	pr, err := workflows.PullRequestOfEvent(ev)
	if err != nil {
		return Observation{}, err
	}
	var x pushExtra
	_ = json.Unmarshal(ev.Payload, &x) // PullRequestOfEvent read it already
	obs := Observation{Repo: Repo{Provider: ev.Source, Host: o.Host, Owner: o.Owner, Name: o.Repo}}
	obs.Repo.URL = repoURL(ev, workflows.Push{Host: o.Host, Owner: o.Owner, Repo: o.Repo}, x)
	keys := keysIn(projects, o.Title, o.Branch)
	if len(keys) == 0 {
		return obs, nil
	}
	status := "OPEN"
	switch o.State {
	case workflows.PullRequestMerged:
		status = "MERGED"
	case workflows.PullRequestClosed:
		status = "DECLINED"
	}
	url := o.URL
	if url == "" {
		url = prjira.Facts{Latest: o}.Link().URL
	}
	at := o.Version
	if at == 0 {
		at = ev.ReceivedAt.UnixMilli()
	}
	obs.PullRequest = &PullRequest{Number: o.Number, Title: o.Title, URL: url, Status: status, Source: o.Branch, Dest: pr.Base,
		Author: pr.Author, Keys: keys, At: at}
	return obs, nil
}

// pushExtra are the fields of a push payload PushesOf does not read.
type pushExtra struct {
	Compare    string `json:"compare"`
	Repository *struct {
		PushedAt json.RawMessage `json:"pushed_at"`
		HTMLURL  string          `json:"html_url"`
		Links    *struct {
			HTML *struct {
				Href string `json:"href"`
			} `json:"html"`
		} `json:"links"`
	} `json:"repository"`
	HeadCommit *struct {
		ID        string `json:"id"`
		Message   string `json:"message"`
		Timestamp string `json:"timestamp"`
		URL       string `json:"url"`
		Author    *struct {
			Name  string `json:"name"`
			Email string `json:"email"`
		} `json:"author"`
	} `json:"head_commit"`
	Project *struct {
		WebURL string `json:"web_url"`
	} `json:"project"`
	TotalCommitsCount int `json:"total_commits_count"`
	// Date is Bitbucket Data Center's event time.
	Date string `json:"date"`
	Push *struct {
		Changes []struct {
			New *struct {
				Name   string `json:"name"`
				Target *struct {
					Hash    string `json:"hash"`
					Date    string `json:"date"`
					Message string `json:"message"`
					Author  *struct {
						Raw string `json:"raw"`
					} `json:"author"`
				} `json:"target"`
			} `json:"new"`
			Links *struct {
				HTML *struct {
					Href string `json:"href"`
				} `json:"html"`
			} `json:"links"`
		} `json:"changes"`
	} `json:"push"`
}

// GitHubCommitCap is the most commits GitHub is known to list in a push
// (its documentation states 20 for timeline events and 2,048 for webhook
// deliveries; deliveries of exactly 20 have been reported): a push listing
// this many or more is taken as possibly truncated.
const GitHubCommitCap = 20

func observePush(ev workflows.Event, projects []string) (Observation, error) {
	pushes, err := workflows.PushesOfEvent(ev)
	if err != nil {
		return Observation{}, err
	}
	var x pushExtra
	if err := json.Unmarshal(ev.Payload, &x); err != nil {
		return Observation{}, err
	}
	received := ev.ReceivedAt.UnixMilli()
	var obs Observation
	for i, p := range pushes {
		obs.Repo = Repo{Provider: ev.Source, Host: p.Host, Owner: p.Owner, Name: p.Repo, URL: repoURL(ev, p, x)}
		name, ok := strings.CutPrefix(p.Ref, "refs/heads/")
		if !ok {
			continue // tags
		}
		var commits []Commit
		for _, c := range p.Commits {
			commits = append(commits, Commit{ID: c.ID, Message: clip(c.Message), URL: commitURL(obs.Repo, c.ID, c.URL), Author: c.Author,
				Email: c.AuthorEmail, Time: stamp(c.Timestamp), Keys: keysIn(projects, c.Message)})
		}
		head := Commit{ID: p.After}
		at := int64(0)
		switch {
		case ev.Source == workflows.SourceGitHub:
			if x.Repository != nil {
				at = pushedAt(x.Repository.PushedAt)
			}
			if h := x.HeadCommit; h != nil && h.ID == p.After {
				head = Commit{ID: h.ID, Message: clip(h.Message), URL: h.URL, Time: h.Timestamp}
				if h.Author != nil {
					head.Author, head.Email = h.Author.Name, h.Author.Email
				}
			}
			if len(p.Commits) >= GitHubCommitCap && x.Compare != "" {
				obs.Truncated = append(obs.Truncated, fmt.Sprintf("%s: GitHub listed %d commits; all of them: %s", p.Ref, len(p.Commits), x.Compare))
			}
		case ev.Source == workflows.SourceGitLab:
			if p.Truncated {
				obs.Truncated = append(obs.Truncated, fmt.Sprintf("%s: GitLab listed %d of %d commits; all of them: %s/-/compare/%s...%s",
					p.Ref, len(p.Commits), x.TotalCommitsCount, obs.Repo.URL, p.Before, p.After))
			}
		case ev.Type == "repo:push":
			if x.Push != nil && i < len(x.Push.Changes) {
				c := x.Push.Changes[i]
				if c.New != nil && c.New.Target != nil && c.New.Target.Hash == p.After {
					t := c.New.Target
					head = Commit{ID: t.Hash, Message: clip(t.Message), Time: t.Date}
					if t.Author != nil {
						head.Author, head.Email = splitAuthor(t.Author.Raw)
					}
				}
				if p.Truncated {
					compare := obs.Repo.URL + "/commits/branch/" + name
					if c.Links != nil && c.Links.HTML != nil {
						compare = c.Links.HTML.Href
					}
					obs.Truncated = append(obs.Truncated, fmt.Sprintf("%s: Bitbucket listed the %d newest commits; all of them: %s", p.Ref, len(p.Commits), compare))
				}
			}
		default: // Bitbucket Data Center: no commits listed
			at = millis(x.Date)
		}
		for _, c := range commits {
			if c.ID == head.ID && head.Message == "" {
				head = c
			}
		}
		if at == 0 {
			// The payload has no time of the push (GitLab, Bitbucket Cloud,
			// whose commit dates may be older than the push): the
			// ingress's, which orders deliveries as they came.
			at = received
		}
		for _, c := range commits {
			if len(c.Keys) > 0 {
				c.Seq = at
				obs.Commits = append(obs.Commits, c)
			}
		}
		keys := keysIn(projects, name)
		if len(keys) == 0 {
			continue
		}
		head.URL = commitURL(obs.Repo, head.ID, head.URL)
		head.Keys = keysIn(projects, head.Message)
		obs.Branches = append(obs.Branches, Branch{Name: name, Keys: keys, At: at, Head: head, Deleted: p.Deleted})
	}
	return obs, nil
}

func repoURL(ev workflows.Event, p workflows.Push, x pushExtra) string {
	switch {
	case x.Repository != nil && x.Repository.HTMLURL != "":
		return strings.TrimSuffix(x.Repository.HTMLURL, "/")
	case x.Project != nil && x.Project.WebURL != "":
		return strings.TrimSuffix(x.Project.WebURL, "/")
	case x.Repository != nil && x.Repository.Links != nil && x.Repository.Links.HTML != nil:
		return strings.TrimSuffix(x.Repository.Links.HTML.Href, "/")
	}
	host := p.Host
	if host == "" {
		host = ev.Integration
	}
	switch ev.Source {
	case workflows.SourceGitHub, workflows.SourceGitLab:
		return "https://" + host + "/" + p.Owner + "/" + p.Repo
	}
	if ev.Type == "repo:refs_changed" || strings.HasPrefix(ev.Type, "pr:") {
		return "https://" + host + "/projects/" + p.Owner + "/repos/" + p.Repo
	}
	return "https://" + host + "/" + p.Owner + "/" + p.Repo
}

// commitURL is the commit's page: the payload's, else the provider's URL
// scheme under the repository's.
func commitURL(r Repo, id, given string) string {
	switch {
	case given != "":
		return given
	case id == "":
		return r.URL
	case r.Provider == workflows.SourceGitLab:
		return r.URL + "/-/commit/" + id
	case r.Provider == workflows.SourceBitbucket && strings.Contains(r.URL, "/projects/"):
		return r.URL + "/commits/" + id
	case r.Provider == workflows.SourceBitbucket:
		return r.URL + "/commits/" + id
	}
	return r.URL + "/commit/" + id
}

func clip(s string) string {
	if len(s) <= MaxMessage {
		return s
	}
	cut := MaxMessage
	for cut > 0 && s[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
		cut--
	}
	return s[:cut]
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// pushedAt reads GitHub's repository.pushed_at: Unix seconds in push
// payloads (an RFC 3339 string elsewhere).
func pushedAt(raw json.RawMessage) int64 {
	var n int64
	if json.Unmarshal(raw, &n) == nil && n > 0 {
		return n * 1000
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return millis(s)
	}
	return 0
}

// millis reads a sender's time: RFC 3339, or Bitbucket Data Center's
// 2006-01-02T15:04:05-0700. Anything else is 0.
func millis(s string) int64 {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05-0700", "2006-01-02 15:04:05 MST"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli()
		}
	}
	return 0
}

func splitAuthor(raw string) (name, email string) {
	if i := strings.IndexByte(raw, '<'); i >= 0 && strings.HasSuffix(raw, ">") {
		return strings.TrimSpace(raw[:i]), raw[i+1 : len(raw)-1]
	}
	return strings.TrimSpace(raw), ""
}

// ProjectedPaths are the payload paths Observe reads, for payloads held by
// reference (over 256 KiB). Pushes are read without their commit lists
// (which is what makes them large): such a push counts as truncated.
var ProjectedPaths = map[string][]string{
	"push": {"ref", "before", "after", "created", "deleted", "forced", "compare", "repository", "pusher", "head_commit",
		"project", "user_username", "total_commits_count", "date", "actor", "changes"},
}
