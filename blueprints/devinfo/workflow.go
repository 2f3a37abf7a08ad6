// Package devinfo shows development activity (commits from pushes,
// branches created and deleted, pull requests opened, updated, merged and
// declined) on the Jira issues it names, from GitHub/GHES, GitLab and
// Bitbucket Cloud/Data Center. One workflow per repository folds its
// events into what Jira should hold and, once a burst is over, writes the
// difference: to Jira Cloud's Development Information API (entities with
// update sequence IDs, so an older update never overwrites a newer one),
// or, for Jira Data Center, as remote links and one comment per issue kept
// up to date with the latest commits.
package devinfo

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/activities/classify"
	jiraact "github.com/hookflow/hookflow/activities/jira"
	"github.com/hookflow/hookflow/activities/payload"
	"github.com/hookflow/hookflow/blueprints/prjira"
	"github.com/hookflow/hookflow/workflows"
)

// Name is the blueprint's name.
const Name = "devinfo"

// WorkflowName is the registered workflow type.
const WorkflowName = "devinfo.Repository"

// MaxPerUpload is how many commits, branches and pull requests (each) one
// call to the Development Information API carries; more are sent in
// further calls.
const MaxPerUpload = 100

// RetryRounds and RetryEvery bound how a repository's workflow waits out a
// Jira that stays down after an activity's own retries (a day): another
// round of what could not be written every RetryEvery, at most RetryRounds
// times (another day). Events arriving meanwhile wait in the signal
// channel; nothing is lost.
const (
	RetryRounds = 96
	RetryEvery  = 15 * time.Minute
)

// Input is the workflow input; the zero value (with settings) starts a new
// repository.
type Input struct {
	// State is the entity loop's state, carried across continue-as-new.
	State workflows.EntityState
	// Settings are the blueprint's settings when the repository's workflow
	// started.
	Settings Settings
	// Jira is what the workflow knows and has written, carried across
	// continue-as-new.
	Jira State `json:",omitzero"`
}

// State is what one repository's workflow knows and has done.
type State struct {
	Facts Facts `json:"facts"`
	// Uploads counts the Development Information API calls that
	// succeeded (bulk uploads and branch deletions).
	Uploads int `json:"uploads,omitempty"`
	// Data Center only:
	// Checked says, per key asked about, whether the issue exists.
	Checked map[string]bool `json:"checked,omitempty"`
	// Links holds the remote links written, "globalId KEY" → fingerprint.
	Links map[string]string `json:"links,omitempty"`
	// Recent are the latest commits naming each key, newest first.
	Recent map[string][]Commit `json:"recent,omitempty"`
	// Total counts the commits seen naming each key.
	Total map[string]int `json:"total,omitempty"`
	// Stale are the keys whose comment must be written again.
	Stale []string `json:"stale,omitempty"`
	// Outcomes record what could not be done, once each, the newest
	// MaxOutcomes.
	Outcomes []Outcome `json:"outcomes,omitempty"`
}

// Outcome is one thing devinfo could not do, or did only in part, and why.
type Outcome struct {
	Key string `json:"key,omitempty"`
	// Step is "push", "upload", "delete", "check", "link", "unlink" or
	// "comment".
	Step string `json:"step"`
	// Result is "truncated" (the sender listed only some commits),
	// "unknown key", "failed entity" (Jira refused one entity) or
	// "refused" (Jira answered 4xx).
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
}

// Output is the workflow result.
type Output struct {
	Applied  int
	Dropped  int
	Uploads  int
	Outcomes []Outcome
}

// QueryState is the query that answers a repository workflow's Output so
// far (its outcomes: truncated pushes, unknown keys, refusals): the
// workflow runs for as long as its repository sends events.
const QueryState = "devinfo.state"

// Register registers the blueprint's workflow.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(Repository, workflow.RegisterOptions{Name: WorkflowName})
}

// Repository is the workflow of one repository.
func Repository(ctx workflow.Context, in Input) (Output, error) {
	st := in.Jira
	s := in.Settings
	if s.Mode == "" {
		s.Mode = ModeCloud
	}
	if s.Commits <= 0 {
		s.Commits = DefaultCommits
	}
	entity := workflows.NewEntity(in.State)
	entity.Quiet = s.Settle
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (Output, error) {
		es := entity.State()
		return Output{Applied: es.Applied, Dropped: es.Dropped, Uploads: st.Uploads, Outcomes: st.Outcomes}, nil
	}); err != nil {
		return Output{}, err
	}
	write := func(ctx workflow.Context) error {
		for round := 1; st.write(ctx, s) && round < RetryRounds; round++ {
			workflow.GetLogger(ctx).Warn("Jira calls failed; trying again", "round", round, "in", RetryEvery)
			if err := workflow.Sleep(ctx, RetryEvery); err != nil {
				return err
			}
		}
		return nil
	}
	apply := func(ctx workflow.Context, ev workflows.Event) (bool, error) {
		o, err := observe(ctx, ev, s.Projects)
		if err != nil {
			workflow.GetLogger(ctx).Warn("event not understood", "delivery_id", ev.DeliveryID, "error", err)
			return false, nil
		}
		now := workflow.Now(ctx).UnixMilli()
		if st.Facts.Fold(o) && st.Facts.Since == 0 {
			st.Facts.Since = now
		}
		for _, t := range o.Truncated {
			st.record(Outcome{Step: "push", Result: "truncated", Error: t})
		}
		// A steady stream never Settle apart still writes every MaxDelay.
		if st.Facts.Since != 0 && s.MaxDelay > 0 && now-st.Facts.Since >= s.MaxDelay.Milliseconds() {
			return false, write(ctx)
		}
		return false, nil
	}
	entity.Settle = func(ctx workflow.Context) (bool, error) { return false, write(ctx) }
	err := entity.Run(ctx, apply, func(es workflows.EntityState) error {
		return workflow.NewContinueAsNewError(ctx, WorkflowName, Input{State: es, Settings: in.Settings, Jira: st})
	})
	es := entity.State()
	return Output{Applied: es.Applied, Dropped: es.Dropped, Uploads: st.Uploads, Outcomes: st.Outcomes}, err
}

// observe reads ev's observation: from the payload itself, or, for a
// payload held by reference, from a projection of the paths Observe reads
// (a push then counts as truncated: its commit list is not read).
func observe(ctx workflow.Context, ev workflows.Event, projects []string) (Observation, error) {
	if ev.PayloadRef == "" {
		return Observe(ev, ev.Payload, projects)
	}
	paths, push := prjira.ProjectedPaths[ev.Source], false
	if ev.Type == "push" || ev.Type == "repo:push" || ev.Type == "repo:refs_changed" {
		paths, push = ProjectedPaths["push"], true
	}
	p, err := payload.Project(workflows.ConnectorCall(ctx), ev, paths...)
	if err != nil {
		return Observation{}, err
	}
	o, err := Observe(ev, prjira.Rebuild(p.Values), projects)
	if push && err == nil {
		o.Truncated = append(o.Truncated, fmt.Sprintf("%s: a %d-byte push, read without its commit list", ev.Key(workflows.KeyRef), ev.PayloadSize))
	}
	return o, err
}

// write makes Jira hold what the facts say; it returns whether a call
// failed in a way another round may fix.
func (st *State) write(ctx workflow.Context, s Settings) (retry bool) {
	if !st.Facts.Dirty() && len(st.Stale) == 0 {
		st.Facts.Since = 0
		return false
	}
	ctx = workflows.ConnectorCall(ctx)
	if s.Mode == ModeDataCenter {
		retry = st.link(ctx, s)
	} else {
		retry = st.upload(ctx, s)
	}
	if !st.Facts.Dirty() {
		st.Facts.Since = 0
	}
	return retry
}

// upload sends the dirty entities to the Development Information API, at
// most MaxPerUpload of each kind per call, then deletes deleted branches.
func (st *State) upload(ctx workflow.Context, s Settings) (retry bool) {
	f := &st.Facts
	var branches []*Branch
	var deleted []*Branch
	for _, name := range sortedKeys(f.Branches) {
		b := f.Branches[name]
		switch {
		case b.Dirty && b.Deleted:
			deleted = append(deleted, b)
		case b.Dirty:
			branches = append(branches, b)
		}
	}
	var prs []*PullRequest
	for _, id := range sortedKeys(f.PullRequests) {
		if p := f.PullRequests[id]; p.Dirty {
			prs = append(prs, p)
		}
	}
	slices.SortFunc(prs, func(a, b *PullRequest) int { return a.Number - b.Number })
	commits := slices.Clone(f.Pending)
	for i := 0; i*MaxPerUpload < max(len(commits), len(branches), len(prs)); i++ {
		cs, bs, ps := window(commits, i), window(branches, i), window(prs, i)
		repo := jiraact.DevRepository{ID: f.Repo.ID(), Name: f.Repo.Path(), URL: f.Repo.URL, UpdateSequenceID: workflow.Now(ctx).UnixMilli()}
		for _, c := range cs {
			repo.Commits = append(repo.Commits, devCommit(c))
		}
		for _, b := range bs {
			repo.Branches = append(repo.Branches, jiraact.DevBranch{ID: EntityID(b.Name), Name: b.Name, URL: branchURL(f.Repo, b.Name),
				IssueKeys: b.Keys, UpdateSequenceID: b.Seq, LastCommit: devCommit(withSeq(b.Head, b.Seq))})
		}
		for _, p := range ps {
			repo.PullRequests = append(repo.PullRequests, jiraact.DevPullRequest{ID: fmt.Sprint(p.Number), Status: p.Status, Title: p.Title,
				URL: p.URL, DisplayID: displayID(f.Repo, p.Number), IssueKeys: p.Keys, UpdateSequenceID: p.Seq, AuthorName: p.Author,
				SourceBranch: p.Source, DestinationBranch: p.Dest, LastUpdate: time.UnixMilli(p.At).UTC().Format(time.RFC3339)})
		}
		in := jiraact.UploadDevInfoInput{Installation: s.Site, Repositories: []jiraact.DevRepository{repo}}
		var out jiraact.UploadDevInfoOutput
		err := workflow.ExecuteActivity(ctx, jiraact.UploadDevInfo, in).Get(ctx, &out)
		if err != nil {
			if st.failed(ctx, "", "upload", err) {
				return true
			}
			if errorType(err) == classify.TypeAuth {
				// The credential may be fixed: keep everything for the
				// next event's write rather than drop it.
				return false
			}
		} else {
			st.Uploads++
			for _, k := range out.UnknownIssueKeys {
				st.record(Outcome{Key: k, Step: "upload", Result: "unknown key"})
			}
			for _, m := range out.Failed {
				st.record(Outcome{Step: "upload", Result: "failed entity", Error: m})
			}
		}
		// Written (or refused for good, and recorded): clean.
		for _, c := range cs {
			f.Pending = slices.DeleteFunc(f.Pending, func(p Commit) bool { return p.ID == c.ID })
		}
		for _, b := range bs {
			b.Dirty = false
		}
		for _, p := range ps {
			p.Dirty = false
		}
	}
	for _, b := range deleted {
		in := jiraact.DeleteDevBranchInput{Installation: s.Site, RepositoryID: f.Repo.ID(), BranchID: EntityID(b.Name), UpdateSequenceID: b.Seq}
		if err := workflow.ExecuteActivity(ctx, jiraact.DeleteDevBranch, in).Get(ctx, nil); err != nil {
			if st.failed(ctx, "", "delete", err) {
				retry = true
				continue
			}
			if errorType(err) == classify.TypeAuth {
				continue
			}
		} else {
			st.Uploads++
		}
		b.Dirty = false
	}
	return retry
}

func window[T any](s []T, i int) []T {
	lo := min(i*MaxPerUpload, len(s))
	return s[lo:min(lo+MaxPerUpload, len(s))]
}

func withSeq(c Commit, seq int64) Commit {
	c.Seq = seq
	return c
}

func devCommit(c Commit) jiraact.DevCommit {
	display := c.ID
	if len(display) > 7 {
		display = display[:7]
	}
	msg := c.Message
	if msg == "" {
		msg = display
	}
	keys := c.Keys
	if keys == nil {
		keys = []string{}
	}
	return jiraact.DevCommit{ID: c.ID, Hash: c.ID, DisplayID: display, Message: msg, URL: c.URL, IssueKeys: keys, UpdateSequenceID: c.Seq,
		AuthorName: c.Author, AuthorEmail: c.Email, AuthorTimestamp: c.Time}
}

func branchURL(r Repo, name string) string {
	switch {
	case r.Provider == workflows.SourceGitLab:
		return r.URL + "/-/tree/" + name
	case r.Provider == workflows.SourceBitbucket && strings.Contains(r.URL, "/projects/"):
		return r.URL + "/browse?at=refs/heads/" + name
	case r.Provider == workflows.SourceBitbucket:
		return r.URL + "/branch/" + name
	}
	return r.URL + "/tree/" + name
}

func displayID(r Repo, n int) string {
	if r.Provider == workflows.SourceGitLab {
		return fmt.Sprintf("!%d", n)
	}
	return fmt.Sprintf("#%d", n)
}

// link keeps, on every issue the repository's branches and pull requests
// name, one remote link per branch and pull request, and one comment
// listing the latest commits naming the issue (Jira Data Center).
func (st *State) link(ctx workflow.Context, s Settings) (retry bool) {
	f := &st.Facts
	for _, m := range []*map[string]string{&st.Links} {
		if *m == nil {
			*m = map[string]string{}
		}
	}
	if st.Checked == nil {
		st.Checked = map[string]bool{}
	}
	if st.Recent == nil {
		st.Recent, st.Total = map[string][]Commit{}, map[string]int{}
	}
	known := func(k string) bool {
		if _, ok := st.Checked[k]; !ok {
			exists, decided := st.check(ctx, s.Site, k)
			if !decided {
				retry = true
				return false
			}
			st.Checked[k] = exists
		}
		return st.Checked[k]
	}
	// Commits first: they only change the comments, which come last.
	for _, c := range f.Pending {
		for _, k := range c.Keys {
			if !slices.ContainsFunc(st.Recent[k], func(r Commit) bool { return r.ID == c.ID }) {
				st.Recent[k] = append([]Commit{c}, st.Recent[k]...)
				if len(st.Recent[k]) > s.Commits {
					st.Recent[k] = st.Recent[k][:s.Commits]
				}
				st.Total[k]++
				if !slices.Contains(st.Stale, k) {
					st.Stale = append(st.Stale, k)
				}
			}
		}
	}
	f.Pending = nil
	type target struct {
		gid     string
		keys    []string
		link    jiraact.RemoteLink
		deleted bool
		clean   func()
	}
	var targets []target
	for _, name := range sortedKeys(f.Branches) {
		b := f.Branches[name]
		if !b.Dirty {
			continue
		}
		gid := fmt.Sprintf("hookflow-devinfo:branch:%s/%s", f.Repo.Host+"/"+f.Repo.Path(), name)
		l := jiraact.RemoteLink{GlobalID: gid, URL: branchURL(f.Repo, name), Title: fmt.Sprintf("%s branch %s", f.Repo.Path(), name),
			Summary: "Branch; last commit " + short(b.Head.ID), Relationship: "branch"}
		targets = append(targets, target{gid, b.Keys, l, b.Deleted, func() { b.Dirty = false }})
	}
	for _, id := range sortedKeys(f.PullRequests) {
		p := f.PullRequests[id]
		if !p.Dirty {
			continue
		}
		gid := fmt.Sprintf("hookflow-devinfo:pr:%s/%d", f.Repo.Host+"/"+f.Repo.Path(), p.Number)
		l := jiraact.RemoteLink{GlobalID: gid, URL: p.URL, Title: fmt.Sprintf("%s%s: %s", f.Repo.Path(), displayID(f.Repo, p.Number), p.Title),
			Summary: fmt.Sprintf("Pull request %s from %s", strings.ToLower(p.Status), p.Source), Relationship: "pull request",
			Resolved: p.Status != "OPEN"}
		targets = append(targets, target{gid, p.Keys, l, false, func() { p.Dirty = false }})
	}
	for _, t := range targets {
		ok := true
		// Keys the entity no longer names (a title edit), or all of them
		// for a deleted branch: their link goes.
		for _, lk := range sortedKeys(st.Links) {
			gid, k, _ := strings.Cut(lk, " ")
			if gid != t.gid || (!t.deleted && slices.Contains(t.keys, k)) {
				continue
			}
			in := jiraact.DeleteRemoteLinkInput{Installation: s.Site, Key: k, GlobalID: gid}
			if err := workflow.ExecuteActivity(ctx, jiraact.DeleteRemoteLink, in).Get(ctx, nil); err != nil && st.failed(ctx, k, "unlink", err) {
				retry, ok = true, false
				continue
			}
			delete(st.Links, lk)
		}
		if !t.deleted {
			fp := fingerprint(t.link)
			for _, k := range t.keys {
				if st.Links[t.gid+" "+k] == fp || !known(k) {
					continue
				}
				in := jiraact.AddRemoteLinkInput{Installation: s.Site, Key: k, Link: t.link}
				if err := workflow.ExecuteActivity(ctx, jiraact.AddRemoteLink, in).Get(ctx, nil); err != nil {
					if st.failed(ctx, k, "link", err) {
						retry, ok = true, false
					}
					continue
				}
				st.Links[t.gid+" "+k] = fp
			}
		}
		if ok {
			t.clean()
		}
	}
	slices.Sort(st.Stale)
	var stale []string
	for _, k := range st.Stale {
		if !known(k) {
			if _, decided := st.Checked[k]; !decided {
				stale = append(stale, k)
			}
			continue
		}
		in := jiraact.UpsertCommentInput{Installation: s.Site, Key: k, Body: st.comment(k), Marker: "hookflow-devinfo:commits:" + f.Repo.Host + "/" + f.Repo.Path()}
		if err := workflow.ExecuteActivity(ctx, jiraact.UpsertComment, in).Get(ctx, nil); err != nil && st.failed(ctx, k, "comment", err) {
			retry = true
			stale = append(stale, k)
		}
	}
	st.Stale = stale
	return retry
}

// comment is the one comment on issue k listing the repository's latest
// commits naming it (Jira wiki markup).
func (st *State) comment(k string) string {
	r := st.Facts.Repo
	var b strings.Builder
	n := st.Total[k]
	fmt.Fprintf(&b, "Commits naming %s in [%s|%s] (latest %d of %d, kept up to date by Hookflow):\n", k, r.Path(), r.URL, len(st.Recent[k]), n)
	for _, c := range st.Recent[k] {
		first, _, _ := strings.Cut(c.Message, "\n")
		first = strings.NewReplacer("|", "/", "[", "(", "]", ")").Replace(first)
		fmt.Fprintf(&b, "* [%s|%s] %s", short(c.ID), c.URL, first)
		if c.Author != "" {
			fmt.Fprintf(&b, " (%s", c.Author)
			if c.Time != "" {
				fmt.Fprintf(&b, ", %s", c.Time)
			}
			b.WriteString(")")
		}
		b.WriteString("\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func short(id string) string {
	if len(id) > 7 {
		return id[:7]
	}
	return id
}

func fingerprint(l jiraact.RemoteLink) string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%t", l.URL, l.Title, l.Summary, l.Relationship, l.Resolved)
}

// check asks Jira whether key names an issue the credential sees; decided
// is false when Jira could not say, and the key is asked about again.
func (st *State) check(ctx workflow.Context, site, key string) (exists, decided bool) {
	in := jiraact.GetIssueInput{Installation: site, Key: key, Fields: []string{"status"}}
	err := workflow.ExecuteActivity(ctx, jiraact.GetIssue, in).Get(ctx, nil)
	if err == nil {
		return true, true
	}
	if errorType(err) == classify.TypeNotFound {
		st.record(Outcome{Key: key, Step: "check", Result: "unknown key", Error: err.Error()})
		return false, true
	}
	return false, !st.failed(ctx, key, "check", err)
}

// failed handles a call that failed after its retries: a permanent
// refusal (a 4xx) is recorded; anything else is logged and reported for
// another round.
func (st *State) failed(ctx workflow.Context, key, step string, err error) (retry bool) {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		st.record(Outcome{Key: key, Step: step, Result: "refused", Error: err.Error()})
		return false
	}
	workflow.GetLogger(ctx).Warn("Jira call failed", "issue", key, "step", step, "error", err)
	return true
}

func (st *State) record(o Outcome) {
	if slices.Contains(st.Outcomes, o) {
		return
	}
	st.Outcomes = append(st.Outcomes, o)
	if len(st.Outcomes) > MaxOutcomes {
		st.Outcomes = st.Outcomes[len(st.Outcomes)-MaxOutcomes:]
	}
}

func errorType(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type()
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
