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
	// ResolveCommits resolves the commits of successful deployments whose
	// records do not list them through GitHub's compare API, from the
	// previous successful deployment's SHA. Default true; false for
	// repositories that are not on the configured GitHub.
	ResolveCommits *bool `yaml:"resolve_commits" json:"resolve_commits,omitempty"`
	// GitHubInstallation selects the GitHub token for batches sent to the
	// dora endpoint (the token store's installation; with an App, its
	// installation ID). Empty means the token stored without an
	// installation. Native GitHub events use their own installation.
	GitHubInstallation string `yaml:"github_installation" json:"github_installation,omitempty"`
}

// ResolvesCommits reports whether commits are resolved through the
// compare API.
func (s *Settings) ResolvesCommits() bool { return s.ResolveCommits == nil || *s.ResolveCommits }

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
