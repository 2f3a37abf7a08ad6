package dora

import (
	"context"
	"time"

	"github.com/hookflow/hookflow/activities/classify"
	doraconn "github.com/hookflow/hookflow/connectors/dora"
)

// Activity names for resolving deployments' commits.
const (
	// ListUnresolved lists a batch's successful deployments whose commits
	// are not known, each with the SHA of the previous successful
	// deployment of its repository and environment.
	ListUnresolved = "dora.ListUnresolved"
	// RecordCommits writes the commits resolved for deployments (or why
	// there are none).
	RecordCommits = "dora.RecordCommits"
)

// Outcomes of resolving a deployment's commits (Resolution.From).
const (
	// FromCompare: Commits are the range base...head the compare API
	// listed.
	FromCompare = "compare"
	// FromFirst: no previous successful deployment, so no range.
	FromFirst = "first"
	// FromUnresolvable: the provider refused the comparison (404, 422).
	FromUnresolvable = "unresolvable"
)

// ListUnresolvedInput is the input of ListUnresolved.
type ListUnresolvedInput struct {
	BatchID string `json:"batch_id"`
}

// Unresolved is a deployment to resolve. BaseSHA is empty for the first
// deployment of its repository and environment.
type Unresolved struct {
	DeploymentID     string `json:"deployment_id"`
	Repo             string `json:"repo"`
	Environment      string `json:"environment"`
	SHA              string `json:"sha"`
	Source           string `json:"source,omitempty"`
	BaseSHA          string `json:"base_sha,omitempty"`
	BaseDeploymentID string `json:"base_deployment_id,omitempty"`
}

// ListUnresolvedOutput is the result of ListUnresolved.
type ListUnresolvedOutput struct {
	Deployments []Unresolved `json:"deployments"`
}

// ListUnresolved asks the ingress which of the batch's deployments need
// their commits resolved. It only reads.
func (a *Activities) ListUnresolved(ctx context.Context, in ListUnresolvedInput) (ListUnresolvedOutput, error) {
	if a.Client == nil {
		return ListUnresolvedOutput{}, notConfigured()
	}
	list, err := a.Client.Unresolved(ctx, in.BatchID)
	if err != nil {
		return ListUnresolvedOutput{}, classify.Error(err)
	}
	out := ListUnresolvedOutput{Deployments: make([]Unresolved, 0, len(list))}
	for _, u := range list {
		out.Deployments = append(out.Deployments, Unresolved(u))
	}
	return out, nil
}

// Commit is one commit a deployment ships.
type Commit struct {
	SHA         string    `json:"sha"`
	CommittedAt time.Time `json:"committed_at"`
}

// Resolution is the outcome for one deployment: SHA is the head resolved
// (a deployment that has moved to another SHA since is left alone), From
// one of the From constants, Commits the range's (FromCompare only).
type Resolution struct {
	DeploymentID string   `json:"deployment_id"`
	SHA          string   `json:"sha"`
	From         string   `json:"from"`
	Commits      []Commit `json:"commits,omitempty"`
}

// RecordCommitsInput is the input of RecordCommits.
type RecordCommitsInput struct {
	Resolutions []Resolution `json:"resolutions"`
}

// RecordCommitsOutput counts what was written, and the resolutions left
// alone (the deployment moved on, or its record lists its commits).
type RecordCommitsOutput struct {
	Deployments int `json:"deployments"`
	Commits     int `json:"commits"`
	Skipped     int `json:"skipped"`
}

// RecordCommits writes resolutions through the ingress. It is idempotent:
// each deployment's commits are replaced by the resolution's.
func (a *Activities) RecordCommits(ctx context.Context, in RecordCommitsInput) (RecordCommitsOutput, error) {
	if a.Client == nil {
		return RecordCommitsOutput{}, notConfigured()
	}
	rs := make([]doraconn.Resolution, 0, len(in.Resolutions))
	for _, r := range in.Resolutions {
		cr := doraconn.Resolution{DeploymentID: r.DeploymentID, SHA: r.SHA, From: r.From}
		for _, c := range r.Commits {
			cr.Commits = append(cr.Commits, doraconn.Commit(c))
		}
		rs = append(rs, cr)
	}
	out, err := a.Client.RecordCommits(ctx, rs)
	if err != nil {
		return RecordCommitsOutput{}, classify.Error(err)
	}
	return RecordCommitsOutput(out), nil
}
