package github

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	gh "github.com/google/go-github/v62/github"
)

// CheckRun is a check run to create or the fields of one to update. Check
// runs can only be written with a GitHub App's installation token.
type CheckRun struct {
	// Name is the check's name ("hookflow/deploy"). Required to create;
	// empty on update keeps the current name.
	Name string
	// HeadSHA is the commit checked. Required to create; ignored on update.
	HeadSHA string
	// ExternalID identifies the run in Hookflow. CreateCheckRun looks it
	// up among the commit's runs of the same name before creating one, so
	// that a retried call creates at most one run.
	ExternalID string
	// Status is "queued", "in_progress" or "completed". Empty means
	// GitHub's default on create ("queued") and no change on update.
	Status string
	// Conclusion is required with Status "completed": "success",
	// "failure", "neutral", "cancelled", "skipped", "timed_out" or
	// "action_required". Empty means none.
	Conclusion string
	// DetailsURL links the run to details. Empty means none (or no change).
	DetailsURL string
	// Title and Summary are the run's output; both empty means no output.
	// Text is the output's body in Markdown. GitHub requires Title and
	// Summary together.
	Title   string
	Summary string
	Text    string
}

// CheckRunResult is a created, found or updated check run.
type CheckRunResult struct {
	ID      int64
	HTMLURL string
	Status  string
}

func (r CheckRun) output() *gh.CheckRunOutput {
	if r.Title == "" && r.Summary == "" && r.Text == "" {
		return nil
	}
	out := &gh.CheckRunOutput{Title: gh.String(r.Title), Summary: gh.String(r.Summary)}
	if r.Text != "" {
		out.Text = gh.String(r.Text)
	}
	return out
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return gh.String(s)
}

func checkRunResult(cr *gh.CheckRun) CheckRunResult {
	return CheckRunResult{ID: cr.GetID(), HTMLURL: cr.GetHTMLURL(), Status: cr.GetStatus()}
}

// CreateCheckRun creates run on run.HeadSHA unless a run with the same name
// and external ID is already there, in which case it returns that one with
// created=false.
func (c *Client) CreateCheckRun(ctx context.Context, token, owner, repo string, run CheckRun) (CheckRunResult, bool, error) {
	op := fmt.Sprintf("create check run %q on %s/%s@%s", run.Name, owner, repo, run.HeadSHA)
	api := c.api(token)
	if run.ExternalID != "" {
		opts := &gh.ListCheckRunsOptions{CheckName: gh.String(run.Name), Filter: gh.String("all"), ListOptions: gh.ListOptions{PerPage: 100}}
		for {
			list, resp, err := api.Checks.ListCheckRunsForRef(ctx, owner, repo, run.HeadSHA, opts)
			if err != nil {
				return CheckRunResult{}, false, convert(op, err)
			}
			for _, cr := range list.CheckRuns {
				if cr.GetExternalID() == run.ExternalID && cr.GetName() == run.Name {
					return checkRunResult(cr), false, nil
				}
			}
			if resp.NextPage == 0 {
				break
			}
			opts.Page = resp.NextPage
		}
	}
	cr, _, err := api.Checks.CreateCheckRun(ctx, owner, repo, gh.CreateCheckRunOptions{
		Name:       run.Name,
		HeadSHA:    run.HeadSHA,
		ExternalID: optional(run.ExternalID),
		Status:     optional(run.Status),
		Conclusion: optional(run.Conclusion),
		DetailsURL: optional(run.DetailsURL),
		Output:     run.output(),
	})
	if err != nil {
		return CheckRunResult{}, false, convert(op, err)
	}
	return checkRunResult(cr), true, nil
}

// updateCheckRun is the PATCH body. go-github's UpdateCheckRunOptions
// always sends "name"; this one sends only what changes.
type updateCheckRun struct {
	Name       string             `json:"name,omitempty"`
	DetailsURL string             `json:"details_url,omitempty"`
	ExternalID string             `json:"external_id,omitempty"`
	Status     string             `json:"status,omitempty"`
	Conclusion string             `json:"conclusion,omitempty"`
	Output     *gh.CheckRunOutput `json:"output,omitempty"`
}

// UpdateCheckRun changes check run id to the non-empty fields of run
// (HeadSHA is ignored). Setting the same fields twice shows the same, so
// a retried call is harmless.
func (c *Client) UpdateCheckRun(ctx context.Context, token, owner, repo string, id int64, run CheckRun) (CheckRunResult, error) {
	op := fmt.Sprintf("update check run %d on %s/%s", id, owner, repo)
	api := c.api(token)
	req, err := api.NewRequest(http.MethodPatch, fmt.Sprintf("repos/%s/%s/check-runs/%d", url.PathEscape(owner), url.PathEscape(repo), id), updateCheckRun{
		Name: run.Name, DetailsURL: run.DetailsURL, ExternalID: run.ExternalID,
		Status: run.Status, Conclusion: run.Conclusion, Output: run.output(),
	})
	if err != nil {
		return CheckRunResult{}, convert(op, err)
	}
	var cr gh.CheckRun
	if _, err := api.Do(ctx, req, &cr); err != nil {
		return CheckRunResult{}, convert(op, err)
	}
	return checkRunResult(&cr), nil
}
