package github

import (
	"context"
	"regexp"
	"slices"
	"strconv"

	"github.com/hookflow/hookflow/activities/classify"
)

// ListDeploymentChanges lists what a deployment brings: the commits since
// the environment's last successful deployment, and the pull requests and
// Jira keys they mention.
const ListDeploymentChanges = "github.ListDeploymentChanges"

// ListDeploymentChangesInput is the input of ListDeploymentChanges.
type ListDeploymentChangesInput struct {
	Installation string
	Owner        string
	Repo         string
	Environment  string
	// SHA is the commit being deployed. Required.
	SHA string
	// DeploymentID is the deployment itself, never its own base.
	DeploymentID int64
	// MaxCommits bounds the commits returned. Zero means 100.
	MaxCommits int
}

// DeploymentCommit is one commit deployed.
type DeploymentCommit struct {
	SHA     string
	Message string
	Author  string
}

// ListDeploymentChangesOutput is the result of ListDeploymentChanges.
type ListDeploymentChangesOutput struct {
	// BaseSHA is the last successful deployment's SHA; empty for the
	// environment's first deployment.
	BaseSHA string
	Commits []DeploymentCommit
	// Total counts every commit of the comparison, beyond Commits.
	Total int
	// PullRequests are the numbers of the pull requests the commit
	// messages reference (#123, "Merge pull request #123"), in order.
	PullRequests []int
	// JiraKeys are the issue keys the messages mention (PROJ-123), in
	// order.
	JiraKeys []string
}

var (
	prRef   = regexp.MustCompile(`(?:^|[\s(])#([0-9]{1,9})\b`)
	jiraKey = regexp.MustCompile(`\b[A-Z][A-Z0-9_]{1,9}-[1-9][0-9]{0,8}\b`)
)

// References returns the pull request numbers and Jira keys text
// mentions, each once, in order of appearance.
func References(text string) (prs []int, keys []string) {
	for _, m := range prRef.FindAllStringSubmatch(text, -1) {
		if n, err := strconv.Atoi(m[1]); err == nil && n > 0 && !slices.Contains(prs, n) {
			prs = append(prs, n)
		}
	}
	for _, k := range jiraKey.FindAllString(text, -1) {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return prs, keys
}

// ListDeploymentChanges reads what in.SHA brings to in.Environment.
func (a *Activities) ListDeploymentChanges(ctx context.Context, in ListDeploymentChangesInput) (ListDeploymentChangesOutput, error) {
	if in.Owner == "" || in.Repo == "" || in.Environment == "" || in.SHA == "" {
		return ListDeploymentChangesOutput{}, classify.Final(classify.TypeValidation, "github.ListDeploymentChanges: owner, repo, environment and SHA are required")
	}
	max := in.MaxCommits
	if max <= 0 {
		max = 100
	}
	token, err := a.token(ctx, in.Installation)
	if err != nil {
		return ListDeploymentChangesOutput{}, err
	}
	ch, err := a.Client.ChangesSinceLastSuccess(ctx, token, in.Owner, in.Repo, in.Environment, in.SHA, in.DeploymentID, max)
	if err != nil {
		return ListDeploymentChangesOutput{}, a.fail(in.Installation, err)
	}
	out := ListDeploymentChangesOutput{BaseSHA: ch.BaseSHA, Total: ch.Total}
	for _, c := range ch.Commits {
		out.Commits = append(out.Commits, DeploymentCommit{SHA: c.SHA, Message: c.Message, Author: c.Author})
		prs, keys := References(c.Message + "\n" + c.Body)
		for _, n := range prs {
			if !slices.Contains(out.PullRequests, n) {
				out.PullRequests = append(out.PullRequests, n)
			}
		}
		for _, k := range keys {
			if !slices.Contains(out.JiraKeys, k) {
				out.JiraKeys = append(out.JiraKeys, k)
			}
		}
	}
	return out, nil
}
