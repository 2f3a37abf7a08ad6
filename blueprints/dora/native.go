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
