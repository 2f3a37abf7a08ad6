// Package prcomment is Hookflow's first blueprint: one workflow per GitHub
// pull request that welcomes the pull request with a comment when it is
// opened or reopened and completes when it is closed.
package prcomment

import (
	"encoding/json"
	"fmt"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	ghact "github.com/hookflow/hookflow/activities/github"
	"github.com/hookflow/hookflow/activities/payload"
	"github.com/hookflow/hookflow/workflows"
)

// Name is the blueprint's name.
const Name = "prcomment"

// WorkflowName is the registered workflow type.
const WorkflowName = "prcomment.PullRequest"

// Input is the workflow input; the zero value starts a new pull request.
type Input struct {
	// State is carried across continue-as-new.
	State workflows.EntityState
	// Comments counts comments posted by earlier runs.
	Comments int
	// Settings are the blueprint's settings when the pull request's
	// workflow started. Histories from before settings existed carry the
	// zero value, which means the defaults.
	Settings Settings `json:",omitzero"`
}

// Output is the workflow result.
type Output struct {
	Applied  int
	Dropped  int
	Comments int
}

// Register registers the blueprint's workflow.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(PullRequest, workflow.RegisterOptions{Name: WorkflowName})
}

// PullRequest is the workflow of one pull request.
func PullRequest(ctx workflow.Context, in Input) (Output, error) {
	entity := workflows.NewEntity(in.State)
	comments := in.Comments
	settings := in.Settings
	if settings.Greeting == "" {
		settings.Greeting = DefaultGreeting
	}
	apply := func(ctx workflow.Context, ev workflows.Event) (bool, error) {
		switch {
		case ev.Action == "opened" || ev.Action == "reopened":
			// A comment that cannot be posted (after the preset's retries)
			// is recorded in the history; the pull request's workflow
			// stays alive for its next events.
			if err := comment(ctx, settings, ev); err != nil {
				workflow.GetLogger(ctx).Warn("comment failed", "delivery_id", ev.DeliveryID, "error", err)
				return false, nil
			}
			comments++
			return false, nil
		case ev.Action == "closed":
			return true, nil
		}
		// Any other event that shows the pull request closed (a redelivered
		// edit after the close) also ends it.
		pr, err := workflows.PullRequestOfEvent(ev)
		return err == nil && pr.State != workflows.PullRequestOpen, nil
	}
	err := entity.Run(ctx, apply, func(st workflows.EntityState) error {
		return workflow.NewContinueAsNewError(ctx, WorkflowName, Input{State: st, Comments: comments, Settings: in.Settings})
	})
	st := entity.State()
	return Output{Applied: st.Applied, Dropped: st.Dropped, Comments: comments}, err
}

// greetSender is the version that names the delivery's sender in the
// comment (recorded histories before it comment without a name).
const greetSender = "greet-sender"

func comment(ctx workflow.Context, settings Settings, ev workflows.Event) error {
	// The view reads the pull request from the payload: a number, never a
	// key parsed back into one. A payload held by reference (over 256 KiB)
	// is read by the projection activity, which returns only these fields.
	pr, sender, err := pullRequest(ctx, ev)
	if err != nil {
		return fmt.Errorf("prcomment: event %s: %w", ev.DeliveryID, err)
	}
	wf := workflow.GetInfo(ctx).WorkflowExecution.ID
	body := fmt.Sprintf("%s Hookflow is tracking it as workflow `%s` (%s delivery `%s`).",
		settings.Greeting, wf, ev.Action, ev.DeliveryID)
	if workflow.GetVersion(ctx, greetSender, workflow.DefaultVersion, 1) == 1 && sender != "" {
		body = "@" + sender + " " + body
	}
	in := ghact.CreateCommentInput{
		Installation: ev.Key(workflows.KeyInstallation),
		Owner:        pr.Owner,
		Repo:         pr.Repo,
		Number:       pr.Number,
		Body:         body,
		Marker:       "hookflow:" + Name + ":" + ev.DeliveryID,
	}
	var out ghact.CreateCommentOutput
	if err := workflow.ExecuteActivity(workflows.ConnectorCall(ctx), ghact.CreateComment, in).Get(ctx, &out); err != nil {
		return err
	}
	workflow.GetLogger(ctx).Info("commented", "comment_id", out.CommentID, "created", out.Created)
	return nil
}

// pullRequest returns the pull request an event is about and the login of
// its sender ("sender" is the last field of GitHub's payloads).
func pullRequest(ctx workflow.Context, ev workflows.Event) (workflows.PullRequest, string, error) {
	if ev.PayloadRef == "" {
		pr, err := workflows.PullRequestOfEvent(ev)
		if err != nil {
			return pr, "", err
		}
		p, err := payload.Project(ctx, ev, "sender.login")
		return pr, p.String("sender.login"), err
	}
	p, err := payload.Project(workflows.ConnectorCall(ctx), ev,
		"pull_request.number", "repository.owner.login", "repository.name", "sender.login")
	if err != nil {
		return workflows.PullRequest{}, "", err
	}
	pr := workflows.PullRequest{Provider: ev.Source, Host: ev.Key(workflows.KeyHost),
		Owner: p.String("repository.owner.login"), Repo: p.String("repository.name")}
	if err := json.Unmarshal(p.Values["pull_request.number"], &pr.Number); err != nil || pr.Number <= 0 || pr.Owner == "" || pr.Repo == "" {
		return pr, "", fmt.Errorf("the payload names no pull request (number, repository owner and name)")
	}
	return pr, p.String("sender.login"), nil
}
