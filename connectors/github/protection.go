package github

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/hookflow/hookflow/connectors/apierror"
)

// ProtectionRuleReview answers a custom deployment protection rule.
type ProtectionRuleReview struct {
	// EnvironmentName is the environment the rule protects. Required.
	EnvironmentName string
	// State is "approved" or "rejected". Required.
	State string
	// Comment is shown on the run. Empty means none.
	Comment string
}

var callbackPath = regexp.MustCompile(`^repos/([^/]+)/([^/]+)/actions/runs/([0-9]+)/deployment_protection_rule$`)

// ParseProtectionCallback returns the repository and workflow run of a
// deployment_protection_rule event's deployment_callback_url relative to
// the client's API root. A URL on another host, or of another shape, is an
// error: the installation's token is only ever sent to the configured API.
func (c *Client) ParseProtectionCallback(callbackURL string) (owner, repo string, runID int64, err error) {
	u, err := url.Parse(callbackURL)
	if err != nil || u.Scheme != c.base.Scheme || !strings.EqualFold(u.Host, c.base.Host) || !strings.HasPrefix(u.Path, c.base.Path) {
		return "", "", 0, fmt.Errorf("github: deployment callback URL is not under the API root %s", c.base)
	}
	m := callbackPath.FindStringSubmatch(strings.TrimPrefix(u.Path, c.base.Path))
	if m == nil {
		return "", "", 0, fmt.Errorf("github: deployment callback URL is not repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule")
	}
	runID, err = strconv.ParseInt(m[3], 10, 64)
	if err != nil || runID <= 0 {
		return "", "", 0, fmt.Errorf("github: deployment callback URL has no run ID")
	}
	return m[1], m[2], runID, nil
}

// ReviewProtectionRule approves or rejects the deployment protection rule
// of run runID (POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule,
// answered 204).
func (c *Client) ReviewProtectionRule(ctx context.Context, token, owner, repo string, runID int64, r ProtectionRuleReview) error {
	op := fmt.Sprintf("review deployment protection rule of %s/%s run %d (%s)", owner, repo, runID, r.State)
	api := c.api(token)
	body := map[string]string{"environment_name": r.EnvironmentName, "state": r.State}
	if r.Comment != "" {
		body["comment"] = r.Comment
	}
	req, err := api.NewRequest(http.MethodPost, fmt.Sprintf("repos/%s/%s/actions/runs/%d/deployment_protection_rule",
		url.PathEscape(owner), url.PathEscape(repo), runID), body)
	if err != nil {
		return &apierror.Error{System: System, Op: op, Message: err.Error()}
	}
	if _, err := api.Do(ctx, req, nil); err != nil {
		return convert(op, err)
	}
	return nil
}
