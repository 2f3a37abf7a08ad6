package prcomment

import (
	"errors"
	"strings"

	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/workflows"
)

// Blueprint is prcomment as one value, listed in blueprints/all.
var Blueprint = blueprints.Blueprint{
	Name:        Name,
	Description: "Welcomes every GitHub pull request with a comment when it is opened or reopened; one workflow per pull request until it closes.",
	Settings:    func() blueprints.Settings { return DefaultSettings() },
	Subscriptions: func(s blueprints.Settings) []workflows.Subscription {
		settings, _ := s.(*Settings)
		return []workflows.Subscription{Subscription("", settings)}
	},
	Register: Register,
	// Without credentials for an installation the comment fails, is
	// recorded in the history, and the pull request's workflow goes on:
	// prcomment runs without any GitHub configuration.
	Needs: []blueprints.Need{{Connector: blueprints.GitHub, Why: "posts the welcome comment"}},
}

// DefaultGreeting opens the comment.
const DefaultGreeting = "Thanks for the pull request!"

// Settings are prcomment's settings (hookflow.yaml:
// blueprints.prcomment.settings).
type Settings struct {
	// Greeting opens the comment. Default DefaultGreeting.
	Greeting string `yaml:"greeting" json:"greeting,omitempty"`
	// LegacyWorkflowIDs routes github.com pull requests to the IDs used
	// before namespacing (github/<owner>/<repo>/pr/<n>), so that workflows
	// started under them keep receiving their events. Default false.
	LegacyWorkflowIDs bool `yaml:"legacy_workflow_ids" json:"legacy_workflow_ids,omitempty"`
}

// DefaultSettings returns the defaults.
func DefaultSettings() *Settings { return &Settings{Greeting: DefaultGreeting} }

// Validate implements blueprints.Settings.
func (s *Settings) Validate() error {
	switch g := strings.TrimSpace(s.Greeting); {
	case g == "":
		return errors.New("greeting: must not be empty")
	case len(g) > 1000:
		return errors.New("greeting: at most 1000 characters")
	}
	return nil
}
