package changegate_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	actall "github.com/hookflow/hookflow/activities/all"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/blueprints/blueprinttest"
	"github.com/hookflow/hookflow/blueprints/changegate"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/workflows"
)

const wantID = "changegate/github.com/octo-org/example/deployment/1145432"

// firstSysID is the sys_id the fake ServiceNow gives its first change.
var firstSysID = fmt.Sprintf("%032x", 1)

type harness struct {
	t     *testing.T
	gh    *fakeGitHub
	sn    *fakeServiceNow
	hec   *fakeSplunk
	env   *blueprinttest.Env
	route workflows.Route
	rule  workflows.Event
}

// newHarness routes the recorded protection-rule delivery (its callback
// pointed at the fake GitHub) and registers the real activities over the
// three fakes.
func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, gh: newFakeGitHub(t), sn: newFakeServiceNow(t), hec: newFakeSplunk(t)}
	h.rule, h.route = blueprinttest.Deliver(t, changegate.Blueprint, h.github("deployment_protection_rule.requested.http"))
	require.Equal(t, wantID, h.route.WorkflowID)
	h.env = blueprinttest.NewEnv(t, changegate.Blueprint)
	require.NoError(t, actall.Register(h.env, h.sites()))
	return h
}

// sites points the activities at the harness's fakes.
func (h *harness) sites() actall.Sites {
	return actall.Sites{
		GitHubAPIURL: h.gh.URL + "/", ServiceNowURL: h.sn.URL + "/", SplunkHECURL: h.hec.URL + "/",
		Tokens: actall.StaticTokens(map[string]string{"github": "ghs_test", "servicenow": "hookflow.integration:pw", "splunk": "hec-test-token"}),
	}
}

// github is a recorded GitHub delivery whose API URLs point at the fake.
func (h *harness) github(file string) blueprinttest.Delivery {
	return blueprinttest.Delivery{File: "testdata/" + file, Source: "github", Secret: blueprinttest.GitHubSecret,
		Mutate: func(r *hook.Request) {
			r.Body = bytes.ReplaceAll(r.Body, []byte("https://api.github.com/"), []byte(h.gh.URL+"/"))
			blueprinttest.SignGitHub(r, blueprinttest.GitHubSecret)
		}}
}

// githubEvent is a recorded GitHub delivery, routed to the gate's workflow.
func (h *harness) githubEvent(file string) workflows.Event {
	ev, route := blueprinttest.Deliver(h.t, changegate.Blueprint, h.github(file))
	require.Equal(h.t, wantID, route.WorkflowID)
	return ev
}

// change is a recorded ServiceNow message about the fake's first change,
// routed by its correlation_id to the gate's workflow.
func (h *harness) change(file string, edit ...string) workflows.Event {
	d := blueprinttest.Delivery{File: "testdata/" + file, Source: "servicenow", Secret: blueprinttest.Secrets["servicenow"],
		Mutate: func(r *hook.Request) {
			r.Body = bytes.ReplaceAll(r.Body, []byte("8f3c2a1b47d31110a1b2c3d4e5f60718"), []byte(firstSysID))
			for i := 0; i+1 < len(edit); i += 2 {
				r.Body = bytes.ReplaceAll(r.Body, []byte(edit[i]), []byte(edit[i+1]))
			}
			r.Header.Del("X-ServiceNow-Delivery")
		}}
	ev, route := blueprinttest.Deliver(h.t, changegate.Blueprint, d)
	require.Equal(h.t, wantID, route.WorkflowID)
	return ev
}

func breakGlass(decision, actor, reason string) workflows.Event {
	body, _ := json.Marshal(changegate.BreakGlassPayload{WorkflowID: wantID, Decision: decision, Actor: actor, Reason: reason})
	return workflows.Event{DeliveryID: "admin-" + decision + actor, Source: changegate.SourceHookflow, Type: changegate.EventBreakGlass,
		Action: decision, Integration: "admin", Keys: map[string]string{workflows.KeyEntity: wantID}, Payload: body}
}

func (h *harness) send(after time.Duration, evs ...workflows.Event) {
	h.env.Send(after, h.route, evs...)
}

func (h *harness) run() changegate.Output {
	h.t.Helper()
	h.env.Run()
	require.True(h.t, h.env.IsWorkflowCompleted())
	require.NoError(h.t, h.env.GetWorkflowError())
	var out changegate.Output
	require.NoError(h.t, h.env.GetWorkflowResult(&out))
	return out
}

// audit checks the audit trail: the actions in order, each event_id once
// and of the documented form, every event naming the workflow and the
// change.
func (h *harness) audit(want ...string) []map[string]any {
	h.t.Helper()
	events := h.hec.events(h.t)
	require.Equal(h.t, want, h.hec.actions(h.t))
	seen := map[string]bool{}
	for i, e := range events {
		id := fmt.Sprint(e["event_id"])
		require.False(h.t, seen[id], "event_id %s twice", id)
		seen[id] = true
		require.Equal(h.t, fmt.Sprintf("%s#%d", wantID, i+1), id)
		require.Equal(h.t, wantID, e["workflow_id"])
		require.Equal(h.t, "octo-org/example", e["repository"])
		require.Equal(h.t, "production", e["environment"])
		require.Equal(h.t, "9049f1265b7d61be4a8904a9a27120d2064dab3b", e["sha"])
	}
	return events
}

func TestApprovedWithinAnHourThenDeployed(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.send(time.Second, h.rule)
	h.send(40*time.Minute, h.change("change_request.approved.http"))
	h.send(50*time.Minute, h.githubEvent("deployment_status.in_progress.http"))
	h.send(55*time.Minute, h.githubEvent("deployment_status.success.http"))
	out := h.run()

	require.Equal(t, changegate.PhaseClosed, out.Phase)
	require.Equal(t, "success", out.Deployed)
	require.Equal(t, "approved", out.Decision.Outcome)
	require.Equal(t, "alice.approver", out.Decision.Actor)
	require.Equal(t, "servicenow", out.Decision.Via)

	require.Equal(t, 1, h.sn.creates())
	c := h.sn.only(t)
	require.Equal(t, wantID, c["correlation_id"])
	require.LessOrEqual(t, len(c["correlation_id"]), changegate.MaxCorrelationID)
	require.Equal(t, "normal", c["type"])
	require.Equal(t, "Deploy octo-org/example@9049f12 to production", c["short_description"])
	require.Contains(t, c["description"], "Pull request: #42")
	require.Contains(t, c["description"], "Commits since the last successful deployment (6dcb09b")
	require.Contains(t, c["description"], "- 1111111 PAY-118: retry the gateway (#41) (mona)")
	require.Contains(t, c["description"], "Pull requests mentioned: #41, #42")
	require.Contains(t, c["description"], "Jira issues mentioned: PAY-118, OPS-7")
	require.Contains(t, c["description"], wantID)
	require.Equal(t, "3", c["state"])
	require.Equal(t, "successful", c["close_code"])
	require.Contains(t, c["close_notes"], "reported success")

	require.Equal(t, []string{"approved: Change CHG0030042 approved by alice.approver (servicenow)."}, h.gh.reviews())
	review := h.gh.find("POST", "/deployment_protection_rule")[0]
	require.Equal(t, "/repos/octo-org/example/actions/runs/12345678901/deployment_protection_rule", review.Path)
	require.Equal(t, "Bearer ghs_test", review.Auth)
	require.JSONEq(t, `{"environment_name":"production","state":"approved","comment":"Change CHG0030042 approved by alice.approver (servicenow)."}`, string(review.Body))
	require.Empty(t, h.gh.find("POST", "/comments"), "no reminder within the hour")
	h.audit("opened", "approved", "deployed", "closed")
}

func TestRejectedInServiceNow(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.send(time.Second, h.rule)
	h.send(2*time.Hour, h.change("change_request.rejected.http"))
	out := h.run()
	require.Equal(t, "rejected", out.Decision.Outcome)
	require.Equal(t, "bob.cab", out.Decision.Actor)
	require.Equal(t, []string{"rejected: Change CHG0030042 rejected by bob.cab (servicenow): rejected in ServiceNow"}, h.gh.reviews())
	require.Empty(t, h.sn.find("PATCH", "/change_request/"), "ServiceNow rejected it itself: nothing to write")
	require.Len(t, h.gh.find("POST", "/comments"), 0)
	h.audit("opened", "rejected", "closed")
}

func TestNoAnswerRemindsAndRejectsAfter72Hours(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.send(time.Second, h.rule)
	out := h.run()

	require.Equal(t, "rejected", out.Decision.Outcome)
	require.Equal(t, "sla", out.Decision.Via)
	require.Equal(t, []string{"rejected: Change CHG0030042 rejected by changegate (sla): no decision on the change within 72h0m0s"}, h.gh.reviews())
	comments := h.gh.find("POST", "/repos/octo-org/example/issues/42/comments")
	require.Len(t, comments, 2, "reminders at 4 h and 24 h on the pull request")
	require.Contains(t, string(comments[0].Body), "CHG0030042")
	notes := h.sn.workNotes()
	require.Len(t, notes, 2)
	require.Contains(t, notes[0], "waited 4h0m0s")
	require.Contains(t, notes[1], "waited 24h0m0s")
	c := h.sn.only(t)
	require.Equal(t, "4", c["state"], "canceled")
	require.Contains(t, c["close_notes"], "no decision")
	reads := h.sn.find("GET", "/api/now/table/change_request/"+firstSysID)
	require.InDelta(t, 72*4, len(reads), 2, "a read every 15 minutes while waiting")

	events := h.audit("opened", "reminded", "reminded", "rejected", "closed")
	opened := mustTime(t, events[0]["time"])
	require.Equal(t, 4*time.Hour, mustTime(t, events[1]["time"]).Sub(opened).Round(time.Minute))
	require.Equal(t, 24*time.Hour, mustTime(t, events[2]["time"]).Sub(opened).Round(time.Minute))
	require.Equal(t, 72*time.Hour, mustTime(t, events[3]["time"]).Sub(opened).Round(time.Minute))
}

func mustTime(t *testing.T, v any) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(v))
	require.NoError(t, err)
	return at
}

func TestApprovalBeforeTheCreateCallReturns(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.sn.lose = 1 // the change is made (and auto-approved) but the answer is lost
	h.sn.onCreate = func(c map[string]string) { c["approval"], c["state"] = "approved", "-2" }
	h.send(time.Second, h.rule)
	h.send(1500*time.Millisecond, h.change("change_request.approved.http")) // before the retry finds it
	h.send(time.Hour, h.githubEvent("deployment_status.success.http"))
	out := h.run()
	require.Equal(t, changegate.Change{SysID: firstSysID, Number: "CHG0030042"}, out.Change)
	require.Equal(t, 1, h.sn.creates(), "the retry found the change by correlation_id")
	require.Len(t, h.gh.reviews(), 1)
	require.Contains(t, h.gh.reviews()[0], "approved: Change CHG0030042 approved by alice.approver")
	h.audit("approved", "opened", "deployed", "closed")
}

func TestTheSameApprovalTwiceApprovesOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	approval := h.change("change_request.approved.http")
	again := h.change("change_request.approved.http", `"sys_mod_count":"4"`, `"sys_mod_count":"6"`) // a later update, approval unchanged
	require.NotEqual(t, approval.DeliveryID, again.DeliveryID)
	h.send(time.Second, h.rule)
	h.send(10*time.Minute, approval)
	h.send(11*time.Minute, approval) // redelivered
	h.send(12*time.Minute, again)
	h.send(time.Hour, h.githubEvent("deployment_status.success.http"))
	out := h.run()
	require.Equal(t, 1, out.Dropped)
	require.Len(t, h.gh.reviews(), 1, "exactly one approval on GitHub")
	h.audit("opened", "approved", "deployed", "closed")
}

func TestOutboundMessageNeverArrivesTheStateReadFindsTheApproval(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.send(time.Second, h.rule)
	h.env.RegisterDelayedCallback(func() {
		h.sn.set(firstSysID, "approval", "approved")
		h.sn.set(firstSysID, "sys_updated_by", "carol.cab")
	}, 2*time.Hour)
	h.send(5*time.Hour, h.githubEvent("deployment_status.success.http"))
	out := h.run()
	require.Equal(t, "state_read", out.Decision.Via)
	require.Equal(t, "carol.cab", out.Decision.Actor)
	require.WithinDuration(t, mustTime(t, h.hec.events(t)[0]["time"]).Add(2*time.Hour), out.Decision.At, 16*time.Minute)
	require.Equal(t, []string{"approved: Change CHG0030042 approved by carol.cab (state_read)."}, h.gh.reviews())
	require.Len(t, h.sn.workNotes(), 1)
	require.Contains(t, h.sn.workNotes()[0], "outbound message did not arrive")
	h.audit("opened", "approved", "deployed", "closed")
}

func TestServiceNowDownForTwoHoursWhileCreating(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.sn.setDown(true)
	h.sn.lose = 1 // and when it is back, the first answer is lost
	h.env.RegisterDelayedCallback(func() { h.sn.setDown(false) }, 2*time.Hour)
	h.send(time.Second, h.rule)
	h.send(3*time.Hour, h.change("change_request.approved.http"))
	h.send(4*time.Hour, h.githubEvent("deployment_status.success.http"))
	out := h.run()
	require.Equal(t, 1, h.sn.creates(), "one create reached ServiceNow; its retry found it")
	h.sn.only(t)
	require.Greater(t, len(h.sn.find("GET", "/api/now/table/change_request")), 10, "retried while down")
	require.Equal(t, "approved", out.Decision.Outcome)
	require.Len(t, h.gh.reviews(), 1)
	h.audit("opened", "approved", "deployed", "closed")
}

func TestLateEventsAfterTheGateFinishedStartNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, ev := range []workflows.Event{h.githubEvent("deployment_status.success.http"), h.rule, h.change("change_request.approved.http"), breakGlass("approve", "ops", "late")} {
		routes := blueprinttest.Routes(changegate.Blueprint, nil, ev)
		require.Len(t, routes, 1)
		require.Equal(t, wantID, routes[0].WorkflowID)
		require.False(t, routes[0].Subscription.MayStart(ev), "%s %s after the workflow completed is recorded as ignored (entity finished), no second change", ev.Source, ev.Type)
	}
}

func TestBreakGlassWhileServiceNowIsDownThenReconciliation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.sn.setDown(true)
	h.env.RegisterDelayedCallback(func() { h.sn.setDown(false) }, 3*time.Hour)
	h.send(time.Second, h.rule)
	h.send(10*time.Minute, breakGlass("approve", "dana.oncall", "INC0012345: payments outage fix"))
	h.send(20*time.Minute, breakGlass("reject", "eve", "second thoughts"))
	var approvedWhileDown int
	h.env.RegisterDelayedCallback(func() { approvedWhileDown = len(h.gh.reviews()) }, time.Hour)
	h.send(90*time.Minute, h.githubEvent("deployment_status.success.http"))
	out := h.run()

	require.Equal(t, 1, approvedWhileDown, "GitHub was answered while ServiceNow was down")
	require.Equal(t, []string{"approved: Change (being opened) approved by dana.oncall (break_glass)."}, h.gh.reviews())
	require.Equal(t, "break_glass", out.Decision.Via)
	require.Equal(t, 1, h.sn.creates())
	c := h.sn.only(t)
	require.Equal(t, "3", c["state"])
	require.Equal(t, "successful", c["close_code"])
	notes := h.sn.workNotes()
	require.Len(t, notes, 1)
	require.Contains(t, notes[0], "EMERGENCY: break glass")
	require.Contains(t, notes[0], "dana.oncall approved")
	require.Contains(t, notes[0], "INC0012345")
	events := h.audit("break_glass", "approved", "break_glass_ignored", "deployed", "closed", "opened", "reconciled")
	require.Equal(t, true, events[0]["emergency"])
	require.Equal(t, "dana.oncall", events[0]["actor"])
	require.Contains(t, events[2]["reason"], "break glass ignored: not waiting")
	require.Equal(t, "CHG0030042", events[6]["change"])
}

func TestDeploymentFailingOrNeverReporting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file, deployed, code string
	}{
		{"failure", "deployment_status.failure.http", "failure", "unsuccessful"},
		{"never", "", "timeout", "unsuccessful"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.send(time.Second, h.rule)
			h.send(time.Hour, h.change("change_request.approved.http"))
			if tc.file != "" {
				h.send(2*time.Hour, h.githubEvent(tc.file))
			}
			out := h.run()
			require.Equal(t, tc.deployed, out.Deployed)
			c := h.sn.only(t)
			require.Equal(t, "3", c["state"])
			require.Equal(t, tc.code, c["close_code"])
			if tc.file == "" {
				require.Contains(t, c["close_notes"], "no final status within 24h")
				h.audit("opened", "approved", "closed")
				return
			}
			h.audit("opened", "approved", "deployed", "closed")
		})
	}
}

// A deployment outside Actions (a deployment event) is answered with
// deployment statuses.
func TestDeploymentEventAnsweredWithStatuses(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	s := changegate.DefaultSettings()
	s.Events = []string{changegate.EventDeployment}
	ev := blueprinttest.Event(t, h.github("deployment.created.http"))
	routes := blueprinttest.Routes(changegate.Blueprint, s, ev)
	require.Len(t, routes, 1)
	require.Empty(t, blueprinttest.Routes(changegate.Blueprint, nil, ev), "deployment events are not gated by default")
	h.env.Send(time.Second, routes[0], ev)
	h.send(time.Hour, h.change("change_request.approved.http"))
	out := h.run()
	require.Equal(t, changegate.PhaseClosed, out.Phase)
	statuses := h.gh.find("POST", "/repos/octo-org/example/deployments/1145432/statuses")
	require.Len(t, statuses, 1)
	require.Contains(t, string(statuses[0].Body), `"state":"in_progress"`)
	require.Empty(t, h.gh.reviews())
}

func TestSettingsValidation(t *testing.T) {
	t.Parallel()
	require.NoError(t, changegate.DefaultSettings().Validate())
	for _, tc := range []struct {
		edit func(s *changegate.Settings)
		key  string
	}{
		{func(s *changegate.Settings) { s.RejectAfter = changegate.Duration(30 * 24 * time.Hour) }, "reject_after"},
		{func(s *changegate.Settings) { s.RejectAfter = 0 }, "reject_after"},
		{func(s *changegate.Settings) { s.Reminders = []changegate.Duration{changegate.Duration(80 * time.Hour)} }, "reminders"},
		{func(s *changegate.Settings) {
			s.Reminders = []changegate.Duration{changegate.Duration(24 * time.Hour), changegate.Duration(4 * time.Hour)}
		}, "reminders"},
		{func(s *changegate.Settings) { s.PollInterval = changegate.Duration(time.Second) }, "poll_interval"},
		{func(s *changegate.Settings) { s.DeployTimeout = changegate.Duration(31 * 24 * time.Hour) }, "deploy_timeout"},
		{func(s *changegate.Settings) { s.Environments = nil }, "environments"},
		{func(s *changegate.Settings) { s.Events = []string{"push"} }, "events"},
		{func(s *changegate.Settings) { s.Fields = map[string]string{"correlation_id": "x"} }, "fields"},
	} {
		s := changegate.DefaultSettings()
		tc.edit(s)
		err := s.Validate()
		require.Error(t, err)
		require.True(t, strings.HasPrefix(err.Error(), tc.key+":"), err.Error())
	}
	var d changegate.Duration
	require.NoError(t, d.UnmarshalText([]byte("3d")))
	require.Equal(t, 72*time.Hour, d.D())
	require.Error(t, d.UnmarshalText([]byte("3 days")))
}

func TestWorkflowIDsFitTheCorrelationID(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("r", 100)
	ev := workflows.Event{Source: "github", Type: "deployment_protection_rule", Keys: map[string]string{
		workflows.KeyHost: "github.com", workflows.KeyRepoPath: "octo-org/" + long, workflows.KeyOwner: "octo-org",
		workflows.KeyRepoName: long, workflows.KeyDeployment: "1145432", workflows.KeyEnvironment: "production"}}
	id := changegate.WorkflowID(ev)
	require.LessOrEqual(t, len(id), changegate.MaxCorrelationID)
	require.True(t, changegate.IsWorkflowID(id), id)
	require.Equal(t, id, changegate.WorkflowID(ev), "stable")
	ev.Keys[workflows.KeyHost] = strings.Repeat("h", 120) + ".example"
	id = changegate.WorkflowID(ev)
	require.LessOrEqual(t, len(id), changegate.MaxCorrelationID)
	require.True(t, changegate.IsWorkflowID(id), id)

	for _, bad := range []string{"prcomment/github.com/o/r/pr/1", "changegate/github.com/o/r/deployment/x", "changegate/" + strings.Repeat("a", 100) + "/deployment/1", "changegate/a//deployment/1"} {
		require.False(t, changegate.IsWorkflowID(bad), bad)
		msg := workflows.Event{Source: "servicenow", Type: "change_request", Payload: []byte(`{"correlation_id":"` + bad + `"}`)}
		require.Empty(t, changegate.CorrelationRoute(msg), "routing by correlation_id reaches only changegate workflows")
	}
}

// A long wait survives continue-as-new: the state a run hands to the next
// (what the state query returns) resumes the gate with no second change,
// no reminder sent twice and the SLA counted from the original opening.
func TestContinueAsNewKeepsTheGate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.send(time.Second, h.rule)
	var carried changegate.Input
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(changegate.QueryState)
		require.NoError(t, err)
		require.NoError(t, v.Get(&carried))
		h.env.CancelWorkflow()
	}, 5*time.Hour)
	h.env.Run()
	require.Equal(t, changegate.PhaseWaiting, carried.Gate.Phase)
	require.Equal(t, 1, carried.Gate.Reminded)
	require.Empty(t, carried.Gate.Outbox)
	require.Equal(t, 1, carried.State.Applied)
	b, err := json.Marshal(carried)
	require.NoError(t, err)
	require.NotContains(t, string(b), "ghs_test", "no secret in the carried state")
	require.NotContains(t, string(b), "hec-test-token")

	// The next run, as continue-as-new starts it, over the same fakes.
	next := newHarness(t)
	next.gh, next.sn, next.hec = h.gh, h.sn, h.hec
	next.env = blueprinttest.NewEnv(t, changegate.Blueprint)
	require.NoError(t, actall.Register(next.env, h.sites()))
	next.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: wantID, TaskQueue: "test"})
	next.env.SetStartTime(carried.Gate.OpenedAt.Add(5 * time.Hour))
	next.env.RegisterDelayedCallback(func() {
		next.env.SignalWorkflow(workflows.SignalEvents, workflows.Batch{Events: []workflows.Event{h.rule}}) // a redelivery: dropped
	}, time.Minute)
	next.env.RegisterDelayedCallback(func() {
		next.env.SignalWorkflow(workflows.SignalEvents, workflows.Batch{Events: []workflows.Event{h.change("change_request.approved.http")}})
	}, 30*time.Hour)
	next.env.RegisterDelayedCallback(func() {
		next.env.SignalWorkflow(workflows.SignalEvents, workflows.Batch{Events: []workflows.Event{h.githubEvent("deployment_status.success.http")}})
	}, 31*time.Hour)
	next.env.ExecuteWorkflow(changegate.WorkflowName, carried)
	require.True(t, next.env.IsWorkflowCompleted())
	require.NoError(t, next.env.GetWorkflowError())
	var out changegate.Output
	require.NoError(t, next.env.GetWorkflowResult(&out))
	require.Equal(t, 1, out.Dropped)
	require.Equal(t, 1, h.sn.creates(), "no second change")
	require.Len(t, h.gh.find("POST", "/issues/42/comments"), 2, "the 24 h reminder once, the 4 h one not again")
	require.Len(t, h.gh.reviews(), 1)
	events := h.audit("opened", "reminded", "reminded", "approved", "deployed", "closed")
	require.Equal(t, 24*time.Hour, mustTime(t, events[2]["time"]).Sub(mustTime(t, events[0]["time"])).Round(time.Minute))
}

func TestBreakGlassRequest(t *testing.T) {
	t.Parallel()
	flags := func(reason, actor string) *pflag.FlagSet {
		f := pflag.NewFlagSet("x", pflag.ContinueOnError)
		f.String("reason", reason, "")
		f.String("actor", actor, "")
		return f
	}
	req, err := changegate.BreakGlassRequest("approve", []string{wantID}, flags("outage", "dana"))
	require.NoError(t, err)
	require.Equal(t, changegate.SourceHookflow, req.Source)
	require.Equal(t, changegate.EventBreakGlass, req.Type)
	require.Equal(t, wantID, req.Keys[workflows.KeyEntity])
	require.JSONEq(t, `{"workflow_id":"`+wantID+`","decision":"approve","reason":"outage","actor":"dana"}`, string(req.Payload))
	ev := workflows.Event{Source: req.Source, Type: req.Type, Action: req.Action, Keys: req.Keys, Payload: req.Payload}
	routes := blueprinttest.Routes(changegate.Blueprint, nil, ev)
	require.Len(t, routes, 1)
	require.Equal(t, wantID, routes[0].WorkflowID)
	for _, tc := range []struct {
		args          []string
		reason, actor string
	}{
		{nil, "r", "a"}, {[]string{"prcomment/github.com/o/r/pr/1"}, "r", "a"}, {[]string{wantID}, "", "a"}, {[]string{wantID}, "r", " "},
	} {
		_, err := changegate.BreakGlassRequest("reject", tc.args, flags(tc.reason, tc.actor))
		require.Error(t, err)
	}
}

// The real thing: Temporal suggests continue-as-new during a long wait;
// the run ends with a continue-as-new whose input, started as the next
// run, finishes the gate once.
func TestContinueAsNewOnTemporalsSuggestion(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.send(time.Second, h.rule)
	h.env.RegisterDelayedCallback(func() { h.env.SetContinueAsNewSuggested(true) }, 5*time.Hour)
	h.env.Run()
	require.True(t, h.env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, h.env.GetWorkflowError(), &can)
	require.Equal(t, changegate.WorkflowName, can.WorkflowType.Name)
	var carried changegate.Input
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &carried))
	require.Equal(t, changegate.PhaseWaiting, carried.Gate.Phase)
	require.Equal(t, 1, carried.Gate.Reminded)
	require.Equal(t, firstSysID, carried.Gate.Change.SysID)

	next := blueprinttest.NewEnv(t, changegate.Blueprint)
	require.NoError(t, actall.Register(next, h.sites()))
	next.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: wantID, TaskQueue: "test"})
	next.SetStartTime(carried.Gate.OpenedAt.Add(5 * time.Hour))
	next.RegisterDelayedCallback(func() {
		next.SignalWorkflow(workflows.SignalEvents, workflows.Batch{Events: []workflows.Event{h.change("change_request.approved.http")}})
	}, 30*time.Hour)
	next.RegisterDelayedCallback(func() {
		next.SignalWorkflow(workflows.SignalEvents, workflows.Batch{Events: []workflows.Event{h.githubEvent("deployment_status.success.http")}})
	}, 31*time.Hour)
	next.ExecuteWorkflow(changegate.WorkflowName, carried)
	require.True(t, next.IsWorkflowCompleted())
	require.NoError(t, next.GetWorkflowError())
	require.Equal(t, 1, h.sn.creates(), "no second change")
	require.Len(t, h.gh.find("POST", "/issues/42/comments"), 2)
	require.Len(t, h.gh.reviews(), 1)
	h.audit("opened", "reminded", "reminded", "approved", "deployed", "closed")
}
