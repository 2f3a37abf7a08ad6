package dorametrics

import (
	"strings"
	"time"

	"github.com/hookflow/hookflow/workflows/dorabatch"
)

// RunEnvironment is the environment of a deployment a workflow run counts
// as.
const RunEnvironment = "production"

// FromBatch turns a batch's valid records into the store's, each marked
// with batchID and source.
//
// A workflow run counts as a production deployment when its workflow is in
// deploymentWorkflows (matched without regard to case), or when that list
// is empty; one run names several repositories, so it becomes one
// deployment per repository ("run:<unique id>", and "@<repo>" when it names
// more than one). Its times: a run in progress started at
// workflow_run_conducted_at; a finished run with a duration ran from
// workflow_run_conducted_at for that long; a finished run without one (the
// end call of a start call and an end call) finished at
// workflow_run_conducted_at, and keeps the start its start call stored.
func FromBatch(b dorabatch.Batch, batchID, source string, deploymentWorkflows []string) ([]Deployment, []Incident) {
	var ds []Deployment
	for _, d := range b.Deployments {
		out := Deployment{ID: d.DeploymentID, Repo: d.Repo, Environment: d.Environment, SHA: d.SHA, Status: d.Status,
			StartedAt: d.StartedAt, FinishedAt: d.FinishedAt, URL: d.URL, Source: source, Batch: batchID}
		if d.Commits != nil {
			out.Commits = make([]Commit, 0, len(d.Commits))
			for _, c := range d.Commits {
				out.Commits = append(out.Commits, Commit{SHA: c.SHA, CommittedAt: c.CommittedAt})
			}
		}
		ds = append(ds, out)
	}
	for _, w := range b.WorkflowRuns {
		if !counts(w.WorkflowName, deploymentWorkflows) {
			continue
		}
		for _, repo := range w.RepoNames {
			id := "run:" + w.UniqueID
			if len(w.RepoNames) > 1 {
				id += "@" + repo
			}
			d := Deployment{ID: id, Repo: repo, Environment: RunEnvironment, Status: w.Status, URL: w.HTMLURL, Source: source, Batch: batchID}
			switch {
			case w.Status == StatusInProgress:
				d.StartedAt = w.ConductedAt
			case w.Duration != nil:
				d.StartedAt = w.ConductedAt
				d.FinishedAt = w.ConductedAt.Add(time.Duration(*w.Duration * float64(time.Second)))
			default:
				d.FinishedAt = w.ConductedAt
			}
			ds = append(ds, d)
		}
	}
	var is []Incident
	for _, i := range b.Incidents {
		is = append(is, Incident{Key: i.Key, Provider: i.Provider, Status: i.Status, Title: i.Title, Repo: i.Repo, Environment: i.Environment,
			CreatedAt: i.CreatedAt, AcknowledgedAt: i.AcknowledgedAt, ResolvedAt: i.ResolvedAt, URL: i.URL,
			CauseDeploymentID: i.CauseDeploymentID, CauseSHA: i.CauseSHA, Source: source, Batch: batchID})
	}
	return ds, is
}

func counts(workflow string, list []string) bool {
	if len(list) == 0 {
		return true
	}
	for _, w := range list {
		if strings.EqualFold(strings.TrimSpace(w), workflow) {
			return true
		}
	}
	return false
}
