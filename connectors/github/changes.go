package github

import (
	"context"
	"fmt"
	"strings"

	gh "github.com/google/go-github/v62/github"
)

// DeployedCommit is one commit a deployment brings.
type DeployedCommit struct {
	SHA string
	// Message is the commit message's first line.
	Message string
	// Author is the author's login, else the git author's name.
	Author string
	// Body is the rest of the message (pull request references and issue
	// keys are often there).
	Body string
}

// DeploymentChanges are the commits between the last successful
// deployment of an environment and a SHA.
type DeploymentChanges struct {
	// BaseSHA is the SHA of the last successful deployment; empty when
	// there was none (the first deployment of the environment).
	BaseSHA string
	// BaseDeployment is that deployment's ID.
	BaseDeployment int64
	Commits        []DeployedCommit
	// Total is how many commits the comparison counts (Commits holds at
	// most the first page, 250 at most).
	Total int
}

// deploymentsScanned bounds how many earlier deployments are looked at to
// find the last successful one.
const deploymentsScanned = 30

// ChangesSinceLastSuccess lists the commits between the last deployment
// of environment whose latest status is success (other than
// deployment exclude) and sha: GET .../deployments?environment=,
// GET .../deployments/{id}/statuses, GET .../compare/{base}...{head}.
func (c *Client) ChangesSinceLastSuccess(ctx context.Context, token, owner, repo, environment, sha string, exclude int64, maxCommits int) (DeploymentChanges, error) {
	op := fmt.Sprintf("list changes deployed to %s of %s/%s", environment, owner, repo)
	api := c.api(token)
	deps, _, err := api.Repositories.ListDeployments(ctx, owner, repo, &gh.DeploymentsListOptions{
		Environment: environment, ListOptions: gh.ListOptions{PerPage: deploymentsScanned}})
	if err != nil {
		return DeploymentChanges{}, convert(op, err)
	}
	var out DeploymentChanges
	for _, d := range deps {
		if d.GetID() == exclude || d.GetSHA() == "" {
			continue
		}
		sts, _, err := api.Repositories.ListDeploymentStatuses(ctx, owner, repo, d.GetID(), &gh.ListOptions{PerPage: 1})
		if err != nil {
			return DeploymentChanges{}, convert(op, err)
		}
		if len(sts) > 0 && sts[0].GetState() == "success" {
			out.BaseSHA, out.BaseDeployment = d.GetSHA(), d.GetID()
			break
		}
	}
	if out.BaseSHA == "" || out.BaseSHA == sha {
		return out, nil
	}
	if maxCommits <= 0 || maxCommits > 250 {
		maxCommits = 250
	}
	cmp, _, err := api.Repositories.CompareCommits(ctx, owner, repo, out.BaseSHA, sha, &gh.ListOptions{PerPage: maxCommits})
	if err != nil {
		return DeploymentChanges{}, convert(op, err)
	}
	out.Total = cmp.GetTotalCommits()
	for _, rc := range cmp.Commits {
		msg := rc.GetCommit().GetMessage()
		first, rest, _ := strings.Cut(msg, "\n")
		author := rc.GetAuthor().GetLogin()
		if author == "" {
			author = rc.GetCommit().GetAuthor().GetName()
		}
		out.Commits = append(out.Commits, DeployedCommit{SHA: rc.GetSHA(), Message: first, Author: author, Body: strings.TrimSpace(rest)})
		if len(out.Commits) == maxCommits {
			break
		}
	}
	return out, nil
}
