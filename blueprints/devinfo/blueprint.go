package devinfo

import (
	"fmt"
	"regexp"
	"time"

	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/workflows"
)

// Blueprint is devinfo as one value, listed in blueprints/all.
var Blueprint = blueprints.Blueprint{
	Name: Name,
	Description: "Shows commits, branches and pull requests from GitHub/GHES, GitLab and Bitbucket on the Jira issues they name: " +
		"Jira Cloud's Development Information API, or remote links and one commits comment on Data Center; one workflow per repository.",
	Settings: func() blueprints.Settings { return DefaultSettings() },
	Subscriptions: func(s blueprints.Settings) []workflows.Subscription {
		settings, _ := s.(*Settings)
		return Subscriptions("", settings)
	},
	Register: Register,
	Needs: []blueprints.Need{
		{Connector: blueprints.Jira, Why: "development information (Cloud) or remote links and comments (Data Center) on the issues commits, branches and pull requests name"},
	},
}

// The modes: which Jira the blueprint writes to.
const (
	// ModeCloud uploads to Jira Cloud's Development Information API.
	ModeCloud = "cloud"
	// ModeDataCenter keeps remote links and a comment on each issue
	// (Jira Data Center has no Development Information API).
	ModeDataCenter = "datacenter"
)

// Defaults of the settings.
const (
	DefaultSettle   = 10 * time.Second
	DefaultMaxDelay = 2 * time.Minute
	DefaultCommits  = 10
)

// Settings are devinfo's settings (hookflow.yaml: blueprints.devinfo.settings).
type Settings struct {
	// Mode is "cloud" (the Development Information API) or "datacenter"
	// (remote links and a comment). Default "cloud".
	Mode string `yaml:"mode" json:"mode"`
	// Site is the installation the Jira credentials are stored under:
	// the OAuth client ("client_id:client_secret", system jira-devinfo)
	// in cloud mode, the REST credential (system jira) in datacenter
	// mode. Empty means the credential stored without one.
	Site string `yaml:"site" json:"site,omitempty"`
	// Projects are the Jira project keys whose issue keys count. Empty
	// means every project.
	Projects []string `yaml:"projects" json:"projects,omitempty"`
	// Settle is how long a repository's workflow waits for more events
	// before it writes to Jira, so that a burst costs one round of calls.
	// Default 10s; 0s writes after every batch.
	Settle time.Duration `yaml:"settle" json:"settle"`
	// MaxDelay bounds how long a steady stream of events (never Settle
	// apart) holds back a write: the workflow writes at least this often
	// while events keep coming. Default 2m; between settle and 1h.
	MaxDelay time.Duration `yaml:"max_delay" json:"max_delay"`
	// Commits is how many of the latest commits the Data Center comment
	// lists per issue. Default 10; 1 to 50.
	Commits int `yaml:"commits" json:"commits"`
}

// DefaultSettings returns the defaults.
func DefaultSettings() *Settings {
	return &Settings{Mode: ModeCloud, Settle: DefaultSettle, MaxDelay: DefaultMaxDelay, Commits: DefaultCommits}
}

var projectKey = regexp.MustCompile(`^[A-Z][A-Z0-9_]+$`)

// Validate implements blueprints.Settings.
func (s *Settings) Validate() error {
	if s.Mode != ModeCloud && s.Mode != ModeDataCenter {
		return fmt.Errorf("mode: %q is neither %q nor %q", s.Mode, ModeCloud, ModeDataCenter)
	}
	for _, p := range s.Projects {
		if !projectKey.MatchString(p) {
			return fmt.Errorf("projects: %q is not a Jira project key (upper-case letters, digits and _, starting with a letter)", p)
		}
	}
	if s.Settle < 0 || s.Settle > time.Hour {
		return fmt.Errorf("settle: %s is not between 0s and 1h", s.Settle)
	}
	if s.MaxDelay < s.Settle || s.MaxDelay > time.Hour || s.MaxDelay <= 0 {
		return fmt.Errorf("max_delay: %s is not between settle (%s) and 1h", s.MaxDelay, s.Settle)
	}
	if s.Commits < 1 || s.Commits > 50 {
		return fmt.Errorf("commits: %d is not between 1 and 50", s.Commits)
	}
	return nil
}
