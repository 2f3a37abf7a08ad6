package dora

import (
	"errors"
	"strings"

	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/workflows"
)

// Blueprint is dora as one value, listed in blueprints/all.
var Blueprint = blueprints.Blueprint{
	Name:        Name,
	Description: "Keeps DORA metrics (deployment frequency, lead time, change failure rate, time to restore) from batches of deployments, workflow runs and incidents sent by any CI or pager.",
	Settings:    func() blueprints.Settings { return DefaultSettings() },
	Subscriptions: func(s blueprints.Settings) []workflows.Subscription {
		settings, _ := s.(*Settings)
		return Subscriptions("", settings)
	},
	Register: Register,
	Commands: Commands,
}

// Settings are dora's settings (hookflow.yaml: blueprints.dora.settings).
type Settings struct {
	// DeploymentWorkflows names the workflows whose runs count as
	// production deployments, matched without regard to case: runs in the
	// workflow_runs array (empty: every one counts), GitHub workflow_run
	// and GitLab pipeline events (empty: none).
	DeploymentWorkflows []string `yaml:"deployment_workflows" json:"deployment_workflows,omitempty"`
	// PagerDutyServices maps PagerDuty service IDs to the repository (and
	// environment) their incidents count in. Incidents of services not
	// listed are not taken.
	PagerDutyServices map[string]Service `yaml:"pagerduty_services" json:"pagerduty_services,omitempty"`
	// NativeDeployments takes GitHub deployment_status and GitLab
	// deployment events as deployments. Default true.
	NativeDeployments *bool `yaml:"native_deployments" json:"native_deployments,omitempty"`
}

// TakesNative reports whether native deployment events are taken.
func (s *Settings) TakesNative() bool { return s.NativeDeployments == nil || *s.NativeDeployments }

// DefaultSettings returns the defaults.
func DefaultSettings() *Settings { return &Settings{} }

// Validate implements blueprints.Settings.
func (s *Settings) Validate() error {
	for _, w := range s.DeploymentWorkflows {
		if strings.TrimSpace(w) == "" {
			return errors.New("deployment_workflows: a workflow name is empty")
		}
	}
	for id, svc := range s.PagerDutyServices {
		if strings.TrimSpace(svc.Repo) == "" {
			return errors.New("pagerduty_services." + id + ".repo: required")
		}
	}
	return nil
}
