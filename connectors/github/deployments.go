package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	gh "github.com/google/go-github/v62/github"

	"github.com/hookflow/hookflow/connectors/apierror"
)

// Deployment is a deployment to create.
type Deployment struct {
	// Ref is the branch, tag or SHA to deploy. Required.
	Ref string
	// Environment is the target ("production", "staging"). Empty means
	// GitHub's default, "production".
	Environment string
	// Task is the kind of deployment. Empty means GitHub's "deploy".
	Task        string
	Description string
	// AutoMerge asks GitHub to merge the default branch into Ref first.
	// Nil means GitHub's default (true).
	AutoMerge *bool
	// RequiredContexts are the status contexts that must pass first. Nil
	// means every context; an empty slice means none.
	RequiredContexts *[]string
	// Payload is extra JSON for the deployment's consumers. Nil means none.
	Payload map[string]any
	// Key, when set, makes a retried call create at most one deployment:
	// it is stored in the payload as "hookflow_key", and CreateDeployment
	// returns the recent deployment of the same ref, environment and task
	// that carries it instead of creating another.
	Key                   string
	ProductionEnvironment *bool
	TransientEnvironment  *bool
}

// DeploymentResult is a created or found deployment.
type DeploymentResult struct {
	ID  int64
	URL string
	SHA string
}

// KeyField is the payload field a Deployment's Key is stored in.
const KeyField = "hookflow_key"

// autoMergeTries bounds how often CreateDeployment repeats a create that
// GitHub answered with 202 (it merged the default branch into the ref and
// asks for the request again).
const autoMergeTries = 3

// CreateDeployment creates d. GitHub answers 202 when auto-merge merged the
// default branch into the ref without creating the deployment; the
// request is then repeated, as GitHub's documentation asks, a few times
// before a retryable error is returned.
func (c *Client) CreateDeployment(ctx context.Context, token, owner, repo string, d Deployment) (DeploymentResult, bool, error) {
	op := fmt.Sprintf("create deployment of %s/%s@%s to %q", owner, repo, d.Ref, d.Environment)
	api := c.api(token)
	if d.Key != "" {
		found, ok, err := c.findDeployment(ctx, api, owner, repo, d)
		if err != nil {
			return DeploymentResult{}, false, convert(op, err)
		}
		if ok {
			return found, false, nil
		}
	}
	req := &gh.DeploymentRequest{
		Ref:                   gh.String(d.Ref),
		Task:                  optional(d.Task),
		AutoMerge:             d.AutoMerge,
		RequiredContexts:      d.RequiredContexts,
		Environment:           optional(d.Environment),
		Description:           optional(d.Description),
		ProductionEnvironment: d.ProductionEnvironment,
		TransientEnvironment:  d.TransientEnvironment,
	}
	if d.Payload != nil || d.Key != "" {
		p := make(map[string]any, len(d.Payload)+1)
		for k, v := range d.Payload {
			p[k] = v
		}
		if d.Key != "" {
			p[KeyField] = d.Key
		}
		req.Payload = p
	}
	for range autoMergeTries {
		dep, _, err := api.Repositories.CreateDeployment(ctx, owner, repo, req)
		var accepted *gh.AcceptedError
		switch {
		case errors.As(err, &accepted):
			continue
		case err != nil:
			return DeploymentResult{}, false, convert(op, err)
		}
		return DeploymentResult{ID: dep.GetID(), URL: dep.GetURL(), SHA: dep.GetSHA()}, true, nil
	}
	return DeploymentResult{}, false, &apierror.Error{System: System, Op: op,
		Message: fmt.Sprintf("GitHub answered 202 (auto-merged the default branch into %s) %d times without creating the deployment", d.Ref, autoMergeTries)}
}

// findDeployment looks for d.Key among the latest deployments of d's
// ref, environment and task (newest first; one page is enough for a
// retry, which follows its first attempt closely).
func (c *Client) findDeployment(ctx context.Context, api *gh.Client, owner, repo string, d Deployment) (DeploymentResult, bool, error) {
	list, _, err := api.Repositories.ListDeployments(ctx, owner, repo, &gh.DeploymentsListOptions{
		Ref: d.Ref, Environment: d.Environment, Task: d.Task, ListOptions: gh.ListOptions{PerPage: 100},
	})
	if err != nil {
		return DeploymentResult{}, false, err
	}
	for _, dep := range list {
		var p map[string]any
		if json.Unmarshal(dep.Payload, &p) == nil && p[KeyField] == d.Key {
			return DeploymentResult{ID: dep.GetID(), URL: dep.GetURL(), SHA: dep.GetSHA()}, true, nil
		}
	}
	return DeploymentResult{}, false, nil
}

// DeploymentStatus is a deployment status to create.
type DeploymentStatus struct {
	// State is "error", "failure", "inactive", "in_progress", "queued",
	// "pending" or "success". Required.
	State       string
	Description string
	// LogURL links the status to the deployment's output. Empty means none.
	LogURL string
	// EnvironmentURL is where the deployed environment is reachable.
	// Empty means none.
	EnvironmentURL string
	// Environment changes the deployment's environment. Empty means no
	// change.
	Environment string
	// AutoInactive marks earlier non-transient, non-production deployments
	// of the environment inactive on success. Nil means GitHub's default
	// (true).
	AutoInactive *bool
}

// CreateDeploymentStatus adds a status to deployment id. GitHub shows the
// latest status, so a retried call shows the same.
func (c *Client) CreateDeploymentStatus(ctx context.Context, token, owner, repo string, id int64, s DeploymentStatus) (int64, error) {
	op := fmt.Sprintf("set status %q on deployment %d of %s/%s", s.State, id, owner, repo)
	st, _, err := c.api(token).Repositories.CreateDeploymentStatus(ctx, owner, repo, id, &gh.DeploymentStatusRequest{
		State:          gh.String(s.State),
		Description:    optional(s.Description),
		LogURL:         optional(s.LogURL),
		EnvironmentURL: optional(s.EnvironmentURL),
		Environment:    optional(s.Environment),
		AutoInactive:   s.AutoInactive,
	})
	if err != nil {
		return 0, convert(op, err)
	}
	return st.GetID(), nil
}
