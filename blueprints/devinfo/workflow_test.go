package devinfo_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	jiraact "github.com/hookflow/hookflow/activities/jira"
	"github.com/hookflow/hookflow/blueprints/blueprinttest"
	"github.com/hookflow/hookflow/blueprints/devinfo"
	"github.com/hookflow/hookflow/workflows"
)

// scenario is one repository's activity on one git server: a branch
// naming PROJ-1 pushed with a commit naming PROJ-2, a pull request from it
// opened and merged, and (where the server says so) the branch deleted.
type scenario struct {
	name   string
	events []blueprinttest.Delivery
	repo   string // the repository's ID in Jira
	branch string // the branch's ID in Jira
	pr     string
	// deleted says the branch is deleted at the end.
	deleted bool
	// commits says the server lists commits (Bitbucket Data Center does not).
	commits bool
}

func scenarios() []scenario {
	return []scenario{
		{name: "github", repo: "github.com~2FCodertocat~2FHello-World", branch: "feature~2FPROJ-1-retry", pr: "2", deleted: true, commits: true,
			events: []blueprinttest.Delivery{
				githubPush("gh-1", 1, "feature/PROJ-1-retry", false, "PROJ-2 retry settlement on 503", "no key here"),
				githubPR("gh-2", "opened", 2, "PROJ-1 Retry settlement", false),
				githubPR("gh-3", "closed", 3, "PROJ-1 Retry settlement", true),
				githubPush("gh-4", 4, "feature/PROJ-1-retry", true),
			}},
		{name: "gitlab", repo: "gitlab.example.com~2Fgitlabhq~2Fgitlab-test", branch: "PROJ-1-viewport", pr: "1", commits: true,
			events: []blueprinttest.Delivery{
				gitlabPush("gl-1", 1, "PROJ-1-viewport", "PROJ-2 fix the viewport"),
				gitlabMR("gl-2", "open", "opened", 2),
				gitlabMR("gl-3", "merge", "merged", 3),
			}},
		{name: "bitbucket-cloud", repo: "bitbucket.org~2Facme~2Fpayments", branch: "PROJ-1-retry", pr: "42", commits: true,
			events: []blueprinttest.Delivery{
				bitbucketPush("bbc-1", 1, "PROJ-1-retry", "PROJ-2 retry settlement"),
				bitbucketPR("bbc-2", "pullrequest:created", "OPEN", 2),
				bitbucketPR("bbc-3", "pullrequest:fulfilled", "MERGED", 3),
			}},
		{name: "bitbucket-dc", repo: "bitbucket.example.com~2FPROJ~2Frepository", branch: "PROJ-1-retry", pr: "1", deleted: true,
			events: []blueprinttest.Delivery{
				dcRefs("dc-1", 1, "PROJ-1-retry", "ADD"),
				dcPR("dc-2", "pr:opened", "OPEN", 2),
				dcPR("dc-3", "pr:merged", "MERGED", 3),
				dcRefs("dc-4", 4, "PROJ-1-retry", "DELETE"),
			}},
	}
}

// Every git server, a minute apart: Jira Cloud receives one upload per
// event (each a burst of its own), holds the branch (or its deletion),
// the commit naming PROJ-2 and the merged pull request naming PROJ-1.
func TestHappyPathEveryProvider(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			f := fakeJira(t)
			evs, route := routed(t, nil, sc.events...)
			require.Equal(t, "devinfo/", route.WorkflowID[:8])
			out := run(t, env(t, f), route, evs, time.Minute)
			require.Empty(t, out.Outcomes)
			require.Equal(t, []string{sc.repo}, f.DevRepositories())
			repo := f.DevRepository(sc.repo)
			pr, ok := repo.PullRequests[sc.pr]
			require.True(t, ok, "the pull request")
			require.Equal(t, "MERGED", pr.Status)
			require.Equal(t, []string{"PROJ-1"}, pr.IssueKeys)
			if sc.commits {
				require.Len(t, repo.Commits, 1, "only the commit naming a key")
				for _, c := range repo.Commits {
					require.Equal(t, []string{"PROJ-2"}, c.IssueKeys)
				}
			}
			if sc.deleted {
				require.Empty(t, repo.Branches)
				require.Equal(t, []string{sc.branch}, repo.Deleted)
				require.Equal(t, 1, count(f, "DELETE", "/jira/devinfo/"), "the branch deleted once")
			} else {
				require.Equal(t, []string{"PROJ-1"}, repo.Branches[sc.branch].IssueKeys)
			}
			require.Equal(t, len(sc.events)-btoi(sc.deleted), count(f, "POST", bulk), "one upload per event, a minute apart")
			require.Equal(t, 0, repo.Ignored, "no update sent twice")
			require.Equal(t, 1, f.TokensIssued(), "the access token is cached")
			for _, r := range f.Requests() {
				if r.Path != "/oauth/token" {
					require.NotContains(t, string(r.Body)+r.Query, "MustNeverLeak", "no secret but in the token request")
				}
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// What GitHub's push makes Jira Cloud receive, exactly.
func TestGitHubUploadExactly(t *testing.T) {
	t.Parallel()
	f := fakeJira(t)
	evs, route := routed(t, nil, githubPush("gh-1", 1, "feature/PROJ-1-retry", false, "PROJ-2 retry settlement on 503"))
	run(t, env(t, f), route, evs, time.Minute)
	var got []string
	for _, r := range f.Requests() {
		got = append(got, r.Method+" "+r.Path)
	}
	require.Equal(t, []string{"GET /_edge/tenant_info", "POST /oauth/token", "POST " + bulk}, got)
	body := f.Requests()[2].Body
	var in struct {
		PreventTransitions bool `json:"preventTransitions"`
		Repositories       []struct {
			ID, Name, URL string
			Commits       []map[string]any
			Branches      []map[string]any
		}
	}
	require.NoError(t, json.Unmarshal(body, &in))
	require.True(t, in.PreventTransitions)
	require.Len(t, in.Repositories, 1)
	r := in.Repositories[0]
	require.Equal(t, "github.com~2FCodertocat~2FHello-World", r.ID)
	require.Equal(t, "Codertocat/Hello-World", r.Name)
	require.Len(t, r.Commits, 1)
	require.Equal(t, sha(101), r.Commits[0]["hash"])
	require.Equal(t, float64(at(1).UnixMilli()), r.Commits[0]["updateSequenceId"])
	require.Len(t, r.Branches, 1)
	require.Equal(t, "feature/PROJ-1-retry", r.Branches[0]["name"])
	require.Equal(t, "https://github.com/Codertocat/Hello-World/tree/feature/PROJ-1-retry", r.Branches[0]["url"])
	require.Equal(t, "Bearer fake-access-1", f.Requests()[2].Header.Get("Authorization"))
}

// A burst: 50 pushes to one branch within a minute (one a second), each
// with a commit naming PROJ-1, cost one upload once the branch is quiet
// for settle; a steady stream for five minutes costs one upload per
// max_delay, and one at its end.
func TestBurstCoalesced(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		pushes  int
		uploads int
	}{
		{"50 in a minute", 50, 1},
		// Writes at 2m and 4m (max_delay) and after the last (settle), of
		// 120, 120 and 60 commits: at most MaxPerUpload (100) per call.
		{"300 in five minutes", 300, 2 + 2 + 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := fakeJira(t)
			var ds []blueprinttest.Delivery
			for i := range tt.pushes {
				d := githubPush(fmt.Sprintf("burst-%d", i), 1, "PROJ-1-burst", false, fmt.Sprintf("PROJ-1 step %d", i))
				ds = append(ds, d)
			}
			evs, route := routed(t, nil, ds...)
			for i := range evs {
				// Distinct commits, as distinct pushes carry.
				var p map[string]any
				require.NoError(t, json.Unmarshal(evs[i].Payload, &p))
				c := p["commits"].([]any)[0].(map[string]any)
				c["id"] = sha(1000 + i)
				p["after"] = sha(1000 + i)
				evs[i].Payload, _ = json.Marshal(p)
			}
			e := env(t, f)
			out := runGap(t, e, route, evs, time.Second)
			require.Empty(t, out.Outcomes)
			require.Equal(t, tt.uploads, count(f, "POST", bulk))
			require.Len(t, f.DevRepository("github.com~2FCodertocat~2FHello-World").Commits, tt.pushes, "every commit")
		})
	}
}

func runGap(t *testing.T, e *blueprinttest.Env, route workflows.Route, evs []workflows.Event, gap time.Duration) devinfo.Output {
	t.Helper()
	for i, ev := range evs {
		e.Send(time.Duration(i+1)*gap, route, ev)
	}
	return stop(t, e, 24*time.Hour)
}

// The same delivery twice (a sender's retry): applied once, uploaded once.
func TestDuplicateDelivery(t *testing.T) {
	t.Parallel()
	f := fakeJira(t)
	d := githubPush("gh-dup", 1, "PROJ-1-dup", false, "PROJ-2 once")
	evs, route := routed(t, nil, d, d)
	out := run(t, env(t, f), route, evs, time.Minute)
	require.Equal(t, 1, out.Applied)
	require.Equal(t, 1, out.Dropped)
	require.Equal(t, 1, count(f, "POST", bulk))
}

// Out of order: a pull request's merge delivered before its opening, in
// separate bursts; the opening (older by the payload's own time) is never
// sent, and Jira keeps MERGED. Likewise a branch's older push after a newer
// one.
func TestOutOfOrder(t *testing.T) {
	t.Parallel()
	f := fakeJira(t)
	evs, route := routed(t, nil,
		githubPR("gh-3", "closed", 3, "PROJ-1 Retry settlement", true),
		githubPR("gh-2", "opened", 2, "PROJ-1 Retry settlement", false),
		githubPush("gh-5", 5, "PROJ-1-retry", false, "PROJ-2 newer"),
		githubPush("gh-4", 4, "PROJ-1-retry", false, "PROJ-3 older"),
	)
	run(t, env(t, f), route, evs, time.Minute)
	repo := f.DevRepository("github.com~2FCodertocat~2FHello-World")
	require.Equal(t, "MERGED", repo.PullRequests["2"].Status)
	require.Equal(t, at(5).UnixMilli(), repo.Branches["PROJ-1-retry"].UpdateSequenceID)
	require.Contains(t, string(repo.Branches["PROJ-1-retry"].Raw), sha(501), "the newer head")
	// Three uploads: the merge, the newer push, and the older push's
	// commit (commits are immutable: it is shown, its branch head is not).
	require.Equal(t, 3, count(f, "POST", bulk))
	require.Len(t, repo.Commits, 2)
	require.Equal(t, 0, repo.Ignored)
}

// Jira down (503 with Retry-After) for an hour of workflow time, then up:
// everything arrives, once; the pushes that came while it was down are
// carried by the same burst.
func TestJiraDownForAnHour(t *testing.T) {
	t.Parallel()
	f := fakeJira(t)
	f.SetDown(&blueprinttest.Response{Status: 503, Header: map[string]string{"Retry-After": "60"}, Body: `{"message":"Service Unavailable"}`})
	evs, route := routed(t, nil,
		githubPush("gh-1", 1, "PROJ-1-down", false, "PROJ-1 first"),
		githubPR("gh-2", "opened", 2, "PROJ-1 Retry settlement", false),
	)
	e := env(t, f)
	e.RegisterDelayedCallback(func() { f.SetDown(nil) }, time.Hour)
	out := run(t, e, route, evs, time.Minute)
	require.Empty(t, out.Outcomes)
	require.Greater(t, len(f.Requests()), 10, "tried while down")
	require.Equal(t, 2, count(f, "POST", bulk), "the site answered 503 before any upload: the two that reached the API succeeded")
	repo := f.DevRepository("github.com~2FCodertocat~2FHello-World")
	require.Len(t, repo.Commits, 1)
	require.Len(t, repo.Branches, 1)
	require.Len(t, repo.PullRequests, 1)
	require.Equal(t, 0, repo.Ignored, "nothing sent twice once Jira was up")
	require.Equal(t, 2, out.Uploads, "the push's burst, then the pull request's")
}

// A refusal that retrying cannot fix (the OAuth client is refused: 401 at
// the token endpoint) is recorded once and not retried in rounds; the
// entities wait for the next event's write, so a fixed credential loses
// nothing.
func TestNonRetryableFailure(t *testing.T) {
	t.Parallel()
	f := fakeJira(t)
	evs, route := routed(t, nil, githubPush("gh-1", 1, "PROJ-1-auth", false, "PROJ-1 first"))
	a, err := jiraact.New(jiraact.Options{SiteURL: f.URL, DevInfoAPIURL: f.URL + "/", DevInfoTokenURL: f.URL + "/oauth/token",
		Credentials: map[string]string{jiraact.DevInfoSystem: "dvnf-client-0001:wrong-s3cr3t"}})
	require.NoError(t, err)
	e := blueprinttest.NewEnv(t, devinfo.Blueprint)
	jiraact.Register(e, a)
	out := run(t, e, route, evs, time.Minute)
	require.Len(t, out.Outcomes, 1)
	require.Equal(t, "upload", out.Outcomes[0].Step)
	require.Equal(t, "refused", out.Outcomes[0].Result)
	require.NotContains(t, out.Outcomes[0].Error, "wrong-s3cr3t")
	require.Equal(t, 1, count(f, "POST", "/oauth/token"), "one attempt, no rounds")
	require.Empty(t, f.DevRepositories())
}

// A key Jira does not know is reported by the API and recorded; the rest
// of the upload stands.
func TestUnknownKey(t *testing.T) {
	t.Parallel()
	f := fakeJira(t)
	evs, route := routed(t, nil, githubPush("gh-1", 1, "PROJ-1-x", false, "NOPE-9 and PROJ-2"))
	out := run(t, env(t, f), route, evs, time.Minute)
	require.Equal(t, []devinfo.Outcome{{Key: "NOPE-9", Step: "upload", Result: "unknown key"}}, out.Outcomes)
	require.Len(t, f.DevRepository("github.com~2FCodertocat~2FHello-World").Commits, 1)
}

// projects limits the keys that count: a branch naming only other
// projects' keys is not sent at all.
func TestProjects(t *testing.T) {
	t.Parallel()
	f := fakeJira(t)
	s := devinfo.DefaultSettings()
	s.Projects = []string{"OPS"}
	evs, route := routed(t, s, githubPush("gh-1", 1, "PROJ-1-x", false, "PROJ-2 here"))
	routes := blueprinttest.Routes(devinfo.Blueprint, s, evs[0])
	require.Len(t, routes, 1)
	run(t, env(t, f), routes[0], evs, time.Minute)
	_ = route
	require.Equal(t, 0, count(f, "POST", bulk))
}

// Truncated pushes: GitLab's total_commits_count above the commits listed,
// Bitbucket Cloud's truncated flag, GitHub's 20-commit list with a compare
// URL: what is listed is uploaded, and the truncation is recorded with
// where to see every commit.
func TestTruncatedPushes(t *testing.T) {
	t.Parallel()
	gl := gitlabPush("gl-t", 1, "PROJ-1-big", "PROJ-1 last of many")
	glEv := blueprinttest.Event(t, gl)
	var p map[string]any
	require.NoError(t, json.Unmarshal(glEv.Payload, &p))
	p["total_commits_count"] = 57
	glEv.Payload, _ = json.Marshal(p)

	bb := blueprinttest.Event(t, bitbucketPush("bb-t", 1, "PROJ-1-big", "PROJ-1 newest"))
	require.NoError(t, json.Unmarshal(bb.Payload, &p))
	p["push"].(map[string]any)["changes"].([]any)[0].(map[string]any)["truncated"] = true
	bb.Payload, _ = json.Marshal(p)

	var msgs []string
	for i := range devinfo.GitHubCommitCap {
		msgs = append(msgs, fmt.Sprintf("PROJ-1 commit %d", i))
	}
	gh := blueprinttest.Event(t, githubPush("gh-t", 1, "PROJ-1-big", false, msgs...))

	for _, tt := range []struct {
		name    string
		ev      workflows.Event
		commits int
		want    string
	}{
		{"gitlab", glEv, 1, "GitLab listed 1 of 57 commits"},
		{"bitbucket-cloud", bb, 1, "Bitbucket listed the 1 newest commits"},
		{"github", gh, devinfo.GitHubCommitCap, "GitHub listed 20 commits; all of them: https://github.com/Codertocat/Hello-World/compare/"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := fakeJira(t)
			routes := blueprinttest.Routes(devinfo.Blueprint, nil, tt.ev)
			require.Len(t, routes, 1)
			out := run(t, env(t, f), routes[0], []workflows.Event{tt.ev}, time.Minute)
			require.Len(t, out.Outcomes, 1)
			require.Equal(t, "truncated", out.Outcomes[0].Result)
			require.Contains(t, out.Outcomes[0].Error, tt.want)
			ids := f.DevRepositories()
			require.Len(t, ids, 1)
			require.Len(t, f.DevRepository(ids[0]).Commits, tt.commits)
		})
	}
}

// Hundreds of pushes: the run continues as new after EventsPerRun,
// carrying what is still to be written; the next run writes it and
// nothing twice.
func TestContinueAsNew(t *testing.T) {
	t.Parallel()
	f := fakeJira(t)
	base, route := routed(t, nil, githubPush("gh-0", 1, "PROJ-1-long", false, "PROJ-1 commit"))
	batches := make([][]workflows.Event, 12)
	for i := range batches {
		for j := range 100 {
			ev := base[0]
			n := i*100 + j
			var p map[string]any
			require.NoError(t, json.Unmarshal(ev.Payload, &p))
			c := p["commits"].([]any)[0].(map[string]any)
			c["id"], c["message"] = sha(5000+n), fmt.Sprintf("PROJ-1 commit %d", n)
			p["after"] = sha(5000 + n)
			ev.Payload, _ = json.Marshal(p)
			ev.DeliveryID = fmt.Sprintf("push-%d", n)
			batches[i] = append(batches[i], ev)
		}
	}
	e := env(t, f)
	for i, b := range batches[:10] {
		e.Send(time.Duration(i+1)*time.Minute, route, b...)
	}
	e.Run()
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(e.GetWorkflowError(), &can), "continued as new after EventsPerRun")
	var next devinfo.Input
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.Equal(t, 1000, next.State.Applied+len(next.State.Pending))
	uploaded := len(f.DevRepository("github.com~2FCodertocat~2FHello-World").Commits)
	require.Equal(t, 1000, uploaded+len(next.Jira.Facts.Pending), "every commit uploaded or carried")

	e2 := env(t, f)
	for i, b := range batches[10:] {
		e2.Send(time.Duration(i+1)*time.Minute, route, b...)
	}
	e2.Send(time.Hour, route, batches[0][0]) // a redelivery from the first run: dropped
	var out devinfo.Output
	e2.RegisterDelayedCallback(func() {
		v, err := e2.QueryWorkflow(devinfo.QueryState)
		require.NoError(t, err)
		require.NoError(t, v.Get(&out))
		e2.CancelWorkflow()
	}, 2*time.Hour)
	e2.ExecuteWorkflow(devinfo.WorkflowName, next)
	require.True(t, e2.IsWorkflowCompleted())
	require.Equal(t, 1, out.Dropped)
	repo := f.DevRepository("github.com~2FCodertocat~2FHello-World")
	require.Len(t, repo.Commits, 1200)
	require.Equal(t, 0, repo.Ignored, "nothing uploaded twice")
}
