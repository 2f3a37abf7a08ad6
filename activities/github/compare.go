package github

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/hookflow/hookflow/activities/classify"
	"github.com/hookflow/hookflow/connectors/apierror"
)

// CompareCommits lists the commits between two SHAs of a repository, with
// their times: what a deployment of head ships after one of base.
const CompareCommits = "github.CompareCommits"

// TypeCompareRefused is the error type of a comparison GitHub refused:
// 404 (a base or head it does not know, or a repository the token cannot
// see) or 422 (no common history). It is final, and distinct from
// classify.TypeValidation (an invalid input, a GitHub App call without an
// installation) so that a workflow can record the refusal as the range's
// outcome without recording a configuration problem the same way.
const TypeCompareRefused = "github.CompareRefusedError"

// DefaultMaxCompared is how many commits CompareCommits returns when the
// input does not say: a bound on the activity's result in the history.
const DefaultMaxCompared = 1000

// CompareCommitsInput is the input of CompareCommits.
type CompareCommitsInput struct {
	// Installation selects the token, as for every GitHub activity.
	Installation string
	Owner        string
	Repo         string
	// Base and Head are the commits compared (base...head). Required.
	Base string
	Head string
	// MaxCommits bounds the commits returned. Zero means
	// DefaultMaxCompared.
	MaxCommits int
}

// ComparedCommit is one commit between base and head.
type ComparedCommit struct {
	SHA string
	// CommittedAt is the git committer date (commit.committer.date), or
	// the author date when GitHub gives no committer date.
	CommittedAt time.Time
}

// CompareCommitsOutput is the result of CompareCommits.
type CompareCommitsOutput struct {
	// Status is GitHub's: "ahead", "behind", "diverged" or "identical".
	Status string
	// Commits are reachable from Head and not from Base, oldest first.
	Commits []ComparedCommit
	// Total counts every commit of the comparison; more than
	// len(Commits) when Commits was cut at MaxCommits.
	Total int
}

// CompareCommits reads GET /repos/{owner}/{repo}/compare/{base}...{head},
// every page. It reads only, so a retry is harmless. A base or head
// GitHub does not know (404) and a comparison it refuses (422: no common
// history) are final, of type TypeCompareRefused; other failures are
// classified as for every GitHub activity.
func (a *Activities) CompareCommits(ctx context.Context, in CompareCommitsInput) (CompareCommitsOutput, error) {
	if in.Owner == "" || in.Repo == "" || in.Base == "" || in.Head == "" {
		return CompareCommitsOutput{}, classify.Final(classify.TypeValidation, "github.CompareCommits: owner, repo, base and head are required")
	}
	max := in.MaxCommits
	if max <= 0 {
		max = DefaultMaxCompared
	}
	token, err := a.token(ctx, in.Installation)
	if err != nil {
		return CompareCommitsOutput{}, err
	}
	cmp, err := a.Client.Compare(ctx, token, in.Owner, in.Repo, in.Base, in.Head, max)
	if e, ok := apierror.As(err); ok && (e.Status == http.StatusNotFound || e.Status == http.StatusUnprocessableEntity) {
		return CompareCommitsOutput{}, classify.Final(TypeCompareRefused, fmt.Sprintf("installation %q: %v", in.Installation, err))
	}
	if err != nil {
		return CompareCommitsOutput{}, a.fail(in.Installation, err)
	}
	out := CompareCommitsOutput{Status: cmp.Status, Total: cmp.Total, Commits: make([]ComparedCommit, 0, len(cmp.Commits))}
	for _, c := range cmp.Commits {
		at := c.CommittedAt
		if at.IsZero() {
			at = c.AuthoredAt
		}
		out.Commits = append(out.Commits, ComparedCommit{SHA: c.SHA, CommittedAt: at})
	}
	return out, nil
}
