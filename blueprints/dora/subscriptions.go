package dora

import (
	"github.com/hookflow/hookflow/workflows"
)

// Source and Type are what the dora ingress source names a batch with at
// least one valid record (ingress/dora.Name and TypeBatch; a blueprint
// does not import the ingress).
const (
	Source = "dora"
	Type   = "batch"
	// TypeRejected is a batch without a valid record: nothing to apply,
	// someone to tell.
	TypeRejected = "rejected"
)

// Subscription routes every batch of a dora integration to that
// integration's workflow, dora/<integration>: one workflow applies an
// integration's batches one at a time, in the order they were accepted.
func Subscription(taskQueue string, s *Settings) workflows.Subscription {
	if s == nil {
		s = DefaultSettings()
	}
	settings := *s
	return workflows.Subscription{
		Blueprint: Name,
		Source:    Source,
		Events:    []string{Type, TypeRejected},
		IDPattern: Name + "/<integration>",
		Workflow:  WorkflowName,
		TaskQueue: taskQueue,
		Route:     WorkflowID,
		Input:     func(string) any { return Input{Settings: settings} },
	}
}

// Subscriptions are the batch subscription and, per the settings, the
// native senders': GitHub deployment_status and GitLab deployment events
// (to dora/<integration> of their integration), PagerDuty incidents of
// mapped services.
func Subscriptions(taskQueue string, s *Settings) []workflows.Subscription {
	if s == nil {
		s = DefaultSettings()
	}
	batch := Subscription(taskQueue, s)
	out := []workflows.Subscription{batch}
	perIntegration := func(ev workflows.Event) string {
		if ev.Integration == "" {
			return ""
		}
		return Name + "/" + ev.Integration
	}
	if s.TakesNative() {
		for _, n := range []struct{ source, event string }{
			{workflows.SourceGitHub, GitHubDeploymentStatus}, {workflows.SourceGitLab, GitLabDeployment},
		} {
			sub := batch
			sub.Source, sub.Events, sub.Route = n.source, []string{n.event}, perIntegration
			out = append(out, sub)
		}
	}
	if len(s.DeploymentWorkflows) > 0 {
		for _, n := range []struct{ source, event string }{
			{workflows.SourceGitHub, GitHubWorkflowRun}, {workflows.SourceGitLab, GitLabPipeline},
		} {
			sub := batch
			sub.Source, sub.Events, sub.Route = n.source, []string{n.event}, perIntegration
			out = append(out, sub)
		}
	}
	if len(s.PagerDutyServices) > 0 {
		services := s.PagerDutyServices
		sub := batch
		sub.Source, sub.Events = "pagerduty", PagerDutyIncidentTypes
		sub.Route = func(ev workflows.Event) string {
			if _, ok := services[ev.Key("service")]; !ok {
				return ""
			}
			return perIntegration(ev)
		}
		out = append(out, sub)
	}
	return out
}

// WorkflowID returns the ID of the workflow that applies ev, or "".
func WorkflowID(ev workflows.Event) string {
	if ev.Source != Source || (ev.Type != Type && ev.Type != TypeRejected) || ev.Integration == "" {
		return ""
	}
	return Name + "/" + ev.Integration
}
