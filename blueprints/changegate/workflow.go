// Package changegate is the blueprint that gates GitHub deployments on a
// ServiceNow change request: one workflow per deployment opens the change
// (once, keyed by a correlation_id that is the workflow ID), waits for its
// approval (ServiceNow's outbound message, a periodic read of the change,
// or an operator's break glass) with SLA reminders and an automatic
// rejection, answers GitHub, follows the deployment to close the change,
// and sends every step to Splunk HEC as an audit event.
//
// ServiceNow calls never block the event loop: they run in order on a
// coroutine of their own (an outbox carried across continue-as-new), so
// an approval, a break glass or a deployment status is applied while
// ServiceNow is down or a create is still being retried.
package changegate

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	ghact "github.com/hookflow/hookflow/activities/github"
	snact "github.com/hookflow/hookflow/activities/servicenow"
	splunkact "github.com/hookflow/hookflow/activities/splunk"
	"github.com/hookflow/hookflow/workflows"
)

// Name is the blueprint's name.
const Name = "changegate"

// WorkflowName is the registered workflow type.
const WorkflowName = "changegate.Deployment"

// QueryState is the query that returns the gate as it stands.
const QueryState = "changegate.state"

// Phases of a gate.
const (
	// PhaseNone: no deployment event has opened the gate.
	PhaseNone = ""
	// PhaseWaiting: the change is (being) opened, no decision yet.
	PhaseWaiting = "waiting"
	// PhaseDeploying: approved; the deployment's final status is awaited.
	PhaseDeploying = "deploying"
	// PhaseClosed: rejected, expired, cancelled or deployed.
	PhaseClosed = "closed"
)

// Kinds of gate: how GitHub is answered.
const (
	KindProtectionRule = "protection_rule"
	KindDeployment     = "deployment"
)

// Input is the workflow input.
type Input struct {
	// State is carried across continue-as-new.
	State workflows.EntityState
	// Settings are the blueprint's settings when the deployment's workflow
	// started.
	Settings Settings
	// Gate is carried across continue-as-new; the zero value is a new one.
	Gate Gate `json:",omitzero"`
}

// Output is the workflow result.
type Output struct {
	Phase    string
	Change   Change
	Decision *Decision `json:",omitempty"`
	Deployed string    `json:",omitempty"`
	Applied  int
	Dropped  int
}

// Change is the ServiceNow change request.
type Change struct {
	SysID  string `json:",omitempty"`
	Number string `json:",omitempty"`
}

// Decision is who decided, how and when.
type Decision struct {
	// Outcome is "approved" or "rejected".
	Outcome string
	// Actor is the approver's user name, the break-glass operator as
	// declared, or "changegate" for the SLA.
	Actor string
	// Via is "servicenow" (the outbound message), "state_read" (the
	// periodic read), "break_glass", "sla" or "github" (the deployment
	// ended before a decision).
	Via    string
	Reason string `json:",omitempty"`
	At     time.Time
}

// Op is one ServiceNow call waiting in the outbox.
type Op struct {
	// Kind is "create", "note", "update" or "read".
	Kind   string
	Note   string            `json:",omitempty"`
	Marker string            `json:",omitempty"`
	Fields map[string]string `json:",omitempty"`
}

// Gate is the state of one deployment's gate.
type Gate struct {
	Phase        string
	Kind         string
	Installation string
	Host         string
	Owner        string
	Repo         string
	DeploymentID int64
	Environment  string
	Ref          string
	SHA          string
	Creator      string
	// CallbackURL is the protection rule's deployment_callback_url.
	CallbackURL  string `json:",omitempty"`
	PullRequests []int  `json:",omitempty"`
	OpenedAt     time.Time
	Change       Change
	// Reminded counts the reminders sent.
	Reminded int
	LastRead time.Time
	Decision *Decision `json:",omitempty"`
	// Answered is true once GitHub was told the decision.
	Answered bool
	// Deployed is the deployment's final status (success, failure,
	// error) or "timeout".
	Deployed string `json:",omitempty"`
	// Emergency is set when break glass decided.
	Emergency bool
	// Changes are the commits deployed since the environment's last
	// successful deployment; ChangesError says why they are missing.
	Changes      *ghact.ListDeploymentChangesOutput `json:",omitempty"`
	ChangesError string                             `json:",omitempty"`
	// Outbox are the ServiceNow calls still to make, in order.
	Outbox []Op `json:",omitempty"`
	// Audit are the audit events not yet accepted by HEC.
	Audit []AuditEvent `json:",omitempty"`
	// Seq numbers the audit events: their event_id is <workflow ID>#<Seq>.
	Seq int
	// Reading is true while a read of the change is queued.
	Reading bool
}

// Register registers the blueprint's workflow.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(Deployment, workflow.RegisterOptions{Name: WorkflowName})
}

// Deployment is the workflow of one gated deployment.
func Deployment(ctx workflow.Context, in Input) (Output, error) {
	w := &run{settings: in.Settings, g: in.Gate, id: workflow.GetInfo(ctx).WorkflowExecution.ID}
	if len(w.settings.Environments) == 0 {
		w.settings = *DefaultSettings()
	}
	w.wake = workflow.NewBufferedChannel(ctx, 64)
	workflow.Go(ctx, w.serviceNow)
	workflow.Go(ctx, w.splunk)
	entity := workflows.NewEntity(in.State)
	entity.Wait = w.wait
	// The gate as it stands, in the shape of the input a continue-as-new
	// would carry (no secret is ever part of it).
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (Input, error) {
		return Input{State: entity.State(), Settings: in.Settings, Gate: w.g}, nil
	}); err != nil {
		return Output{}, err
	}
	err := entity.Run(ctx, w.apply, func(st workflows.EntityState) error {
		return workflow.NewContinueAsNewError(ctx, WorkflowName, Input{State: st, Settings: in.Settings, Gate: w.g})
	})
	st := entity.State()
	return Output{Phase: w.g.Phase, Change: w.g.Change, Decision: w.g.Decision, Deployed: w.g.Deployed,
		Applied: st.Applied, Dropped: st.Dropped}, err
}

type run struct {
	settings Settings
	g        Gate
	id       string
	wake     workflow.Channel
	// read is the last read of the change, for the main loop to apply.
	read snact.Record
	// busy counts outbox and audit calls in flight.
	busy int
	// steps says whether audit steps are recorded in the history for
	// hookflow audit (versionSteps); nil until the first step.
	steps *bool
}

// versionSteps is the version that records each audit step in the history
// (workflows.RecordStep), where hookflow audit shows it with its actor.
const versionSteps = "changegate.steps"

func (w *run) done() bool {
	return w.g.Phase == PhaseClosed && len(w.g.Outbox) == 0 && len(w.g.Audit) == 0 && w.busy == 0
}

func (w *run) signalWake() { w.wake.SendAsync(true) }

// wait is the entity loop's wait: the next batch, a timer of the gate's
// (reminder, expiry, read, deployment timeout), or progress of the
// ServiceNow and Splunk coroutines.
func (w *run) wait(ctx workflow.Context, ch workflow.ReceiveChannel) (workflows.Batch, bool, error) {
	if w.done() {
		return workflows.Batch{}, true, nil
	}
	var b workflows.Batch
	got := false
	due := ""
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(ch, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &b); got = true })
	sel.AddReceive(w.wake, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
	tctx, cancel := workflow.WithCancel(ctx)
	if at, what := w.next(); what != "" {
		d := at.Sub(workflow.Now(ctx))
		if d < time.Millisecond {
			d = time.Millisecond
		}
		sel.AddFuture(workflow.NewTimer(tctx, d), func(f workflow.Future) {
			if f.Get(ctx, nil) == nil {
				due = what
			}
		})
	}
	sel.Select(ctx)
	cancel()
	if got {
		return b, false, nil
	}
	w.fire(ctx, due)
	w.applyRead(ctx)
	return workflows.Batch{}, w.done(), nil
}

// next is the gate's next deadline and what it is for.
func (w *run) next() (time.Time, string) {
	var at time.Time
	what := ""
	consider := func(t time.Time, name string) {
		if what == "" || t.Before(at) {
			at, what = t, name
		}
	}
	g := &w.g
	switch g.Phase {
	case PhaseWaiting:
		if g.Reminded < len(w.settings.Reminders) {
			consider(g.OpenedAt.Add(w.settings.Reminders[g.Reminded].D()), "remind")
		}
		consider(g.OpenedAt.Add(w.settings.RejectAfter.D()), "expire")
		if g.Change.SysID != "" && !g.Reading {
			last := g.LastRead
			if last.IsZero() {
				last = g.OpenedAt
			}
			consider(last.Add(w.settings.PollInterval.D()), "read")
		}
	case PhaseDeploying:
		consider(g.Decision.At.Add(w.settings.DeployTimeout.D()), "deploy_timeout")
	}
	return at, what
}

func (w *run) fire(ctx workflow.Context, what string) {
	g := &w.g
	switch what {
	case "remind":
		w.remind(ctx, g.Reminded)
		g.Reminded++
	case "expire":
		w.decide(ctx, Decision{Outcome: "rejected", Actor: Name, Via: "sla",
			Reason: fmt.Sprintf("no decision on the change within %s", w.settings.RejectAfter.D())})
	case "read":
		g.LastRead = workflow.Now(ctx)
		g.Reading = true
		w.enqueue(Op{Kind: "read"})
	case "deploy_timeout":
		g.Deployed = "timeout"
		w.closeChange(ctx, "unsuccessful", fmt.Sprintf("The deployment reported no final status within %s of the approval.", w.settings.DeployTimeout.D()), "")
	}
}

// applyRead applies the last read of the change: the safety net for an
// outbound message that never arrives.
func (w *run) applyRead(ctx workflow.Context) {
	r := w.read
	if r == nil {
		return
	}
	w.read = nil
	if w.g.Phase != PhaseWaiting {
		return
	}
	actor := r["sys_updated_by"]
	if actor == "" {
		actor = "servicenow"
	}
	switch r["approval"] {
	case "approved":
		w.decide(ctx, Decision{Outcome: "approved", Actor: actor, Via: "state_read"})
	case "rejected":
		w.decide(ctx, Decision{Outcome: "rejected", Actor: actor, Via: "state_read", Reason: "rejected in ServiceNow"})
	}
}

func (w *run) apply(ctx workflow.Context, ev workflows.Event) (bool, error) {
	log := workflow.GetLogger(ctx)
	g := &w.g
	switch {
	case ev.Source == workflows.SourceGitHub && (ev.Type == EventProtectionRule || ev.Type == EventDeployment):
		if g.Phase == PhaseNone {
			if err := w.open(ctx, ev); err != nil {
				log.Warn("not a deployment changegate can gate", "delivery_id", ev.DeliveryID, "error", err)
				g.Phase = PhaseClosed
			}
			return w.done(), nil
		}
		if ev.Type == EventProtectionRule && g.CallbackURL == "" {
			// The deployment event came first: answer through the rule.
			var p protectionPayload
			if json.Unmarshal(ev.Payload, &p) == nil && p.CallbackURL != "" {
				g.CallbackURL, g.Kind = p.CallbackURL, KindProtectionRule
				if g.Decision != nil {
					g.Answered = false
					w.answer(ctx)
				}
			}
		}
		return w.done(), nil
	case ev.Source == workflows.SourceGitHub && ev.Type == EventDeploymentStatus:
		if g.Phase == PhaseNone {
			log.Info("deployment status of a deployment no gate opened", "delivery_id", ev.DeliveryID)
			g.Phase = PhaseClosed
			return w.done(), nil
		}
		d, err := workflows.DeploymentOfEvent(ev)
		if err != nil {
			log.Warn("unreadable deployment status", "delivery_id", ev.DeliveryID, "error", err)
			return false, nil
		}
		w.deploymentStatus(ctx, d)
	case ev.Source == workflows.SourceServiceNow:
		if g.Phase == PhaseNone {
			log.Info("change message for a gate never opened", "delivery_id", ev.DeliveryID)
			g.Phase = PhaseClosed
			return w.done(), nil
		}
		w.changeMessage(ctx, ev)
	case ev.Source == SourceHookflow && ev.Type == EventBreakGlass:
		if g.Phase == PhaseNone {
			log.Info("break glass for a gate never opened", "delivery_id", ev.DeliveryID)
			g.Phase = PhaseClosed
			return w.done(), nil
		}
		w.breakGlass(ctx, ev)
	}
	w.applyRead(ctx)
	return w.done(), nil
}

// protectionPayload is what changegate reads of a deployment_protection_rule
// event (GitHub's "Webhook events and payloads").
type protectionPayload struct {
	Environment  string `json:"environment"`
	Ref          string `json:"ref"`
	SHA          string `json:"sha"`
	CallbackURL  string `json:"deployment_callback_url"`
	PullRequests []struct {
		Number int `json:"number"`
	} `json:"pull_requests"`
	Deployment *struct {
		ID          int64  `json:"id"`
		SHA         string `json:"sha"`
		Ref         string `json:"ref"`
		Environment string `json:"environment"`
		Creator     *struct {
			Login string `json:"login"`
		} `json:"creator"`
	} `json:"deployment"`
	Repository *struct {
		Name  string `json:"name"`
		Owner struct {
			Login string `json:"login"`
		} `json:"owner"`
	} `json:"repository"`
	Sender *struct {
		Login string `json:"login"`
	} `json:"sender"`
}

// open opens the gate on its first deployment event and queues the
// change's creation.
func (w *run) open(ctx workflow.Context, ev workflows.Event) error {
	g := &w.g
	g.Installation = ev.Key(workflows.KeyInstallation)
	g.Host = workflows.Host(ev)
	switch ev.Type {
	case EventProtectionRule:
		var p protectionPayload
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			return err
		}
		if p.Deployment == nil || p.Deployment.ID <= 0 || p.Repository == nil || p.CallbackURL == "" {
			return fmt.Errorf("the payload names no deployment, repository or callback URL")
		}
		g.Kind, g.CallbackURL = KindProtectionRule, p.CallbackURL
		g.DeploymentID, g.Owner, g.Repo = p.Deployment.ID, p.Repository.Owner.Login, p.Repository.Name
		g.Environment, g.Ref, g.SHA = p.Environment, p.Ref, p.SHA
		if g.Environment == "" {
			g.Environment = p.Deployment.Environment
		}
		if g.SHA == "" {
			g.SHA, g.Ref = p.Deployment.SHA, p.Deployment.Ref
		}
		if p.Deployment.Creator != nil {
			g.Creator = p.Deployment.Creator.Login
		} else if p.Sender != nil {
			g.Creator = p.Sender.Login
		}
		for _, pr := range p.PullRequests {
			if pr.Number > 0 {
				g.PullRequests = append(g.PullRequests, pr.Number)
			}
		}
	default:
		d, err := workflows.DeploymentOfEvent(ev)
		if err != nil {
			return err
		}
		g.Kind = KindDeployment
		g.DeploymentID, g.Owner, g.Repo, g.Environment = d.ID, d.Owner, d.Repo, d.Environment
		g.Ref, g.SHA, g.Creator = d.Ref, d.SHA, d.Creator
	}
	g.Phase = PhaseWaiting
	g.OpenedAt = workflow.Now(ctx)
	if workflow.GetVersion(ctx, versionChanges, workflow.DefaultVersion, 1) >= 1 {
		w.listChanges(ctx)
	}
	w.enqueue(Op{Kind: "create", Fields: w.changeFields()})
	return nil
}

// versionChanges is the version that lists the commits deployed in the
// change's description (histories before it open the change without).
const versionChanges = "changegate.changes"

// listChanges reads what the deployment brings, briefly: a GitHub that
// does not answer within two minutes leaves the list out of the change
// rather than hold the gate.
func (w *run) listChanges(ctx workflow.Context) {
	g := &w.g
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second, ScheduleToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 4},
	})
	var out ghact.ListDeploymentChangesOutput
	err := workflow.ExecuteActivity(actx, ghact.ListDeploymentChanges, ghact.ListDeploymentChangesInput{
		Installation: g.Installation, Owner: g.Owner, Repo: g.Repo, Environment: g.Environment, SHA: g.SHA,
		DeploymentID: g.DeploymentID, MaxCommits: maxListedCommits}).Get(ctx, &out)
	if err != nil {
		workflow.GetLogger(ctx).Warn("commits deployed not listed", "error", err)
		g.ChangesError = "the commits deployed could not be listed from GitHub"
		return
	}
	g.Changes = &out
}

// maxListedCommits bounds the commits a change's description lists.
const maxListedCommits = 50

func (w *run) changeFields() map[string]string {
	g := &w.g
	s := &w.settings
	repo := g.Owner + "/" + g.Repo
	web := "https://" + g.Host + "/" + repo
	var d strings.Builder
	fmt.Fprintf(&d, "Deployment %d of %s to %s, requested through GitHub by %s.\n\n", g.DeploymentID, repo, g.Environment, g.Creator)
	fmt.Fprintf(&d, "Ref: %s\nCommit: %s (%s/commit/%s)\n", g.Ref, g.SHA, web, g.SHA)
	for _, n := range g.PullRequests {
		fmt.Fprintf(&d, "Pull request: #%d (%s/pull/%d)\n", n, web, n)
	}
	switch ch := g.Changes; {
	case ch != nil && ch.BaseSHA == "":
		fmt.Fprintf(&d, "\nFirst successful deployment to %s: no earlier deployment to compare with.\n", g.Environment)
	case ch != nil:
		fmt.Fprintf(&d, "\nCommits since the last successful deployment (%s, %s/compare/%s...%s): %d\n", short(ch.BaseSHA), web, ch.BaseSHA, g.SHA, ch.Total)
		for _, c := range ch.Commits {
			fmt.Fprintf(&d, "- %s %s (%s)\n", short(c.SHA), c.Message, c.Author)
		}
		if ch.Total > len(ch.Commits) {
			fmt.Fprintf(&d, "- ... and %d more\n", ch.Total-len(ch.Commits))
		}
		if len(ch.PullRequests) > 0 {
			var prs []string
			for _, n := range ch.PullRequests {
				prs = append(prs, fmt.Sprintf("#%d", n))
			}
			fmt.Fprintf(&d, "Pull requests mentioned: %s\n", strings.Join(prs, ", "))
		}
		if len(ch.JiraKeys) > 0 {
			fmt.Fprintf(&d, "Jira issues mentioned: %s\n", strings.Join(ch.JiraKeys, ", "))
		}
	case g.ChangesError != "":
		fmt.Fprintf(&d, "\nNote: %s.\n", g.ChangesError)
	}
	fmt.Fprintf(&d, "\nDeployments: %s/deployments/%s\n\nHookflow workflow: %s\n", web, g.Environment, w.id)
	f := map[string]string{
		"short_description":   fmt.Sprintf("Deploy %s@%s to %s", repo, short(g.SHA), g.Environment),
		"description":         d.String(),
		"type":                s.ChangeType,
		"correlation_display": "Hookflow changegate",
	}
	if s.AssignmentGroup != "" {
		f["assignment_group"] = s.AssignmentGroup
	}
	if s.Category != "" {
		f["category"] = s.Category
	}
	if s.Template != "" {
		f["template"] = s.Template
	}
	for k, v := range s.Fields {
		f[k] = v
	}
	return f
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

// changeMessage applies ServiceNow's outbound message.
func (w *run) changeMessage(ctx workflow.Context, ev workflows.Event) {
	log := workflow.GetLogger(ctx)
	g := &w.g
	r, err := workflows.RecordOfEvent(ev)
	if err != nil || r.CorrelationID != w.id {
		log.Warn("change message for another correlation ID", "delivery_id", ev.DeliveryID)
		return
	}
	if g.Change.SysID == "" {
		// The approval came before the create call returned (an
		// auto-approved standard change).
		g.Change = Change{SysID: r.SysID, Number: r.Number}
	}
	var p struct {
		Approver string `json:"approver"`
	}
	_ = json.Unmarshal(ev.Payload, &p)
	actor := p.Approver
	if actor == "" {
		actor = "servicenow"
	}
	if g.Phase != PhaseWaiting {
		if r.Approval == "approved" || r.Approval == "rejected" {
			log.Info("change decision ignored: already decided", "delivery_id", ev.DeliveryID, "approval", r.Approval)
		}
		return
	}
	switch r.Approval {
	case "approved":
		w.decide(ctx, Decision{Outcome: "approved", Actor: actor, Via: "servicenow"})
	case "rejected":
		w.decide(ctx, Decision{Outcome: "rejected", Actor: actor, Via: "servicenow", Reason: "rejected in ServiceNow"})
	}
}

// BreakGlassPayload is the body of a break-glass delivery.
type BreakGlassPayload struct {
	WorkflowID string `json:"workflow_id"`
	// Decision is "approve" or "reject".
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
	// Actor is who the operator declared to be (recorded as declared).
	Actor string `json:"actor"`
}

func (w *run) breakGlass(ctx workflow.Context, ev workflows.Event) {
	var p BreakGlassPayload
	_ = json.Unmarshal(ev.Payload, &p)
	now := workflow.Now(ctx)
	if w.g.Phase != PhaseWaiting || (p.Decision != "approve" && p.Decision != "reject") || p.Actor == "" || p.Reason == "" {
		workflow.GetLogger(ctx).Info("break glass ignored: not waiting", "delivery_id", ev.DeliveryID, "phase", w.g.Phase)
		w.audit(ctx, AuditEvent{Action: "break_glass_ignored", Actor: p.Actor, Via: "break_glass",
			Reason: "break glass ignored: not waiting (" + p.Reason + ")", Emergency: true, DeliveryID: ev.DeliveryID})
		return
	}
	w.g.Emergency = true
	outcome := "approved"
	if p.Decision == "reject" {
		outcome = "rejected"
	}
	w.audit(ctx, AuditEvent{Action: "break_glass", Outcome: outcome, Actor: p.Actor, Via: "break_glass", Reason: p.Reason,
		Emergency: true, DeliveryID: ev.DeliveryID})
	w.enqueue(Op{Kind: "note", Marker: "changegate:break-glass:" + ev.DeliveryID, Note: fmt.Sprintf(
		"EMERGENCY: break glass in Hookflow. %s %s the deployment at %s: %s (actor as declared; delivery %s).",
		p.Actor, outcome, now.UTC().Format(time.RFC3339), p.Reason, ev.DeliveryID)})
	w.decide(ctx, Decision{Outcome: outcome, Actor: p.Actor, Via: "break_glass", Reason: p.Reason})
}

// decide records the decision, answers GitHub and moves the gate on.
func (w *run) decide(ctx workflow.Context, d Decision) {
	g := &w.g
	if g.Phase != PhaseWaiting {
		return
	}
	d.At = workflow.Now(ctx)
	g.Decision = &d
	w.answer(ctx)
	w.audit(ctx, AuditEvent{Action: d.Outcome, Outcome: d.Outcome, Actor: d.Actor, Via: d.Via, Reason: d.Reason, Emergency: g.Emergency})
	if d.Outcome == "approved" {
		g.Phase = PhaseDeploying
		if d.Via == "state_read" {
			w.enqueue(Op{Kind: "note", Marker: "changegate:state-read", Note: "Hookflow found this change approved by reading it: ServiceNow's outbound message did not arrive. Check the changegate business rule."})
		}
		return
	}
	switch d.Via {
	case "servicenow", "state_read":
		g.Phase = PhaseClosed
		w.audit(ctx, AuditEvent{Action: "closed", Outcome: "rejected", Actor: d.Actor, Via: d.Via})
	default:
		w.closeChange(ctx, "", "Rejected by "+d.Actor+" ("+d.Via+"): "+d.Reason, "4")
	}
}

// answer tells GitHub the decision: through the protection rule's callback
// or with a deployment status.
func (w *run) answer(ctx workflow.Context) {
	g := &w.g
	d := g.Decision
	if d == nil || g.Answered {
		return
	}
	number := g.Change.Number
	if number == "" {
		number = "(being opened)"
	}
	comment := fmt.Sprintf("Change %s approved by %s (%s).", number, d.Actor, d.Via)
	if d.Outcome == "rejected" {
		comment = fmt.Sprintf("Change %s rejected by %s (%s): %s", number, d.Actor, d.Via, d.Reason)
	}
	var err error
	if g.CallbackURL != "" {
		err = workflow.ExecuteActivity(workflows.ConnectorCall(ctx), ghact.ReviewProtectionRule, ghact.ReviewProtectionRuleInput{
			Installation: g.Installation, CallbackURL: g.CallbackURL, Environment: g.Environment, State: d.Outcome, Comment: comment,
		}).Get(ctx, nil)
	} else {
		state := "in_progress"
		if d.Outcome == "rejected" {
			state = "failure"
		}
		err = w.deploymentStatusCall(ctx, state, comment)
	}
	if err != nil {
		workflow.GetLogger(ctx).Warn("GitHub not answered", "error", err)
		w.audit(ctx, AuditEvent{Action: "github_answer_failed", Outcome: d.Outcome, Reason: err.Error()})
		return
	}
	g.Answered = true
}

func (w *run) deploymentStatusCall(ctx workflow.Context, state, description string) error {
	g := &w.g
	if len(description) > 140 { // GitHub's limit on a status description
		description = description[:137] + "..."
	}
	return workflow.ExecuteActivity(workflows.ConnectorCall(ctx), ghact.CreateDeploymentStatus, ghact.CreateDeploymentStatusInput{
		Installation: g.Installation, Owner: g.Owner, Repo: g.Repo, DeploymentID: g.DeploymentID, State: state, Description: description,
	}).Get(ctx, nil)
}

func (w *run) remind(ctx workflow.Context, i int) {
	g := &w.g
	waited := workflow.Now(ctx).Sub(g.OpenedAt).Round(time.Minute)
	text := fmt.Sprintf("Reminder: the deployment of %s/%s@%s to %s has waited %s for this change's approval; it is rejected automatically after %s.",
		g.Owner, g.Repo, short(g.SHA), g.Environment, waited, w.settings.RejectAfter.D())
	w.enqueue(Op{Kind: "note", Marker: "changegate:reminder-" + strconv.Itoa(i), Note: text})
	var err error
	switch {
	case len(g.PullRequests) > 0:
		number := g.Change.Number
		err = workflow.ExecuteActivity(workflows.ConnectorCall(ctx), ghact.CreateComment, ghact.CreateCommentInput{
			Installation: g.Installation, Owner: g.Owner, Repo: g.Repo, Number: g.PullRequests[0],
			Body:   fmt.Sprintf("Change %s for the deployment to %s is still waiting for approval (%s).", number, g.Environment, waited),
			Marker: "hookflow:" + w.id + ":reminder-" + strconv.Itoa(i),
		}).Get(ctx, nil)
	case g.Kind == KindDeployment:
		err = w.deploymentStatusCall(ctx, "pending", fmt.Sprintf("Waiting %s for change %s approval", waited, g.Change.Number))
	}
	if err != nil {
		workflow.GetLogger(ctx).Warn("reminder not posted on GitHub", "error", err)
	}
	w.audit(ctx, AuditEvent{Action: "reminded", Actor: Name, Via: "sla", Reason: text})
}

func (w *run) deploymentStatus(ctx workflow.Context, d workflows.Deployment) {
	g := &w.g
	final := d.Status == "success" || d.Status == "failure" || d.Status == "error"
	if !final {
		return
	}
	switch g.Phase {
	case PhaseDeploying:
		g.Deployed = d.Status
		w.audit(ctx, AuditEvent{Action: "deployed", Outcome: d.Status, Actor: d.Creator, Via: "github"})
		code := "successful"
		if d.Status != "success" {
			code = "unsuccessful"
		}
		notes := fmt.Sprintf("Deployment %d reported %s at %s.", g.DeploymentID, d.Status, d.UpdatedAt.UTC().Format(time.RFC3339))
		if d.LogURL != "" {
			notes += " Log: " + d.LogURL
		}
		w.closeChange(ctx, code, notes, "3")
	case PhaseWaiting:
		// The job ended (cancelled, timed out) before any decision.
		g.Deployed = d.Status
		g.Decision = &Decision{Outcome: "rejected", Actor: d.Creator, Via: "github", Reason: "the deployment ended with " + d.Status + " before a decision", At: workflow.Now(ctx)}
		g.Answered = true
		w.audit(ctx, AuditEvent{Action: "cancelled", Outcome: d.Status, Actor: d.Creator, Via: "github", Reason: g.Decision.Reason})
		w.closeChange(ctx, "", "Cancelled: "+g.Decision.Reason, "4")
	}
}

// closeChange closes the gate and queues the change's close: state 3
// (closed) with a close code, or 4 (canceled).
func (w *run) closeChange(ctx workflow.Context, code, notes, state string) {
	g := &w.g
	g.Phase = PhaseClosed
	if state == "" {
		state = "3"
	}
	f := map[string]string{"state": state, "close_notes": notes}
	if code != "" {
		f["close_code"] = code
	}
	w.enqueue(Op{Kind: "update", Fields: f})
	w.audit(ctx, AuditEvent{Action: "closed", Outcome: code, Actor: Name, Reason: notes})
}

func (w *run) enqueue(op Op) {
	w.g.Outbox = append(w.g.Outbox, op)
}

// serviceNow makes the outbox's calls in order, each retried by the
// connector preset (up to a day), without blocking the event loop.
func (w *run) serviceNow(ctx workflow.Context) {
	log := workflow.GetLogger(ctx)
	for {
		_ = workflow.Await(ctx, func() bool { return len(w.g.Outbox) > 0 })
		op := w.g.Outbox[0]
		w.busy++
		err := w.call(ctx, op)
		w.busy--
		if err != nil && retryable(err) && op.Kind != "read" {
			// ServiceNow is down for longer than the preset's retries:
			// keep the call, in order, and try again (nothing is lost).
			log.Warn("servicenow call failed; will retry", "op", op.Kind, "error", err)
			w.signalWake()
			_ = workflow.Sleep(ctx, outboxRetry)
			continue
		}
		if err != nil {
			log.Warn("servicenow call failed", "op", op.Kind, "error", err)
			if op.Kind == "read" {
				w.g.Reading = false
			} else {
				w.audit(ctx, AuditEvent{Action: "servicenow_failed", Reason: op.Kind + ": " + err.Error()})
			}
		}
		w.g.Outbox = w.g.Outbox[1:]
		w.signalWake()
	}
}

// outboxRetry is how long the ServiceNow and Splunk coroutines wait before
// they try again a call whose retries ran out on retryable errors.
const outboxRetry = 5 * time.Minute

// retryable reports whether a failed activity may succeed later: anything
// but a non-retryable application error (activities/classify: auth,
// validation, not found).
func retryable(err error) bool {
	var app *temporal.ApplicationError
	return !errors.As(err, &app) || !app.NonRetryable()
}

func (w *run) call(ctx workflow.Context, op Op) error {
	g := &w.g
	actx := workflows.ConnectorCall(ctx)
	if op.Kind != "create" && g.Change.SysID == "" {
		return fmt.Errorf("no change request was opened")
	}
	switch op.Kind {
	case "create":
		var out snact.CreateRecordOutput
		err := workflow.ExecuteActivity(actx, snact.CreateChangeRequest, snact.CreateRecordInput{
			Installation: w.settings.Instance, Fields: op.Fields, CorrelationID: w.id}).Get(ctx, &out)
		if err != nil {
			return err
		}
		g.Change = Change{SysID: out.SysID, Number: out.Number}
		w.audit(ctx, AuditEvent{Action: "opened", Actor: g.Creator, Via: "github", Reason: op.Fields["short_description"]})
		if g.Decision != nil && g.Decision.Via == "break_glass" {
			// Reconciliation: the break glass came before the change.
			w.audit(ctx, AuditEvent{Action: "reconciled", Outcome: g.Decision.Outcome, Actor: g.Decision.Actor, Via: "break_glass", Emergency: true})
		}
		return nil
	case "read":
		var out snact.GetChangeRequestOutput
		err := workflow.ExecuteActivity(actx, snact.GetChangeRequest, snact.GetChangeRequestInput{
			Installation: w.settings.Instance, Ref: g.Change.SysID}).Get(ctx, &out)
		g.Reading = false
		if err != nil {
			return err
		}
		w.read = out.Record
		return nil
	case "note":
		return workflow.ExecuteActivity(actx, snact.AddWorkNote, snact.AddWorkNoteInput{
			Installation: w.settings.Instance, SysID: g.Change.SysID, Note: op.Note, Marker: op.Marker}).Get(ctx, nil)
	case "update":
		return workflow.ExecuteActivity(actx, snact.UpdateChangeRequest, snact.UpdateChangeRequestInput{
			Installation: w.settings.Instance, SysID: g.Change.SysID, Fields: op.Fields}).Get(ctx, nil)
	}
	return nil
}

// AuditEvent is one step of the release's record, sent to Splunk HEC
// (sourcetype hookflow:changegate:audit).
type AuditEvent struct {
	// EventID is stable across retries: <workflow ID>#<n>.
	EventID      string    `json:"event_id"`
	Action       string    `json:"action"`
	Outcome      string    `json:"outcome,omitempty"`
	WorkflowID   string    `json:"workflow_id"`
	Change       string    `json:"change,omitempty"`
	Repository   string    `json:"repository"`
	Environment  string    `json:"environment"`
	SHA          string    `json:"sha"`
	DeploymentID int64     `json:"deployment_id"`
	Actor        string    `json:"actor,omitempty"`
	Via          string    `json:"via,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	Emergency    bool      `json:"emergency,omitempty"`
	DeliveryID   string    `json:"delivery_id,omitempty"`
	Time         time.Time `json:"time"`
}

// SourceType is the Splunk sourcetype of the audit events.
const SourceType = "hookflow:changegate:audit"

func (w *run) audit(ctx workflow.Context, e AuditEvent) {
	g := &w.g
	g.Seq++
	e.EventID = w.id + "#" + strconv.Itoa(g.Seq)
	e.WorkflowID, e.Change, e.Repository, e.Environment, e.SHA, e.DeploymentID = w.id, g.Change.Number, g.Owner+"/"+g.Repo, g.Environment, g.SHA, g.DeploymentID
	e.Time = workflow.Now(ctx).UTC()
	workflow.GetLogger(ctx).Info("audit", "action", e.Action, "actor", e.Actor, "via", e.Via, "event_id", e.EventID)
	if w.steps == nil {
		v := workflow.GetVersion(ctx, versionSteps, workflow.DefaultVersion, 1) >= 1
		w.steps = &v
	}
	if *w.steps {
		detail := e.Via
		if e.Outcome != "" {
			detail = strings.TrimSpace(e.Outcome + " " + detail)
		}
		if e.Change != "" {
			detail += " change " + e.Change
		}
		if e.Emergency {
			detail += " EMERGENCY"
		}
		if e.Reason != "" {
			detail += ": " + e.Reason
		}
		workflows.RecordStep(ctx, workflows.Step{Step: Name + "." + e.Action, Actor: e.Actor, Detail: strings.TrimSpace(detail) + " (" + e.EventID + ")"})
	}
	g.Audit = append(g.Audit, e)
	w.signalWake()
}

// splunk sends the audit events, at least once: each carries its stable
// event_id for searches to deduplicate.
func (w *run) splunk(ctx workflow.Context) {
	for {
		_ = workflow.Await(ctx, func() bool { return len(w.g.Audit) > 0 })
		batch := append([]AuditEvent(nil), w.g.Audit...)
		evs := make([]splunkact.Event, len(batch))
		for i, e := range batch {
			b, _ := json.Marshal(e)
			evs[i] = splunkact.Event{Time: e.Time, Source: "hookflow:" + Name, SourceType: SourceType, Index: w.settings.SplunkIndex, Event: b}
		}
		opts := workflow.ActivityOptions{
			StartToCloseTimeout: 2 * time.Minute, ScheduleToCloseTimeout: 24 * time.Hour,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
		}
		if w.settings.SplunkAck {
			opts.HeartbeatTimeout = 30 * time.Second
		}
		w.busy++
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), splunkact.SendEvents, splunkact.SendEventsInput{
			Installation: w.settings.Splunk, Events: evs, Ack: w.settings.SplunkAck}).Get(ctx, nil)
		w.busy--
		if err != nil && retryable(err) {
			workflow.GetLogger(ctx).Warn("audit events not sent to Splunk; will retry", "events", len(batch), "error", err)
			w.signalWake()
			_ = workflow.Sleep(ctx, outboxRetry)
			continue
		}
		if err != nil {
			workflow.GetLogger(ctx).Error("audit events refused by Splunk", "events", len(batch), "error", err)
		}
		w.g.Audit = w.g.Audit[len(batch):]
		w.signalWake()
	}
}
