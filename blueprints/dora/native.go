package dora

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hookflow/hookflow/workflows"
)

// Native senders' events feed the same records as the batch endpoint: the
// workflow turns each into a one-record batch body (the dora shape) and
// applies it the same way, so one repository can mix sources. Their
// repository is the sender's owner/name (the host is not part of it).

// Native event types the blueprint takes.
const (
	GitHubDeploymentStatus = "deployment_status"
	GitLabDeployment       = "deployment"
	// Runs of the workflows named in deployment_workflows (only when the
	// list is set: not every CI run is a deployment).
	GitHubWorkflowRun = "workflow_run"
	GitLabPipeline    = "pipeline"
)

// PagerDutyIncidentTypes are the PagerDuty v3 event types that change an
// incident's times.
var PagerDutyIncidentTypes = []string{"incident.triggered", "incident.acknowledged", "incident.resolved", "incident.reopened"}

// Service maps a PagerDuty service to the repository and environment its
// incidents count in.
type Service struct {
	Repo string `yaml:"repo" json:"repo"`
	// Environment defaults to production.
	Environment string `yaml:"environment" json:"environment,omitempty"`
}

// nativeStatus maps GitHub deployment_status states and GitLab deployment
// statuses to the dora statuses; "" skips the event (a GitHub deployment
// made inactive by a newer one, a GitLab deployment blocked on approval).
func nativeStatus(s string) string {
	switch strings.ToLower(s) {
	case "success":
		return "success"
	case "failure", "error", "failed":
		return "failure"
	case "queued", "pending", "in_progress", "running", "created":
		return "in_progress"
	case "canceled", "cancelled":
		return "cancelled"
	}
	return ""
}

// nativeBatch returns the batch body of a native event, or nil for an event
// that is not a record (a status to skip, an unmapped service).
func nativeBatch(ev workflows.Event, s Settings) (json.RawMessage, error) {
	if ev.Type == GitHubWorkflowRun || ev.Type == GitLabPipeline {
		return runBatch(ev, s)
	}
	switch ev.Source {
	case workflows.SourceGitHub, workflows.SourceGitLab:
		d, err := workflows.DeploymentOfEvent(ev)
		if err != nil {
			return nil, err
		}
		status := nativeStatus(d.Status)
		if status == "" || d.Environment == "" || d.Repo == "" {
			return nil, nil
		}
		rec := map[string]any{
			"deployment_id": fmt.Sprintf("%s:%s/%s/%s/%d", ev.Source, d.Host, d.Owner, d.Repo, d.ID),
			"repo":          d.Owner + "/" + d.Repo,
			"environment":   d.Environment,
			"sha":           d.SHA,
			"status":        status,
		}
		at := d.UpdatedAt.UTC().Format(time.RFC3339Nano)
		if status == "in_progress" {
			rec["started_at"] = at
		} else {
			rec["finished_at"] = at
		}
		if d.LogURL != "" {
			rec["url"] = d.LogURL
		}
		return json.Marshal(map[string]any{"deployments": []any{rec}})
	case "pagerduty":
		var p struct {
			Event struct {
				EventType  string `json:"event_type"`
				OccurredAt string `json:"occurred_at"`
				Data       struct {
					ID        string `json:"id"`
					Status    string `json:"status"`
					Title     string `json:"title"`
					HTMLURL   string `json:"html_url"`
					CreatedAt string `json:"created_at"`
					Service   struct {
						ID string `json:"id"`
					} `json:"service"`
				} `json:"data"`
			} `json:"event"`
		}
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			return nil, fmt.Errorf("dora: pagerduty %s: %w", ev.DeliveryID, err)
		}
		svc, ok := s.PagerDutyServices[p.Event.Data.Service.ID]
		if !ok || p.Event.Data.ID == "" {
			return nil, nil
		}
		env := svc.Environment
		if env == "" {
			env = "production"
		}
		rec := map[string]any{
			"incident_key": "pagerduty:" + p.Event.Data.ID, "provider": "pagerduty", "status": p.Event.Data.Status,
			"title": p.Event.Data.Title, "url": p.Event.Data.HTMLURL, "creation_date": p.Event.Data.CreatedAt,
			"repo": svc.Repo, "environment": env,
		}
		switch p.Event.EventType {
		case "incident.acknowledged":
			rec["acknowledged_date"] = p.Event.OccurredAt
		case "incident.resolved":
			rec["resolved_date"] = p.Event.OccurredAt
		}
		return json.Marshal(map[string]any{"incidents": []any{rec}})
	}
	return nil, nil
}

// runBatch is a GitHub workflow run or a GitLab pipeline of a deployment
// workflow as a production deployment ("<source>:<repo>/run/<id>").
func runBatch(ev workflows.Event, s Settings) (json.RawMessage, error) {
	var name, repo, sha, status, url, started, finished string
	var id int64
	switch ev.Source {
	case workflows.SourceGitHub:
		var p struct {
			WorkflowRun struct {
				ID           int64  `json:"id"`
				Name         string `json:"name"`
				HeadSHA      string `json:"head_sha"`
				Status       string `json:"status"`
				Conclusion   string `json:"conclusion"`
				RunStartedAt string `json:"run_started_at"`
				UpdatedAt    string `json:"updated_at"`
				HTMLURL      string `json:"html_url"`
			} `json:"workflow_run"`
			Repository struct {
				FullName string `json:"full_name"`
			} `json:"repository"`
		}
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			return nil, fmt.Errorf("dora: workflow_run %s: %w", ev.DeliveryID, err)
		}
		r := p.WorkflowRun
		id, name, repo, sha, url, started = r.ID, r.Name, p.Repository.FullName, r.HeadSHA, r.HTMLURL, r.RunStartedAt
		status = nativeStatus(r.Status)
		if r.Status == "completed" {
			status, finished = nativeStatus(r.Conclusion), r.UpdatedAt
			if r.Conclusion == "timed_out" {
				status = "failure"
			}
		}
	case workflows.SourceGitLab:
		var p struct {
			ObjectAttributes struct {
				ID         int64  `json:"id"`
				Name       string `json:"name"`
				SHA        string `json:"sha"`
				Status     string `json:"status"`
				CreatedAt  string `json:"created_at"`
				FinishedAt string `json:"finished_at"`
				URL        string `json:"url"`
			} `json:"object_attributes"`
			Project struct {
				PathWithNamespace string `json:"path_with_namespace"`
			} `json:"project"`
		}
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			return nil, fmt.Errorf("dora: pipeline %s: %w", ev.DeliveryID, err)
		}
		a := p.ObjectAttributes
		id, name, repo, sha, url, status = a.ID, a.Name, p.Project.PathWithNamespace, a.SHA, a.URL, nativeStatus(a.Status)
		started, finished = gitlabTime(a.CreatedAt), gitlabTime(a.FinishedAt)
	default:
		return nil, nil
	}
	if status == "" || repo == "" || id == 0 || !named(name, s.DeploymentWorkflows) {
		return nil, nil
	}
	rec := map[string]any{"deployment_id": fmt.Sprintf("%s:%s/run/%d", ev.Source, repo, id), "repo": repo,
		"environment": "production", "sha": sha, "status": status}
	if url != "" {
		rec["url"] = url
	}
	if started != "" {
		rec["started_at"] = started
	}
	if status != "in_progress" {
		if finished == "" {
			return nil, nil
		}
		rec["finished_at"] = finished
	}
	return json.Marshal(map[string]any{"deployments": []any{rec}})
}

func named(name string, list []string) bool {
	for _, w := range list {
		if strings.EqualFold(strings.TrimSpace(w), name) {
			return true
		}
	}
	return false
}

// gitlabTime turns GitLab's "2016-08-12 15:23:28 UTC" (and RFC 3339) into
// RFC 3339, "" when it is neither.
func gitlabTime(v string) string {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05 MST", "2006-01-02 15:04:05 -0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC().Format(time.RFC3339Nano)
		}
	}
	return ""
}
