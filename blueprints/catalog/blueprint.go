package catalog

import (
	"errors"
	"strings"
	"time"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/workflows"
)

// Name is the blueprint's name.
const Name = "catalog"

// WorkflowName is the registered workflow type.
const WorkflowName = "catalog.Repository"

// Blueprint is catalog as one value, listed in blueprints/all.
var Blueprint = blueprints.Blueprint{
	Name:        Name,
	Description: "Keeps a Backstage catalog current from GitHub: registers new repositories' catalog-info.yaml, refreshes on renames, archives and pushes that touch it (one refresh per burst).",
	Settings:    func() blueprints.Settings { return DefaultSettings() },
	Subscriptions: func(s blueprints.Settings) []workflows.Subscription {
		settings, _ := s.(*Settings)
		return []workflows.Subscription{Subscription(settings)}
	},
	Register: Register,
	Needs: []blueprints.Need{
		{Connector: blueprints.Backstage, Why: "registers locations and refreshes entities"},
		{Connector: blueprints.GitHub, Why: "reads catalog-info.yaml"},
	},
}

// Register registers the blueprint's workflow.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(Repository, workflow.RegisterOptions{Name: WorkflowName})
}

// Defaults.
const (
	DefaultRefreshWindow = 30 * time.Second
	DefaultFile          = "catalog-info.yaml"
)

// Settings are catalog's settings (hookflow.yaml:
// blueprints.catalog.settings), captured when a repository's workflow
// starts.
type Settings struct {
	// RefreshWindow is how long the repository must be quiet after a push
	// before its entities are refreshed: a burst of pushes within it
	// causes one refresh. Default 30s; between 1s and 1h.
	RefreshWindow time.Duration `yaml:"refresh_window" json:"refresh_window,omitempty"`
	// File is the descriptor's path in the repository. Default
	// catalog-info.yaml.
	File string `yaml:"file" json:"file,omitempty"`
	// BackstageInstance selects the Backstage token in the token store
	// (backstage/<instance>). Empty means the instance-wide token
	// (hookflow tokens put --system backstage).
	BackstageInstance string `yaml:"backstage_instance" json:"backstage_instance,omitempty"`
}

// DefaultSettings returns the defaults.
func DefaultSettings() *Settings {
	return &Settings{RefreshWindow: DefaultRefreshWindow, File: DefaultFile}
}

// Validate implements blueprints.Settings.
func (s *Settings) Validate() error {
	switch {
	case s.RefreshWindow < time.Second || s.RefreshWindow > time.Hour:
		return errors.New("refresh_window: between 1s and 1h")
	case s.File == "" || strings.HasPrefix(s.File, "/") || strings.Contains(s.File, ".."):
		return errors.New("file: a path inside the repository, like catalog-info.yaml")
	}
	return nil
}

// withDefaults fills what a zero Settings (a history from before a
// setting existed) leaves out.
func (s Settings) withDefaults() Settings {
	if s.RefreshWindow <= 0 {
		s.RefreshWindow = DefaultRefreshWindow
	}
	if s.File == "" {
		s.File = DefaultFile
	}
	return s
}
