package github

import (
	"context"

	"github.com/hookflow/hookflow/activities/classify"
	ghconn "github.com/hookflow/hookflow/connectors/github"
)

// Activity names for checks and deployments, as workflows call them.
const (
	// CreateCheckRun creates a check run at most once per ExternalID.
	CreateCheckRun = "github.CreateCheckRun"
	// UpdateCheckRun changes a check run's status, conclusion or output.
	UpdateCheckRun = "github.UpdateCheckRun"
	// CreateDeployment creates a deployment at most once per Key.
	CreateDeployment = "github.CreateDeployment"
	// CreateDeploymentStatus adds a status to a deployment (the latest
	// shows).
	CreateDeploymentStatus = "github.CreateDeploymentStatus"
)

// CreateCheckRunInput is the input of CreateCheckRun. Check runs can only
// be written by a GitHub App (Activities.AppID set).
type CreateCheckRunInput struct {
	Installation string
	Owner        string
	Repo         string
	// Name is the check's name, as shown on the commit. Required.
	Name string
	// HeadSHA is the commit checked. Required.
	HeadSHA string
	// ExternalID identifies this run: when the commit already has a run
	// of this name with it, the activity returns that run instead of
	// creating another. Required; derive it from the workflow and
	// delivery IDs.
	ExternalID string
	// Status is "queued", "in_progress" or "completed". Empty means
	// "queued".
	Status string
	// Conclusion goes with Status "completed" ("success", "failure",
	// "neutral", "cancelled", "skipped", "timed_out", "action_required").
	Conclusion string
	DetailsURL string
	// Title and Summary (both, or neither) and Text (Markdown) are the
	// run's output.
	Title   string
	Summary string
	Text    string
}

// CreateCheckRunOutput is the result of CreateCheckRun.
type CreateCheckRunOutput struct {
	CheckRunID int64
	URL        string
	// Created is false when an earlier attempt had already created it.
	Created bool
}

// CreateCheckRun creates a check run on in.HeadSHA, once per ExternalID.
func (a *Activities) CreateCheckRun(ctx context.Context, in CreateCheckRunInput) (CreateCheckRunOutput, error) {
	if in.Owner == "" || in.Repo == "" || in.Name == "" || in.HeadSHA == "" || in.ExternalID == "" {
		return CreateCheckRunOutput{}, classify.Final(classify.TypeValidation, "github.CreateCheckRun: owner, repo, name, head SHA and external ID are required")
	}
	token, err := a.token(ctx, in.Installation)
	if err != nil {
		return CreateCheckRunOutput{}, err
	}
	run, created, err := a.Client.CreateCheckRun(ctx, token, in.Owner, in.Repo, ghconn.CheckRun{
		Name: in.Name, HeadSHA: in.HeadSHA, ExternalID: in.ExternalID, Status: in.Status, Conclusion: in.Conclusion,
		DetailsURL: in.DetailsURL, Title: in.Title, Summary: in.Summary, Text: in.Text,
	})
	if err != nil {
		return CreateCheckRunOutput{}, a.fail(in.Installation, err)
	}
	return CreateCheckRunOutput{CheckRunID: run.ID, URL: run.HTMLURL, Created: created}, nil
}

// UpdateCheckRunInput is the input of UpdateCheckRun. Empty fields are
// left as they are.
type UpdateCheckRunInput struct {
	Installation string
	Owner        string
	Repo         string
	// CheckRunID is CreateCheckRunOutput.CheckRunID. Required.
	CheckRunID int64
	Name       string
	Status     string
	Conclusion string
	DetailsURL string
	Title      string
	Summary    string
	Text       string
}

// UpdateCheckRunOutput is the result of UpdateCheckRun.
type UpdateCheckRunOutput struct {
	CheckRunID int64
	URL        string
	// Status is the run's status afterwards.
	Status string
}

// UpdateCheckRun changes check run in.CheckRunID; a retry sets the same.
func (a *Activities) UpdateCheckRun(ctx context.Context, in UpdateCheckRunInput) (UpdateCheckRunOutput, error) {
	if in.Owner == "" || in.Repo == "" || in.CheckRunID <= 0 {
		return UpdateCheckRunOutput{}, classify.Final(classify.TypeValidation, "github.UpdateCheckRun: owner, repo and check run ID are required")
	}
	token, err := a.token(ctx, in.Installation)
	if err != nil {
		return UpdateCheckRunOutput{}, err
	}
	run, err := a.Client.UpdateCheckRun(ctx, token, in.Owner, in.Repo, in.CheckRunID, ghconn.CheckRun{
		Name: in.Name, Status: in.Status, Conclusion: in.Conclusion,
		DetailsURL: in.DetailsURL, Title: in.Title, Summary: in.Summary, Text: in.Text,
	})
	if err != nil {
		return UpdateCheckRunOutput{}, a.fail(in.Installation, err)
	}
	return UpdateCheckRunOutput{CheckRunID: run.ID, URL: run.HTMLURL, Status: run.Status}, nil
}

// CreateDeploymentInput is the input of CreateDeployment.
type CreateDeploymentInput struct {
	Installation string
	Owner        string
	Repo         string
	// Ref is the branch, tag or SHA to deploy. Required.
	Ref string
	// Key identifies this deployment: when a recent deployment of the
	// same ref, environment and task carries it (in its payload, as
	// "hookflow_key"), the activity returns that one instead of creating
	// another. Required; derive it from the workflow and delivery IDs.
	Key string
	// Environment is the target. Empty means "production".
	Environment string
	// Task is the kind of deployment. Empty means "deploy".
	Task        string
	Description string
	// AutoMerge asks GitHub to merge the default branch into Ref first.
	// Nil means GitHub's default (true).
	AutoMerge *bool
	// RequiredContexts are the status contexts that must pass first. Nil
	// means every context; an empty, non-nil slice means none.
	RequiredContexts []string
	// Payload is extra JSON for the deployment's consumers. Nil means none.
	Payload               map[string]any
	ProductionEnvironment *bool
	TransientEnvironment  *bool
}

// CreateDeploymentOutput is the result of CreateDeployment.
type CreateDeploymentOutput struct {
	DeploymentID int64
	URL          string
	SHA          string
	// Created is false when an earlier attempt had already created it.
	Created bool
}

// CreateDeployment creates a deployment of in.Ref, once per Key.
func (a *Activities) CreateDeployment(ctx context.Context, in CreateDeploymentInput) (CreateDeploymentOutput, error) {
	if in.Owner == "" || in.Repo == "" || in.Ref == "" || in.Key == "" {
		return CreateDeploymentOutput{}, classify.Final(classify.TypeValidation, "github.CreateDeployment: owner, repo, ref and key are required")
	}
	token, err := a.token(ctx, in.Installation)
	if err != nil {
		return CreateDeploymentOutput{}, err
	}
	d := ghconn.Deployment{
		Ref: in.Ref, Key: in.Key, Environment: in.Environment, Task: in.Task, Description: in.Description,
		AutoMerge: in.AutoMerge, Payload: in.Payload,
		ProductionEnvironment: in.ProductionEnvironment, TransientEnvironment: in.TransientEnvironment,
	}
	if in.RequiredContexts != nil {
		d.RequiredContexts = &in.RequiredContexts
	}
	dep, created, err := a.Client.CreateDeployment(ctx, token, in.Owner, in.Repo, d)
	if err != nil {
		return CreateDeploymentOutput{}, a.fail(in.Installation, err)
	}
	return CreateDeploymentOutput{DeploymentID: dep.ID, URL: dep.URL, SHA: dep.SHA, Created: created}, nil
}

// CreateDeploymentStatusInput is the input of CreateDeploymentStatus.
type CreateDeploymentStatusInput struct {
	Installation string
	Owner        string
	Repo         string
	// DeploymentID is CreateDeploymentOutput.DeploymentID. Required.
	DeploymentID int64
	// State is "error", "failure", "inactive", "in_progress", "queued",
	// "pending" or "success". Required.
	State          string
	Description    string
	LogURL         string
	EnvironmentURL string
	// Environment changes the deployment's environment. Empty means no
	// change.
	Environment string
	// AutoInactive: nil means GitHub's default (true).
	AutoInactive *bool
}

// CreateDeploymentStatusOutput is the result of CreateDeploymentStatus.
type CreateDeploymentStatusOutput struct {
	StatusID int64
}

// CreateDeploymentStatus adds a status to deployment in.DeploymentID.
// GitHub shows the latest status, so a retry shows the same.
func (a *Activities) CreateDeploymentStatus(ctx context.Context, in CreateDeploymentStatusInput) (CreateDeploymentStatusOutput, error) {
	switch in.State {
	case "error", "failure", "inactive", "in_progress", "queued", "pending", "success":
	default:
		return CreateDeploymentStatusOutput{}, classify.Final(classify.TypeValidation, "github.CreateDeploymentStatus: state must be error, failure, inactive, in_progress, queued, pending or success")
	}
	if in.Owner == "" || in.Repo == "" || in.DeploymentID <= 0 {
		return CreateDeploymentStatusOutput{}, classify.Final(classify.TypeValidation, "github.CreateDeploymentStatus: owner, repo and deployment ID are required")
	}
	token, err := a.token(ctx, in.Installation)
	if err != nil {
		return CreateDeploymentStatusOutput{}, err
	}
	id, err := a.Client.CreateDeploymentStatus(ctx, token, in.Owner, in.Repo, in.DeploymentID, ghconn.DeploymentStatus{
		State: in.State, Description: in.Description, LogURL: in.LogURL, EnvironmentURL: in.EnvironmentURL,
		Environment: in.Environment, AutoInactive: in.AutoInactive,
	})
	if err != nil {
		return CreateDeploymentStatusOutput{}, a.fail(in.Installation, err)
	}
	return CreateDeploymentStatusOutput{StatusID: id}, nil
}

// ReviewProtectionRule approves or rejects a custom deployment protection
// rule through its run's callback.
const ReviewProtectionRule = "github.ReviewProtectionRule"

// ReviewProtectionRuleInput is the input of ReviewProtectionRule.
type ReviewProtectionRuleInput struct {
	Installation string
	// CallbackURL is the event's deployment_callback_url. It must lie
	// under the configured API root; the token is never sent elsewhere.
	CallbackURL string
	// Environment is the environment the rule protects. Required.
	Environment string
	// State is "approved" or "rejected". Required.
	State   string
	Comment string
}

// ReviewProtectionRuleOutput is the result of ReviewProtectionRule.
type ReviewProtectionRuleOutput struct {
	RunID int64
}

// ReviewProtectionRule answers the protection rule.
func (a *Activities) ReviewProtectionRule(ctx context.Context, in ReviewProtectionRuleInput) (ReviewProtectionRuleOutput, error) {
	if (in.State != "approved" && in.State != "rejected") || in.Environment == "" {
		return ReviewProtectionRuleOutput{}, classify.Final(classify.TypeValidation, "github.ReviewProtectionRule: state must be approved or rejected, and the environment is required")
	}
	owner, repo, run, err := a.Client.ParseProtectionCallback(in.CallbackURL)
	if err != nil {
		return ReviewProtectionRuleOutput{}, classify.Final(classify.TypeValidation, "github.ReviewProtectionRule: "+err.Error())
	}
	token, err := a.token(ctx, in.Installation)
	if err != nil {
		return ReviewProtectionRuleOutput{}, err
	}
	err = a.Client.ReviewProtectionRule(ctx, token, owner, repo, run, ghconn.ProtectionRuleReview{EnvironmentName: in.Environment, State: in.State, Comment: in.Comment})
	if err != nil {
		return ReviewProtectionRuleOutput{}, a.fail(in.Installation, err)
	}
	return ReviewProtectionRuleOutput{RunID: run}, nil
}
