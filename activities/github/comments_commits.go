package github

import (
	"context"

	"github.com/hookflow/hookflow/activities/classify"
)

// Activity names for kept comments and pull request commits, as workflows
// call them.
const (
	// UpsertComment keeps one comment per marker on an issue or pull
	// request, edited in place when its body changes.
	UpsertComment = "github.UpsertComment"
	// ListPullRequestCommits lists a pull request's commits (at most 250).
	ListPullRequestCommits = "github.ListPullRequestCommits"
)

// UpsertCommentInput is the input of UpsertComment.
type UpsertCommentInput struct {
	Installation string
	Owner        string
	Repo         string
	Number       int
	Body         string
	// Marker identifies the comment among the comments: one marker,
	// one comment, whatever the retries. Required.
	Marker string
}

// UpsertCommentOutput is the result of UpsertComment.
type UpsertCommentOutput struct {
	CommentID int64
	URL       string
	// Did is "created", "updated" or "unchanged".
	Did string
}

// UpsertComment posts in.Body on the issue or pull request, or edits the
// comment carrying in.Marker to say it.
func (a *Activities) UpsertComment(ctx context.Context, in UpsertCommentInput) (UpsertCommentOutput, error) {
	if in.Owner == "" || in.Repo == "" || in.Number <= 0 || in.Marker == "" || in.Body == "" {
		return UpsertCommentOutput{}, classify.Final(classify.TypeValidation, "github.UpsertComment: owner, repo, number, body and marker are required")
	}
	token, err := a.token(ctx, in.Installation)
	if err != nil {
		return UpsertCommentOutput{}, err
	}
	cm, did, err := a.Client.UpsertComment(ctx, token, in.Owner, in.Repo, in.Number, in.Body, in.Marker)
	if err != nil {
		return UpsertCommentOutput{}, a.fail(in.Installation, err)
	}
	return UpsertCommentOutput{CommentID: cm.ID, URL: cm.HTMLURL, Did: did}, nil
}

// ListPullRequestCommitsInput is the input of ListPullRequestCommits.
type ListPullRequestCommitsInput struct {
	Installation string
	Owner        string
	Repo         string
	Number       int
}

// ListPullRequestCommitsOutput is the result of ListPullRequestCommits.
type ListPullRequestCommitsOutput struct {
	// Commits are oldest first; GitHub lists at most 250.
	Commits []PullCommit
}

// PullCommit is one commit of a pull request.
type PullCommit struct {
	SHA     string
	Message string
}

// ListPullRequestCommits lists the pull request's commits.
func (a *Activities) ListPullRequestCommits(ctx context.Context, in ListPullRequestCommitsInput) (ListPullRequestCommitsOutput, error) {
	if in.Owner == "" || in.Repo == "" || in.Number <= 0 {
		return ListPullRequestCommitsOutput{}, classify.Final(classify.TypeValidation, "github.ListPullRequestCommits: owner, repo and number are required")
	}
	token, err := a.token(ctx, in.Installation)
	if err != nil {
		return ListPullRequestCommitsOutput{}, err
	}
	cs, err := a.Client.ListPullRequestCommits(ctx, token, in.Owner, in.Repo, in.Number)
	if err != nil {
		return ListPullRequestCommitsOutput{}, a.fail(in.Installation, err)
	}
	out := ListPullRequestCommitsOutput{Commits: make([]PullCommit, len(cs))}
	for i, c := range cs {
		out.Commits[i] = PullCommit{SHA: c.SHA, Message: c.Message}
	}
	return out, nil
}
