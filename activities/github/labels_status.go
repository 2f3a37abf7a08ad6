package github

import (
	"context"

	"github.com/hookflow/hookflow/activities/classify"
	ghconn "github.com/hookflow/hookflow/connectors/github"
)

// More activity names, as workflows call them.
const (
	// AddLabels adds labels to an issue or pull request (idempotent).
	AddLabels = "github.AddLabels"
	// CreateStatus sets a commit status (the latest per context shows).
	CreateStatus = "github.CreateStatus"
)

// AddLabelsInput is the input of AddLabels.
type AddLabelsInput struct {
	Installation string
	Owner        string
	Repo         string
	Number       int
	Labels       []string
}

// AddLabelsOutput is the result of AddLabels.
type AddLabelsOutput struct {
	// Labels are all the labels the issue carries afterwards.
	Labels []string
}

// AddLabels adds in.Labels to the issue or pull request.
func (a *Activities) AddLabels(ctx context.Context, in AddLabelsInput) (AddLabelsOutput, error) {
	if in.Owner == "" || in.Repo == "" || in.Number <= 0 || len(in.Labels) == 0 {
		return AddLabelsOutput{}, classify.Final(classify.TypeValidation, "github.AddLabels: owner, repo, number and labels are required")
	}
	token, err := a.token(ctx, in.Installation)
	if err != nil {
		return AddLabelsOutput{}, err
	}
	labels, err := a.Client.AddLabels(ctx, token, in.Owner, in.Repo, in.Number, in.Labels)
	if err != nil {
		return AddLabelsOutput{}, a.fail(in.Installation, err)
	}
	return AddLabelsOutput{Labels: labels}, nil
}

// CreateStatusInput is the input of CreateStatus.
type CreateStatusInput struct {
	Installation string
	Owner        string
	Repo         string
	SHA          string
	Status       Status
}

// Status is a commit status to set: this package's own type, so that a
// connector change cannot change what workflow histories hold.
type Status struct {
	// State is "error", "failure", "pending" or "success".
	State string
	// Context tells this status from others on the commit ("hookflow/deploy").
	// Empty means GitHub's "default".
	Context     string
	Description string
	// TargetURL links the status to details. Empty means none.
	TargetURL string
}

func (s Status) connector() ghconn.Status {
	return ghconn.Status{State: s.State, Context: s.Context, Description: s.Description, TargetURL: s.TargetURL}
}

// CreateStatusOutput is the result of CreateStatus.
type CreateStatusOutput struct {
	StatusID int64
}

// CreateStatus sets a commit status on in.SHA.
func (a *Activities) CreateStatus(ctx context.Context, in CreateStatusInput) (CreateStatusOutput, error) {
	switch in.Status.State {
	case "error", "failure", "pending", "success":
	default:
		return CreateStatusOutput{}, classify.Final(classify.TypeValidation, "github.CreateStatus: state must be error, failure, pending or success")
	}
	if in.Owner == "" || in.Repo == "" || in.SHA == "" {
		return CreateStatusOutput{}, classify.Final(classify.TypeValidation, "github.CreateStatus: owner, repo and sha are required")
	}
	token, err := a.token(ctx, in.Installation)
	if err != nil {
		return CreateStatusOutput{}, err
	}
	id, err := a.Client.CreateStatus(ctx, token, in.Owner, in.Repo, in.SHA, in.Status.connector())
	if err != nil {
		return CreateStatusOutput{}, a.fail(in.Installation, err)
	}
	return CreateStatusOutput{StatusID: id}, nil
}
