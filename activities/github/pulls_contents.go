package github

import (
	"context"
	"fmt"
	"net/http"

	"github.com/hookflow/hookflow/activities/classify"
	"github.com/hookflow/hookflow/connectors/apierror"
	ghconn "github.com/hookflow/hookflow/connectors/github"
)

// Activity names for pull requests and contents, as workflows call them.
const (
	// RequestReviewers asks users and teams to review a pull request
	// (idempotent).
	RequestReviewers = "github.RequestReviewers"
	// MergePullRequest merges a pull request (a retry after success
	// reports AlreadyMerged).
	MergePullRequest = "github.MergePullRequest"
	// GetFileContents reads a file at a ref.
	GetFileContents = "github.GetFileContents"
)

// RequestReviewersInput is the input of RequestReviewers.
type RequestReviewersInput struct {
	Installation string
	Owner        string
	Repo         string
	Number       int
	// Reviewers are user logins; TeamReviewers are team slugs. At least
	// one of them is required.
	Reviewers     []string
	TeamReviewers []string
}

// RequestReviewersOutput is the result of RequestReviewers: everyone
// requested afterwards.
type RequestReviewersOutput struct {
	Reviewers     []string
	TeamReviewers []string
}

// RequestReviewers asks in.Reviewers and in.TeamReviewers to review the
// pull request. GitHub refuses (422, final) a reviewer who is not a
// collaborator or is the author.
func (a *Activities) RequestReviewers(ctx context.Context, in RequestReviewersInput) (RequestReviewersOutput, error) {
	if in.Owner == "" || in.Repo == "" || in.Number <= 0 || len(in.Reviewers)+len(in.TeamReviewers) == 0 {
		return RequestReviewersOutput{}, classify.Final(classify.TypeValidation, "github.RequestReviewers: owner, repo, number and a reviewer or team are required")
	}
	token, err := a.token(ctx, in.Installation)
	if err != nil {
		return RequestReviewersOutput{}, err
	}
	users, teams, err := a.Client.RequestReviewers(ctx, token, in.Owner, in.Repo, in.Number, in.Reviewers, in.TeamReviewers)
	if err != nil {
		return RequestReviewersOutput{}, a.fail(in.Installation, err)
	}
	return RequestReviewersOutput{Reviewers: users, TeamReviewers: teams}, nil
}

// MergePullRequestInput is the input of MergePullRequest.
type MergePullRequestInput struct {
	Installation string
	Owner        string
	Repo         string
	Number       int
	// Method is "merge", "squash" or "rebase". Empty means "merge".
	Method string
	// SHA is the head the pull request must still have, so that commits
	// pushed after the workflow decided are not merged unseen. Empty
	// means any head.
	SHA string
	// CommitTitle and CommitMessage: empty means GitHub's.
	CommitTitle   string
	CommitMessage string
}

// MergePullRequestOutput is the result of MergePullRequest.
type MergePullRequestOutput struct {
	SHA string
	// AlreadyMerged is true when the pull request had been merged before
	// (by an earlier attempt whose answer was lost, or by someone else).
	AlreadyMerged bool
}

// MergePullRequest merges the pull request. "Not mergeable" (GitHub's
// 405) and "head moved on from SHA" (409) fail at once with type
// classify.TypeConflict: retrying cannot change either.
func (a *Activities) MergePullRequest(ctx context.Context, in MergePullRequestInput) (MergePullRequestOutput, error) {
	switch in.Method {
	case "", "merge", "squash", "rebase":
	default:
		return MergePullRequestOutput{}, classify.Final(classify.TypeValidation, "github.MergePullRequest: method must be merge, squash or rebase")
	}
	if in.Owner == "" || in.Repo == "" || in.Number <= 0 {
		return MergePullRequestOutput{}, classify.Final(classify.TypeValidation, "github.MergePullRequest: owner, repo and number are required")
	}
	token, err := a.token(ctx, in.Installation)
	if err != nil {
		return MergePullRequestOutput{}, err
	}
	res, err := a.Client.MergePullRequest(ctx, token, in.Owner, in.Repo, in.Number, ghconn.Merge{
		Method: in.Method, SHA: in.SHA, CommitTitle: in.CommitTitle, CommitMessage: in.CommitMessage,
	})
	if e, ok := apierror.As(err); ok && e.Status == http.StatusMethodNotAllowed {
		return MergePullRequestOutput{}, classify.Final(classify.TypeConflict, fmt.Sprintf("installation %q: %v", in.Installation, err))
	}
	if err != nil {
		return MergePullRequestOutput{}, a.fail(in.Installation, err)
	}
	return MergePullRequestOutput{SHA: res.SHA, AlreadyMerged: res.AlreadyMerged}, nil
}

// DefaultMaxFileBytes is GetFileContents' limit when the input sets none:
// the content goes into the workflow history, whose payloads Temporal
// limits to 2 MB.
const DefaultMaxFileBytes = 1 << 20

// GetFileContentsInput is the input of GetFileContents.
type GetFileContentsInput struct {
	Installation string
	Owner        string
	Repo         string
	// Path is the file's path in the repository. Required.
	Path string
	// Ref is a branch, tag or commit SHA. Empty means the default branch.
	Ref string
	// MaxBytes fails the activity (final) for a larger file. Zero means
	// DefaultMaxFileBytes.
	MaxBytes int
}

// GetFileContentsOutput is the result of GetFileContents.
type GetFileContentsOutput struct {
	Path string
	// SHA is the blob's SHA, as needed to update the file.
	SHA  string
	Size int
	// Content is the file's bytes, decoded.
	Content []byte
}

// GetFileContents reads in.Path at in.Ref.
func (a *Activities) GetFileContents(ctx context.Context, in GetFileContentsInput) (GetFileContentsOutput, error) {
	if in.Owner == "" || in.Repo == "" || in.Path == "" {
		return GetFileContentsOutput{}, classify.Final(classify.TypeValidation, "github.GetFileContents: owner, repo and path are required")
	}
	limit := in.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxFileBytes
	}
	token, err := a.token(ctx, in.Installation)
	if err != nil {
		return GetFileContentsOutput{}, err
	}
	f, err := a.Client.GetFileContents(ctx, token, in.Owner, in.Repo, in.Path, in.Ref)
	if err != nil {
		return GetFileContentsOutput{}, a.fail(in.Installation, err)
	}
	if len(f.Content) > limit {
		return GetFileContentsOutput{}, classify.Final(classify.TypeValidation, fmt.Sprintf("github.GetFileContents: %s/%s/%s is %d bytes, over the limit of %d", in.Owner, in.Repo, in.Path, len(f.Content), limit))
	}
	return GetFileContentsOutput{Path: f.Path, SHA: f.SHA, Size: f.Size, Content: f.Content}, nil
}
