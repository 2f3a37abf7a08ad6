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
		return []workflows.Subscription{Subscription("", settings)}
	},
	Register: Register,
	Commands: Commands,
}

// Settings are dora's settings (hookflow.yaml: blueprints.dora.settings).
type Settings struct {
	// DeploymentWorkflows names the workflows whose runs (the
	// workflow_runs array) count as production deployments, matched
	// without regard to case. Empty means every run counts.
	DeploymentWorkflows []string `yaml:"deployment_workflows" json:"deployment_workflows,omitempty"`
}

// DefaultSettings returns the defaults.
func DefaultSettings() *Settings { return &Settings{} }

// Validate implements blueprints.Settings.
func (s *Settings) Validate() error {
	for _, w := range s.DeploymentWorkflows {
		if strings.TrimSpace(w) == "" {
			return errors.New("deployment_workflows: a workflow name is empty")
		}
	}
	return nil
}
