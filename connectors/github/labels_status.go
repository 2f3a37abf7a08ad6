package github

import (
	"context"
	"fmt"

	gh "github.com/google/go-github/v62/github"
)

// AddLabels adds labels to an issue or pull request and returns every
// label it carries afterwards. Adding a label it has already is a no-op
// on GitHub's side, so a retried call is harmless.
func (c *Client) AddLabels(ctx context.Context, token, owner, repo string, number int, labels []string) ([]string, error) {
	op := fmt.Sprintf("add labels to %s/%s#%d", owner, repo, number)
	got, _, err := c.api(token).Issues.AddLabelsToIssue(ctx, owner, repo, number, labels)
	if err != nil {
		return nil, convert(op, err)
	}
	out := make([]string, len(got))
	for i, l := range got {
		out[i] = l.GetName()
	}
	return out, nil
}

// Status is a commit status to set.
type Status struct {
	// State is "error", "failure", "pending" or "success".
	State string
	// Context tells this status from others on the commit ("hookflow/deploy").
	// Empty means GitHub's "default".
	Context     string
	Description string
	// TargetURL links the status to details. Empty means none.
	TargetURL string
}

// CreateStatus sets a commit status on sha. GitHub keeps every status it
// is sent but shows the latest per context, so a retry shows the same.
func (c *Client) CreateStatus(ctx context.Context, token, owner, repo, sha string, s Status) (int64, error) {
	op := fmt.Sprintf("set status %q on %s/%s@%s", s.Context, owner, repo, sha)
	in := &gh.RepoStatus{State: gh.String(s.State), Description: gh.String(s.Description)}
	if s.Context != "" {
		in.Context = gh.String(s.Context)
	}
	if s.TargetURL != "" {
		in.TargetURL = gh.String(s.TargetURL)
	}
	st, _, err := c.api(token).Repositories.CreateStatus(ctx, owner, repo, sha, in)
	if err != nil {
		return 0, convert(op, err)
	}
	return st.GetID(), nil
}
