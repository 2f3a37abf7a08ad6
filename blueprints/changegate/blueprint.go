package changegate

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/workflows"
)

// Blueprint is changegate as one value, listed in blueprints/all.
var Blueprint = blueprints.Blueprint{
	Name:        Name,
	Description: "Gates GitHub deployments of the configured environments on a ServiceNow change request: opens it, waits for approval with SLA reminders and expiry, answers GitHub, closes it when the deployment finishes, audits every step to Splunk.",
	Settings:    func() blueprints.Settings { return DefaultSettings() },
	Subscriptions: func(s blueprints.Settings) []workflows.Subscription {
		settings, _ := s.(*Settings)
		return Subscriptions("", settings)
	},
	Register: Register,
	Needs: []blueprints.Need{
		{Connector: blueprints.GitHub, Why: "answers the deployment protection rule or sets deployment statuses"},
		{Connector: blueprints.ServiceNow, Why: "opens, reads, notes and closes change requests"},
		{Connector: blueprints.Splunk, Why: "sends the audit trail"},
	},
	Commands: commands,
}

// Duration is a duration setting: a Go duration ("4h", "90m") or a number
// of days ("3d").
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler (yaml).
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(days, "%d", &n); err != nil || fmt.Sprint(n) != days {
			return fmt.Errorf("%q is not a duration (4h, 90m, 3d)", s)
		}
		*d = Duration(time.Duration(n) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration (4h, 90m, 3d)", s)
	}
	*d = Duration(v)
	return nil
}

// UnmarshalYAML implements yaml.Unmarshaler, naming the line of a value
// that is not a duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if err := d.UnmarshalText([]byte(n.Value)); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// D is d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// GitHubLimit is how long a job waits on a deployment protection rule
// before GitHub fails it: every SLA setting must end before it.
const GitHubLimit = 30 * 24 * time.Hour

// Settings are changegate's settings (hookflow.yaml:
// blueprints.changegate.settings). They are captured into the workflow's
// input when a deployment's workflow starts.
type Settings struct {
	// Environments are the GitHub environments gated. Default
	// [production].
	Environments []string `yaml:"environments" json:"environments"`
	// Events are the GitHub events that open a gate:
	// deployment_protection_rule (GitHub Actions jobs, answered through the
	// rule's callback) and/or deployment (deployments outside Actions,
	// answered with deployment statuses). Default
	// [deployment_protection_rule].
	Events []string `yaml:"events" json:"events"`
	// Instance names the ServiceNow credential in the token store
	// (--system servicenow --installation <instance>). Empty (the
	// default) means the system-wide one (no --installation).
	Instance string `yaml:"instance" json:"instance"`
	// ChangeType, AssignmentGroup and Category fill the change's type,
	// assignment_group and category. Default type "normal"; empty group
	// and category are not sent.
	ChangeType      string `yaml:"change_type" json:"change_type"`
	AssignmentGroup string `yaml:"assignment_group" json:"assignment_group,omitempty"`
	Category        string `yaml:"category" json:"category,omitempty"`
	// Template is the change template (std_change_producer_version for a
	// standard change, or a template's sys_id set in "template"). Empty
	// means none.
	Template string `yaml:"template" json:"template,omitempty"`
	// Fields are more change_request columns set on create. Nil means none.
	Fields map[string]string `yaml:"fields" json:"fields,omitempty"`
	// Reminders are when, after the change is opened, a reminder is
	// written to it and to GitHub. Default [4h, 24h].
	Reminders []Duration `yaml:"reminders" json:"reminders"`
	// RejectAfter is when a change with no decision is rejected. Default
	// 72h; it must end before GitHub's 30 days.
	RejectAfter Duration `yaml:"reject_after" json:"reject_after"`
	// PollInterval is how often the change's state is read while waiting,
	// in case ServiceNow's outbound message never arrives. Default 15m.
	PollInterval Duration `yaml:"poll_interval" json:"poll_interval"`
	// DeployTimeout is how long after the approval a deployment may take
	// to report success or failure before the change is closed as
	// unsuccessful. Default 24h.
	DeployTimeout Duration `yaml:"deploy_timeout" json:"deploy_timeout"`
	// Splunk names the HEC token in the token store (--system splunk
	// --installation <name>). Empty (the default) means the system-wide
	// one.
	Splunk string `yaml:"splunk" json:"splunk"`
	// SplunkIndex is the HEC index. Empty means the token's default.
	SplunkIndex string `yaml:"splunk_index" json:"splunk_index,omitempty"`
	// SplunkAck waits for indexer acknowledgement (the token must have it
	// on). Default false.
	SplunkAck bool `yaml:"splunk_ack" json:"splunk_ack,omitempty"`
}

// DefaultSettings returns the defaults.
func DefaultSettings() *Settings {
	return &Settings{
		Environments:  []string{"production"},
		Events:        []string{EventProtectionRule},
		ChangeType:    "normal",
		Reminders:     []Duration{Duration(4 * time.Hour), Duration(24 * time.Hour)},
		RejectAfter:   Duration(72 * time.Hour),
		PollInterval:  Duration(15 * time.Minute),
		DeployTimeout: Duration(24 * time.Hour),
	}
}

// The GitHub events changegate takes.
const (
	EventProtectionRule   = "deployment_protection_rule"
	EventDeployment       = "deployment"
	EventDeploymentStatus = "deployment_status"
)

// Validate implements blueprints.Settings.
func (s *Settings) Validate() error {
	if len(s.Environments) == 0 {
		return errors.New("environments: at least one environment")
	}
	for _, e := range s.Environments {
		if strings.TrimSpace(e) == "" {
			return errors.New("environments: an empty name")
		}
	}
	if len(s.Events) == 0 {
		return errors.New("events: deployment_protection_rule, deployment or both")
	}
	for _, e := range s.Events {
		if e != EventProtectionRule && e != EventDeployment {
			return fmt.Errorf("events: %q is not deployment_protection_rule or deployment", e)
		}
	}
	if s.ChangeType == "" {
		return errors.New("change_type: must not be empty (normal, standard, emergency)")
	}
	if s.RejectAfter.D() <= 0 || s.RejectAfter.D() >= GitHubLimit {
		return fmt.Errorf("reject_after: must be positive and below GitHub's 30 days (a waiting job fails then), not %s", s.RejectAfter.D())
	}
	if !slices.IsSortedFunc(s.Reminders, func(a, b Duration) int { return int(a - b) }) {
		return errors.New("reminders: must be in increasing order")
	}
	for _, r := range s.Reminders {
		if r.D() <= 0 || r.D() >= s.RejectAfter.D() {
			return fmt.Errorf("reminders: %s must be positive and before reject_after (%s)", r.D(), s.RejectAfter.D())
		}
	}
	if s.PollInterval.D() < time.Minute || s.PollInterval.D() > s.RejectAfter.D() {
		return fmt.Errorf("poll_interval: between 1m and reject_after, not %s", s.PollInterval.D())
	}
	if s.DeployTimeout.D() <= 0 || s.DeployTimeout.D() >= GitHubLimit {
		return fmt.Errorf("deploy_timeout: must be positive and below 30 days, not %s", s.DeployTimeout.D())
	}
	for k := range s.Fields {
		if k == "correlation_id" || k == "correlation_display" {
			return fmt.Errorf("fields: %s is set by changegate", k)
		}
	}
	return nil
}

// gates reports whether environment is gated.
func (s *Settings) gates(environment string) bool {
	return slices.Contains(s.Environments, environment)
}
