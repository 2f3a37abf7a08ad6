// Package github holds the Temporal activities that act on GitHub and GitHub
// Enterprise Server through connectors/github. Each activity fetches the
// installation's token when it runs and classifies failures with
// activities/classify.
package github

import (
	"context"
	"sync"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"github.com/hookflow/hookflow/activities/classify"
	ghconn "github.com/hookflow/hookflow/connectors/github"
	"github.com/hookflow/hookflow/connectors/tokens"
)

// Activity names, as workflows call them.
const (
	// CreateComment posts a comment on an issue or pull request at most once.
	CreateComment = "github.CreateComment"
)

// Activities are the GitHub activities; the fields are their dependencies.
type Activities struct {
	Client *ghconn.Client
	Tokens tokens.Store
	// AppID is the GitHub App (its App ID, or Client ID) the activities act
	// as: each call mints the installation's access token with the App's
	// private key, stored under {System: "github-app", Installation:
	// AppID}. Empty means no App: the token stored under {System:
	// "github", Installation: <installation>} is used as it is (a personal
	// access token, or a token minted elsewhere).
	AppID string
	// AppTokens mints and caches installation tokens when AppID is set.
	// Nil means a cache of this Activities' own over Client, made on first
	// use.
	AppTokens *ghconn.AppTokens

	appOnce sync.Once
}

// Register registers every GitHub activity under its name.
func Register(r worker.ActivityRegistry, a *Activities) {
	r.RegisterActivityWithOptions(a.CreateComment, activity.RegisterOptions{Name: CreateComment, DisableAlreadyRegisteredCheck: true})
	r.RegisterActivityWithOptions(a.AddLabels, activity.RegisterOptions{Name: AddLabels, DisableAlreadyRegisteredCheck: true})
	r.RegisterActivityWithOptions(a.CreateStatus, activity.RegisterOptions{Name: CreateStatus, DisableAlreadyRegisteredCheck: true})
	r.RegisterActivityWithOptions(a.CreateCheckRun, activity.RegisterOptions{Name: CreateCheckRun, DisableAlreadyRegisteredCheck: true})
	r.RegisterActivityWithOptions(a.UpdateCheckRun, activity.RegisterOptions{Name: UpdateCheckRun, DisableAlreadyRegisteredCheck: true})
	r.RegisterActivityWithOptions(a.CreateDeployment, activity.RegisterOptions{Name: CreateDeployment, DisableAlreadyRegisteredCheck: true})
	r.RegisterActivityWithOptions(a.CreateDeploymentStatus, activity.RegisterOptions{Name: CreateDeploymentStatus, DisableAlreadyRegisteredCheck: true})
	r.RegisterActivityWithOptions(a.RequestReviewers, activity.RegisterOptions{Name: RequestReviewers, DisableAlreadyRegisteredCheck: true})
	r.RegisterActivityWithOptions(a.MergePullRequest, activity.RegisterOptions{Name: MergePullRequest, DisableAlreadyRegisteredCheck: true})
	r.RegisterActivityWithOptions(a.GetFileContents, activity.RegisterOptions{Name: GetFileContents, DisableAlreadyRegisteredCheck: true})
	r.RegisterActivityWithOptions(a.UpsertComment, activity.RegisterOptions{Name: UpsertComment, DisableAlreadyRegisteredCheck: true})
	r.RegisterActivityWithOptions(a.ListPullRequestCommits, activity.RegisterOptions{Name: ListPullRequestCommits, DisableAlreadyRegisteredCheck: true})
	r.RegisterActivityWithOptions(a.ReviewProtectionRule, activity.RegisterOptions{Name: ReviewProtectionRule, DisableAlreadyRegisteredCheck: true})
	r.RegisterActivityWithOptions(a.ListDeploymentChanges, activity.RegisterOptions{Name: ListDeploymentChanges, DisableAlreadyRegisteredCheck: true})
	r.RegisterActivityWithOptions(a.CompareCommits, activity.RegisterOptions{Name: CompareCommits, DisableAlreadyRegisteredCheck: true})
}

// CreateCommentInput is the input of CreateComment.
type CreateCommentInput struct {
	// Installation is the GitHub App installation (or "" for a token that
	// is not per installation); it selects the token.
	Installation string
	Owner        string
	Repo         string
	Number       int
	Body         string
	// Marker identifies this comment among the PR's comments: when a
	// comment with the marker exists the activity returns it instead of
	// posting again. Derive it from the workflow and delivery IDs.
	Marker string
}

// CreateCommentOutput is the result of CreateComment.
type CreateCommentOutput struct {
	CommentID int64
	URL       string
	// Created is false when an earlier attempt had already posted it.
	Created bool
}

// CreateComment posts in.Body on the issue or pull request, once.
func (a *Activities) CreateComment(ctx context.Context, in CreateCommentInput) (CreateCommentOutput, error) {
	if in.Owner == "" || in.Repo == "" || in.Number <= 0 || in.Marker == "" {
		return CreateCommentOutput{}, classify.Final(classify.TypeValidation, "github.CreateComment: owner, repo, number and marker are required")
	}
	token, err := a.token(ctx, in.Installation)
	if err != nil {
		return CreateCommentOutput{}, err
	}
	cm, created, err := a.Client.EnsureComment(ctx, token, in.Owner, in.Repo, in.Number, in.Body, in.Marker)
	if err != nil {
		return CreateCommentOutput{}, a.fail(in.Installation, err)
	}
	return CreateCommentOutput{CommentID: cm.ID, URL: cm.HTMLURL, Created: created}, nil
}

// token returns the credential for installation: minted through the App
// when AppID is set, else the stored one.
func (a *Activities) token(ctx context.Context, installation string) (string, error) {
	if a.AppID != "" {
		return a.appToken(ctx, installation)
	}
	return classify.Credential(ctx, a.Tokens, tokens.Key{System: ghconn.System, Installation: installation}, "token for installation")
}
