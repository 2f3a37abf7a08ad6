// Package prjira keeps Jira in step with pull and merge requests from
// GitHub/GHES, GitLab and Bitbucket Cloud/Data Center: one workflow per
// pull request computes, from everything it has seen, the Jira state the
// pull request should leave (a remote link on each issue it names, the
// issue's status, the merge or close comment) and applies the difference.
// Any order or repetition of the same deliveries converges to the same
// Jira state; every call is idempotent (links by global ID, comments by
// marker, transitions by target status).
package prjira

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
	ghact "github.com/hookflow/hookflow/activities/github"
	jiraact "github.com/hookflow/hookflow/activities/jira"
	"github.com/hookflow/hookflow/activities/payload"
	"github.com/hookflow/hookflow/workflows"
)

// Name is the blueprint's name.
const Name = "prjira"

// WorkflowName is the registered workflow type.
const WorkflowName = "prjira.PullRequest"

// Input is the workflow input; the zero value (with settings) starts a new
// pull request.
type Input struct {
	// State is the entity loop's state, carried across continue-as-new.
	State workflows.EntityState
	// Settings are the blueprint's settings when the pull request's
	// workflow started.
	Settings Settings
	// Jira is what the workflow has seen and done, carried across
	// continue-as-new.
	Jira State `json:",omitzero"`
}

// State is what one pull request's workflow knows: the facts of the pull
// request and what it has made Jira hold.
type State struct {
	Facts Facts `json:"facts"`
	// Integration is the integration the pull request's events arrive on
	// (it selects the settings' override).
	Integration string `json:"integration,omitempty"`
	// Installation is the GitHub App installation of a GitHub pull
	// request, for its token.
	Installation string `json:"installation,omitempty"`
	// PRComment is the body of the pull request comment last written.
	PRComment string `json:"pr_comment,omitempty"`
	// Checked says, per key asked about, whether the issue exists and the
	// credential sees it; each key is asked about once.
	Checked map[string]bool `json:"checked,omitempty"`
	// Links holds, per issue, the link last written (its fingerprint).
	Links map[string]string `json:"links,omitempty"`
	// Statuses holds, per issue, the status last reached or attempted.
	Statuses map[string]string `json:"statuses,omitempty"`
	// Comments are the markers of the comments posted, "KEY marker".
	Comments []string `json:"comments,omitempty"`
	// Outcomes record what could not be done (a missing transition, an
	// unknown key), once each.
	Outcomes []Outcome `json:"outcomes,omitempty"`
}

// Outcome is one thing prjira could not do in Jira, and why.
type Outcome struct {
	Key string `json:"key"`
	// Step is "check", "link", "unlink", "transition" or "comment".
	Step string `json:"step"`
	// Result is "unknown key", "missing transition" or "refused" (Jira
	// answered 4xx).
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
}

// Output is the workflow result.
type Output struct {
	Applied  int
	Dropped  int
	Linked   []string
	Outcomes []Outcome
}

// RetryRounds and RetryEvery bound how a pull request's workflow waits
// out a Jira that stays down after an activity's own retries: another
// round of the calls that failed every RetryEvery, at most RetryRounds
// times (a day).
const (
	RetryRounds = 96
	RetryEvery  = 15 * time.Minute
)

// Register registers the blueprint's workflow.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(PullRequest, workflow.RegisterOptions{Name: WorkflowName})
}

// PullRequest is the workflow of one pull or merge request.
func PullRequest(ctx workflow.Context, in Input) (Output, error) {
	st := in.Jira
	entity := workflows.NewEntity(in.State)
	entity.Quiet = in.Settings.For("").Settle
	apply := func(ctx workflow.Context, ev workflows.Event) (bool, error) {
		o, err := observe(ctx, ev)
		if err != nil {
			workflow.GetLogger(ctx).Warn("event not understood", "delivery_id", ev.DeliveryID, "error", err)
			return false, nil
		}
		if st.Integration == "" {
			st.Integration = ev.Integration
		}
		if i := ev.Key(workflows.KeyInstallation); i != "" {
			st.Installation = i
		}
		if ev.Source == workflows.SourceGitHub && readsCommits(ev.Action) && in.Settings.For(st.Integration).ReadCommits {
			o.Commits = commits(ctx, st.Installation, o)
		}
		st.Facts = st.Facts.Fold(o)
		return false, nil
	}
	entity.Settle = func(ctx workflow.Context) (bool, error) {
		if st.Facts.Latest.Number == 0 {
			return false, nil
		}
		// Jira may be down longer than an activity retries (a day in
		// production): what could not be done is tried again, in rounds,
		// for as long again; nothing is lost while Jira is away.
		for round := 1; reconcile(ctx, &st, in.Settings.For(st.Integration)) && round < RetryRounds; round++ {
			workflow.GetLogger(ctx).Warn("Jira calls failed; trying again", "round", round, "in", RetryEvery)
			if err := workflow.Sleep(ctx, RetryEvery); err != nil {
				return false, err
			}
		}
		return st.Facts.Latest.State != workflows.PullRequestOpen, nil
	}
	err := entity.Run(ctx, apply, func(es workflows.EntityState) error {
		return workflow.NewContinueAsNewError(ctx, WorkflowName, Input{State: es, Settings: in.Settings, Jira: st})
	})
	es := entity.State()
	out := Output{Applied: es.Applied, Dropped: es.Dropped, Linked: sortedKeys(st.Links), Outcomes: st.Outcomes}
	return out, err
}

func readsCommits(action string) bool {
	return action == "opened" || action == "reopened" || action == "synchronize"
}

// gitCall is the preset for the git server's API: a few attempts, then
// prjira goes on without (the Jira side never waits on the git server).
func gitCall(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 3},
	})
}

// commits returns the messages of a GitHub pull request's commits; none
// when GitHub cannot say (no token, down): keys from the title and branch
// still count.
func commits(ctx workflow.Context, installation string, o Observation) []string {
	in := ghact.ListPullRequestCommitsInput{Installation: installation, Owner: o.Owner, Repo: o.Repo, Number: o.Number}
	var out ghact.ListPullRequestCommitsOutput
	if err := workflow.ExecuteActivity(gitCall(ctx), ghact.ListPullRequestCommits, in).Get(ctx, &out); err != nil {
		workflow.GetLogger(ctx).Warn("pull request commits not read", "error", err)
		return nil
	}
	msgs := make([]string, len(out.Commits))
	for i, c := range out.Commits {
		msgs[i] = c.Message
	}
	return msgs
}

// observe reads the observation of ev: from the payload itself, or, for a
// payload held by reference, from a projection of the paths Observe reads.
func observe(ctx workflow.Context, ev workflows.Event) (Observation, error) {
	if ev.PayloadRef == "" {
		return Observe(ev, ev.Payload)
	}
	p, err := payload.Project(workflows.ConnectorCall(ctx), ev, ProjectedPaths[ev.Source]...)
	if err != nil {
		return Observation{}, err
	}
	return Observe(ev, Rebuild(p.Values))
}

// Link is the remote link a pull request leaves on each issue it names.
func (f Facts) Link() jiraact.RemoteLink {
	o := f.Latest
	sep, noun := "#", "Pull request"
	if o.Provider == workflows.SourceGitLab {
		sep, noun = "!", "Merge request"
	}
	url := o.URL
	if url == "" {
		// Payloads that name no web URL (Bitbucket Data Center's often
		// do not): the provider's URL scheme on the event's host.
		url = fmt.Sprintf("https://%s/%s/%s/pull/%d", o.Host, o.Owner, o.Repo, o.Number)
		switch o.Provider {
		case workflows.SourceGitLab:
			url = fmt.Sprintf("https://%s/%s/%s/-/merge_requests/%d", o.Host, o.Owner, o.Repo, o.Number)
		case workflows.SourceBitbucket:
			url = fmt.Sprintf("https://%s/projects/%s/repos/%s/pull-requests/%d", o.Host, o.Owner, o.Repo, o.Number)
		}
	}
	return jiraact.RemoteLink{
		GlobalID:     f.GlobalID(),
		URL:          url,
		Title:        fmt.Sprintf("%s/%s%s%d: %s", o.Owner, o.Repo, sep, o.Number, o.Title),
		Summary:      fmt.Sprintf("%s %s from %s", noun, o.State, o.Branch),
		Relationship: strings.ToLower(noun),
		Resolved:     o.State != workflows.PullRequestOpen,
	}
}

// GlobalID identifies the pull request's links in Jira.
func (f Facts) GlobalID() string {
	o := f.Latest
	return fmt.Sprintf("hookflow-prjira:%s:%s/%s/%s/%d", o.Provider, o.Host, o.Owner, o.Repo, o.Number)
}

// Status returns the status the facts want each linked issue in ("" for
// none).
func (f Facts) Status(e Effective) string {
	switch {
	case f.Latest.State == workflows.PullRequestMerged:
		return e.DoneStatus
	case f.Latest.State == workflows.PullRequestClosed:
		return e.ClosedStatus
	case f.Review && !f.Latest.Draft:
		return e.ReviewStatus
	}
	return ""
}

// Comment returns the comment the facts want on each linked issue, and its
// marker ("" for none).
func (f Facts) Comment(e Effective) (body, marker string) {
	o := f.Latest
	link := fmt.Sprintf("[%s|%s]", wikiText(f.Link().Title), f.Link().URL)
	switch {
	case o.State == workflows.PullRequestMerged && e.CommentOnMerge:
		body = link + " was merged"
		if f.MergeSHA != "" {
			body += " as " + f.MergeSHA
		}
		return body + ".", "prjira:" + f.GlobalID() + ":merged"
	case o.State == workflows.PullRequestClosed && e.CommentOnClose:
		return link + " was closed without merging.", fmt.Sprintf("prjira:%s:closed:%d", f.GlobalID(), o.Version)
	}
	return "", ""
}

// wikiText keeps a title from breaking Jira's [text|url] markup.
func wikiText(s string) string {
	return strings.NewReplacer("|", "/", "[", "(", "]", ")").Replace(s)
}

func fingerprint(l jiraact.RemoteLink) string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%t", l.URL, l.Title, l.Summary, l.Relationship, l.Resolved)
}

// reconcile makes Jira hold what the facts want: it checks new keys,
// removes the links of keys no longer named, writes changed links, moves
// issues to the wanted status and posts the wanted comment. It changes
// only what differs from what st says Jira holds. It returns whether a
// call failed in a way another round may fix (Jira down, rate limits past
// the activity's retries); permanent refusals are recorded as Outcomes.
func reconcile(ctx workflow.Context, st *State, e Effective) (retry bool) {
	if st.Checked == nil {
		st.Checked = map[string]bool{}
	}
	if st.Links == nil {
		st.Links = map[string]string{}
	}
	if st.Statuses == nil {
		st.Statuses = map[string]string{}
	}
	ctx = workflows.ConnectorCall(ctx)
	var linked []string
	for _, k := range st.Facts.Wanted(e.Projects) {
		if _, ok := st.Checked[k]; !ok {
			if exists, decided := check(ctx, st, e.Site, k); decided {
				st.Checked[k] = exists
			} else {
				retry = true
			}
		}
		if st.Checked[k] {
			linked = append(linked, k)
		}
	}
	gid := st.Facts.GlobalID()
	for _, k := range sortedKeys(st.Links) {
		if slices.Contains(linked, k) {
			continue
		}
		in := jiraact.DeleteRemoteLinkInput{Installation: e.Site, Key: k, GlobalID: gid}
		if err := workflow.ExecuteActivity(ctx, jiraact.DeleteRemoteLink, in).Get(ctx, nil); err != nil {
			retry = st.failed(ctx, k, "unlink", err) || retry
			continue
		}
		delete(st.Links, k)
	}
	link := st.Facts.Link()
	status := st.Facts.Status(e)
	body, marker := st.Facts.Comment(e)
	for _, k := range linked {
		if fp := fingerprint(link); st.Links[k] != fp {
			in := jiraact.AddRemoteLinkInput{Installation: e.Site, Key: k, Link: link}
			if err := workflow.ExecuteActivity(ctx, jiraact.AddRemoteLink, in).Get(ctx, nil); err != nil {
				retry = st.failed(ctx, k, "link", err) || retry
				continue
			}
			st.Links[k] = fp
		}
		if status != "" && st.Statuses[k] != status {
			in := jiraact.TransitionToStatusInput{Installation: e.Site, Key: k, Status: status}
			err := workflow.ExecuteActivity(ctx, jiraact.TransitionToStatus, in).Get(ctx, nil)
			switch {
			case errorType(err) == jiraact.TypeTransitionNotFound:
				// Recorded once and not retried: the issue's workflow has no
				// way there, and retrying cannot make one.
				st.record(Outcome{Key: k, Step: "transition", Result: "missing transition", Error: err.Error()})
				st.Statuses[k] = status
			case err != nil:
				retry = st.failed(ctx, k, "transition", err) || retry
			default:
				st.Statuses[k] = status
			}
		}
		if marker != "" && !slices.Contains(st.Comments, k+" "+marker) {
			in := jiraact.AddCommentInput{Installation: e.Site, Key: k, Body: body, Marker: marker}
			if err := workflow.ExecuteActivity(ctx, jiraact.AddComment, in).Get(ctx, nil); err != nil {
				retry = st.failed(ctx, k, "comment", err) || retry
				continue
			}
			st.Comments = append(st.Comments, k+" "+marker)
		}
	}
	if e.CommentOnPullRequest && st.Facts.Latest.Provider == workflows.SourceGitHub {
		commentOnPullRequest(ctx, st, e, linked)
	}
	return retry
}

// prCommentMarker identifies prjira's comment on a pull request.
const prCommentMarker = "hookflow:prjira:linked"

// commentOnPullRequest keeps the pull request's one comment listing the
// linked issues. A failure is logged and tried again at the next change
// of facts: the Jira side never waits on the git server.
func commentOnPullRequest(ctx workflow.Context, st *State, e Effective, linked []string) {
	if len(linked) == 0 && st.PRComment == "" {
		return
	}
	body := "Jira issues linked by Hookflow: none."
	if len(linked) > 0 {
		items := make([]string, len(linked))
		for i, k := range linked {
			items[i] = k
			if e.BrowseURL != "" {
				items[i] = fmt.Sprintf("[%s](%s/browse/%s)", k, e.BrowseURL, k)
			}
		}
		body = "Jira issues linked by Hookflow: " + strings.Join(items, ", ") + "."
	}
	if body == st.PRComment {
		return
	}
	o := st.Facts.Latest
	in := ghact.UpsertCommentInput{Installation: st.Installation, Owner: o.Owner, Repo: o.Repo, Number: o.Number, Body: body, Marker: prCommentMarker}
	if err := workflow.ExecuteActivity(gitCall(ctx), ghact.UpsertComment, in).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("pull request comment not written", "error", err)
		return
	}
	st.PRComment = body
}

// failed handles a call that failed after its retries: a permanent
// refusal (a 4xx) is recorded as an Outcome and not tried again for these
// facts; anything else is logged and reported for another round.
func (st *State) failed(ctx workflow.Context, key, step string, err error) (retry bool) {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		st.record(Outcome{Key: key, Step: step, Result: "refused", Error: err.Error()})
		return false
	}
	workflow.GetLogger(ctx).Warn("Jira call failed", "issue", key, "step", step, "error", err)
	return true
}

// check asks Jira whether key names an issue the credential sees; decided
// is false when Jira could not say (it stayed down past the retries, the
// credential is refused), and the key is asked about again next time.
func check(ctx workflow.Context, st *State, site, key string) (exists, decided bool) {
	in := jiraact.GetIssueInput{Installation: site, Key: key, Fields: []string{"status"}}
	err := workflow.ExecuteActivity(ctx, jiraact.GetIssue, in).Get(ctx, nil)
	if err == nil {
		return true, true
	}
	if errorType(err) == classify.TypeNotFound {
		// Jira answers 404 for issues that do not exist and for those the
		// credential may not see.
		st.record(Outcome{Key: key, Step: "check", Result: "unknown key", Error: err.Error()})
		return false, true
	}
	if st.failed(ctx, key, "check", err) {
		return false, false
	}
	return false, true
}

func (st *State) record(o Outcome) {
	if !slices.Contains(st.Outcomes, o) {
		st.Outcomes = append(st.Outcomes, o)
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
