package github

import (
	"context"
	"fmt"
	"time"

	gh "github.com/google/go-github/v62/github"
)

// ComparedCommit is one commit of a comparison.
type ComparedCommit struct {
	SHA string
	// CommittedAt is the git committer date (commit.committer.date), when
	// the commit as it exists on the branch was made: a rebased,
	// cherry-picked or squash-merged commit has the time of the rebase or
	// merge, not of the original work. AuthoredAt is commit.author.date.
	CommittedAt time.Time
	AuthoredAt  time.Time
}

// Comparison is what GitHub lists between two commits.
type Comparison struct {
	// Status is "ahead", "behind", "diverged" or "identical".
	Status string
	// Commits are reachable from head and not from base (git log
	// base..head), oldest first, at most the maxCommits asked for.
	Commits []ComparedCommit
	// Total is how many commits the comparison counts; more than
	// len(Commits) when the list was cut at maxCommits.
	Total int
}

// comparePerPage is the page size asked for: the largest per_page GitHub's
// REST API takes. Without per_page the compare API sends one page of at
// most 250 commits.
const comparePerPage = 100

// Compare lists the commits between base and head (GET
// /repos/{owner}/{repo}/compare/{base}...{head}), following the pages
// GitHub links until maxCommits commits are read (zero or less: every
// commit).
func (c *Client) Compare(ctx context.Context, token, owner, repo, base, head string, maxCommits int) (Comparison, error) {
	op := fmt.Sprintf("compare %s...%s of %s/%s", short(base), short(head), owner, repo)
	api := c.api(token)
	opts := &gh.ListOptions{PerPage: comparePerPage}
	var out Comparison
	for {
		cmp, resp, err := api.Repositories.CompareCommits(ctx, owner, repo, base, head, opts)
		if err != nil {
			return Comparison{}, convert(op, err)
		}
		if out.Status == "" {
			out.Status, out.Total = cmp.GetStatus(), cmp.GetTotalCommits()
		}
		for _, rc := range cmp.Commits {
			gc := rc.GetCommit()
			out.Commits = append(out.Commits, ComparedCommit{SHA: rc.GetSHA(),
				CommittedAt: gc.GetCommitter().GetDate().Time.UTC(), AuthoredAt: gc.GetAuthor().GetDate().Time.UTC()})
			if maxCommits > 0 && len(out.Commits) == maxCommits {
				return out, nil
			}
		}
		if resp.NextPage == 0 || len(cmp.Commits) == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// short is a SHA's first 12 characters, for messages.
func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
