package dora

import (
	"errors"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	doraact "github.com/hookflow/hookflow/activities/dora"
	ghact "github.com/hookflow/hookflow/activities/github"
	"github.com/hookflow/hookflow/workflows"
)

// versionResolveCommits is the GetVersion change ID under which a batch's
// deployments without commits are resolved through the compare API after
// the batch is applied (histories before it: batches-v0.json).
const versionResolveCommits = "dora-resolve-commits"

// recordEvery bounds the commits one RecordCommits call carries (the
// ingress reads at most 1 MiB of JSON per call).
const recordEvery = 2000

// resolveCommits gives the successful deployments ev's batch wrote without
// commits the commits of their range: from the previous successful
// deployment of the repository and environment (base) to theirs (head),
// through GitHub's compare API. The ingress says which deployments need it
// and their base, so a batch applied again, or a resend of the same
// deployments, asks GitHub nothing. Failures are recorded in the history
// and do not hold later batches back: a comparison GitHub refuses (404,
// 422) is recorded as unresolvable; any other failure (a missing token, a
// retry that gave up) leaves the deployment unresolved, to be resolved
// when its record is sent again.
func resolveCommits(ctx workflow.Context, ev workflows.Event, s Settings) {
	log := workflow.GetLogger(ctx)
	var un doraact.ListUnresolvedOutput
	if err := workflow.ExecuteActivity(workflows.ConnectorCall(ctx), doraact.ListUnresolved, doraact.ListUnresolvedInput{BatchID: ev.DeliveryID}).Get(ctx, &un); err != nil {
		log.Warn("dora: unresolved deployments not listed", "delivery_id", ev.DeliveryID, "error", err)
		return
	}
	installation := s.GitHubInstallation
	if ev.Source == workflows.SourceGitHub && ev.Key(workflows.KeyInstallation) != "" {
		installation = ev.Key(workflows.KeyInstallation)
	}
	var pending []doraact.Resolution
	commits := 0
	flush := func() {
		if len(pending) == 0 {
			return
		}
		var out doraact.RecordCommitsOutput
		if err := workflow.ExecuteActivity(workflows.ConnectorCall(ctx), doraact.RecordCommits, doraact.RecordCommitsInput{Resolutions: pending}).Get(ctx, &out); err != nil {
			log.Warn("dora: resolved commits not recorded", "delivery_id", ev.DeliveryID, "error", err)
		} else {
			log.Info("dora commits resolved", "delivery_id", ev.DeliveryID, "deployments", out.Deployments, "commits", out.Commits, "skipped", out.Skipped)
		}
		pending, commits = nil, 0
	}
	for _, d := range un.Deployments {
		owner, repo, ok := strings.Cut(d.Repo, "/")
		if d.Source == workflows.SourceGitLab || !ok || owner == "" || repo == "" {
			// GitLab's compare API is not built; a repository that is
			// not owner/name is not GitHub's.
			continue
		}
		r := doraact.Resolution{DeploymentID: d.DeploymentID, SHA: d.SHA}
		switch {
		case d.BaseSHA == "":
			r.From = doraact.FromFirst
		case d.BaseSHA == d.SHA:
			// The same commit deployed again ships nothing new.
			r.From = doraact.FromCompare
		default:
			var cmp ghact.CompareCommitsOutput
			err := workflow.ExecuteActivity(workflows.ConnectorCall(ctx), ghact.CompareCommits, ghact.CompareCommitsInput{
				Installation: installation, Owner: owner, Repo: repo, Base: d.BaseSHA, Head: d.SHA}).Get(ctx, &cmp)
			var appErr *temporal.ApplicationError
			switch {
			case err == nil:
				r.From = doraact.FromCompare
				for _, c := range cmp.Commits {
					r.Commits = append(r.Commits, doraact.Commit{SHA: c.SHA, CommittedAt: c.CommittedAt})
				}
			case errors.As(err, &appErr) && appErr.Type() == ghact.TypeCompareRefused:
				log.Warn("dora: GitHub cannot compare the range", "delivery_id", ev.DeliveryID, "deployment_id", d.DeploymentID, "error", err)
				r.From = doraact.FromUnresolvable
			default:
				log.Warn("dora: commits not resolved", "delivery_id", ev.DeliveryID, "deployment_id", d.DeploymentID, "error", err)
				continue
			}
		}
		pending = append(pending, r)
		if commits += len(r.Commits); commits >= recordEvery {
			flush()
		}
	}
	flush()
}
