package github

import (
	"context"
	"fmt"
	"net/http"

	gh "github.com/google/go-github/v62/github"

	"github.com/hookflow/hookflow/connectors/apierror"
)

// RequestReviewers asks users (logins) and teams (slugs) to review pull
// request number and returns who is requested afterwards. Requesting a
// reviewer twice is a no-op on GitHub's side, so a retried call is
// harmless. GitHub answers 422 for a reviewer who is not a collaborator
// or is the pull request's author.
func (c *Client) RequestReviewers(ctx context.Context, token, owner, repo string, number int, users, teams []string) (gotUsers, gotTeams []string, err error) {
	op := fmt.Sprintf("request reviewers on %s/%s#%d", owner, repo, number)
	pr, _, err := c.api(token).PullRequests.RequestReviewers(ctx, owner, repo, number, gh.ReviewersRequest{Reviewers: users, TeamReviewers: teams})
	if err != nil {
		return nil, nil, convert(op, err)
	}
	for _, u := range pr.RequestedReviewers {
		gotUsers = append(gotUsers, u.GetLogin())
	}
	for _, t := range pr.RequestedTeams {
		gotTeams = append(gotTeams, t.GetSlug())
	}
	return gotUsers, gotTeams, nil
}

// Merge says how to merge a pull request.
type Merge struct {
	// Method is "merge", "squash" or "rebase". Empty means GitHub's
	// default, "merge".
	Method string
	// SHA is the head the pull request must still have; GitHub refuses
	// the merge with 409 when the branch moved on. Empty means any head.
	SHA string
	// CommitTitle and CommitMessage replace GitHub's generated ones.
	// Empty means GitHub's.
	CommitTitle   string
	CommitMessage string
}

// MergeResult is a merged pull request.
type MergeResult struct {
	// SHA is the merge commit (or the squashed or rebased head).
	SHA string
	// AlreadyMerged is true when the pull request had been merged before
	// this call (by an earlier attempt or by someone else) at m.SHA.
	AlreadyMerged bool
}

// MergePullRequest merges pull request number. GitHub's 405 ("not
// mergeable": conflicts, failing required checks, missing reviews) and
// 409 (the head is no longer m.SHA) come back as *apierror.Error with
// those statuses and a message that says so; both are final. A 405 for a
// pull request that is already merged (at m.SHA, when given) is success
// with AlreadyMerged, so that a retried call after a lost answer succeeds.
func (c *Client) MergePullRequest(ctx context.Context, token, owner, repo string, number int, m Merge) (MergeResult, error) {
	op := fmt.Sprintf("merge %s/%s#%d", owner, repo, number)
	api := c.api(token)
	res, _, err := api.PullRequests.Merge(ctx, owner, repo, number, m.CommitMessage, &gh.PullRequestOptions{
		CommitTitle: m.CommitTitle, SHA: m.SHA, MergeMethod: m.Method,
	})
	if err == nil {
		return MergeResult{SHA: res.GetSHA()}, nil
	}
	e := convert(op, err)
	ae, ok := apierror.As(e)
	if !ok {
		return MergeResult{}, e
	}
	switch ae.Status {
	case http.StatusMethodNotAllowed:
		pr, _, gerr := api.PullRequests.Get(ctx, owner, repo, number)
		if gerr == nil && pr.GetMerged() && (m.SHA == "" || pr.GetHead().GetSHA() == m.SHA) {
			return MergeResult{SHA: pr.GetMergeCommitSHA(), AlreadyMerged: true}, nil
		}
		ae.Message = "not mergeable (merge conflicts, failing required status checks or missing reviews); GitHub says: " + ae.Message
	case http.StatusConflict:
		ae.Message = fmt.Sprintf("the head branch moved on from %s; review the new commits before merging; GitHub says: %s", m.SHA, ae.Message)
	}
	return MergeResult{}, ae
}
