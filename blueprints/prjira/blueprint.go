package prjira

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/workflows"
)

// Blueprint is prjira as one value, listed in blueprints/all.
var Blueprint = blueprints.Blueprint{
	Name: Name,
	Description: "Keeps Jira in step with pull and merge requests from GitHub/GHES, GitLab and Bitbucket Cloud/Data Center: " +
		"remote links, review and done transitions, merge comments; one workflow per pull request.",
	Settings: func() blueprints.Settings { return DefaultSettings() },
	Subscriptions: func(s blueprints.Settings) []workflows.Subscription {
		settings, _ := s.(*Settings)
		return Subscriptions("", settings)
	},
	Register: Register,
	Needs: []blueprints.Need{
		{Connector: blueprints.Jira, Why: "links, transitions and comments on the issues pull requests name"},
		{Connector: blueprints.GitHub, Why: "reads GitHub pull requests' commits and keeps their linked-issues comment"},
	},
}

// Defaults of the settings.
const (
	DefaultReviewStatus = "In Review"
	DefaultDoneStatus   = "Done"
	DefaultSettle       = 5 * time.Second
)

// Settings are prjira's settings (hookflow.yaml: blueprints.prjira.settings).
type Settings struct {
	// Site is the installation the Jira credential is stored under
	// (hookflow tokens put --system jira --installation <site>), normally
	// the site's host. Empty means the credential stored without one.
	Site string `yaml:"site" json:"site,omitempty"`
	// Projects are the Jira project keys whose issue keys count; keys of
	// other projects are ignored. Empty means every project.
	Projects []string `yaml:"projects" json:"projects,omitempty"`
	// ReviewStatus is the status an issue moves to when its pull request
	// is put up for review. Default "In Review"; "-" means no transition.
	ReviewStatus string `yaml:"review_status" json:"review_status,omitempty"`
	// DoneStatus is the status an issue moves to when its pull request is
	// merged. Default "Done"; "-" means no transition.
	DoneStatus string `yaml:"done_status" json:"done_status,omitempty"`
	// ClosedStatus is the status an issue moves to when its pull request
	// is closed without merging. Empty (the default) means none.
	ClosedStatus string `yaml:"closed_status" json:"closed_status,omitempty"`
	// CommentOnMerge comments the merge commit on each linked issue.
	// Default true.
	CommentOnMerge bool `yaml:"comment_on_merge" json:"comment_on_merge"`
	// CommentOnClose comments on each linked issue when the pull request
	// is closed without merging. Default true.
	CommentOnClose bool `yaml:"comment_on_close" json:"comment_on_close"`
	// Settle is how long a pull request's workflow waits for more events
	// before it acts on Jira, so that a burst (opened, edited, review
	// requested, delivered in any order) costs one round of calls.
	// Default 5s; 0s acts after every batch.
	Settle time.Duration `yaml:"settle" json:"settle"`
	// CommentOnPullRequest keeps one comment on a GitHub/GHES pull request
	// listing the issues it links, edited in place as they change. GitLab
	// and Bitbucket have no comment yet. Default true.
	CommentOnPullRequest bool `yaml:"comment_on_pull_request" json:"comment_on_pull_request"`
	// ReadCommits reads a GitHub/GHES pull request's commit messages for
	// keys (GET /repos/{owner}/{repo}/pulls/{n}/commits, once per opened,
	// reopened or synchronize event). Default true.
	ReadCommits bool `yaml:"read_commits" json:"read_commits"`
	// BrowseURL is the Jira site's address for people
	// (https://acme.atlassian.net/): the pull request comment links each
	// key to BrowseURL/browse/KEY. Empty lists the keys without links.
	BrowseURL string `yaml:"browse_url" json:"browse_url,omitempty"`
	// Overrides replace these settings per integration ID (int_…): any key
	// set there replaces the one above for pull requests arriving through
	// that integration. Empty means none.
	Overrides map[string]Override `yaml:"overrides" json:"overrides,omitempty"`
}

// Override is the part of Settings that may differ per integration.
type Override struct {
	Projects       []string `yaml:"projects" json:"projects,omitempty"`
	ReviewStatus   string   `yaml:"review_status" json:"review_status,omitempty"`
	DoneStatus     string   `yaml:"done_status" json:"done_status,omitempty"`
	ClosedStatus   string   `yaml:"closed_status" json:"closed_status,omitempty"`
	CommentOnMerge *bool    `yaml:"comment_on_merge" json:"comment_on_merge,omitempty"`
	CommentOnClose *bool    `yaml:"comment_on_close" json:"comment_on_close,omitempty"`
}

// DefaultSettings returns the defaults.
func DefaultSettings() *Settings {
	return &Settings{ReviewStatus: DefaultReviewStatus, DoneStatus: DefaultDoneStatus, CommentOnMerge: true, CommentOnClose: true,
		CommentOnPullRequest: true, ReadCommits: true, Settle: DefaultSettle, Overrides: map[string]Override{}}
}

var projectKey = regexp.MustCompile(`^[A-Z][A-Z0-9_]+$`)

// Validate implements blueprints.Settings.
func (s *Settings) Validate() error {
	if err := validate("", Override{Projects: s.Projects, ReviewStatus: s.ReviewStatus, DoneStatus: s.DoneStatus, ClosedStatus: s.ClosedStatus}); err != nil {
		return err
	}
	if u := s.BrowseURL; u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return fmt.Errorf("browse_url: %q is not an http(s) URL", u)
	}
	if s.Settle < 0 || s.Settle > time.Hour {
		return fmt.Errorf("settle: %s is not between 0s and 1h", s.Settle)
	}
	ids := make([]string, 0, len(s.Overrides))
	for id := range s.Overrides {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if strings.TrimSpace(id) == "" {
			return errors.New("overrides: an override needs an integration ID")
		}
		if err := validate("overrides."+id+".", s.Overrides[id]); err != nil {
			return err
		}
	}
	return nil
}

func validate(prefix string, o Override) error {
	for _, p := range o.Projects {
		if !projectKey.MatchString(p) {
			return fmt.Errorf("%sprojects: %q is not a Jira project key (upper-case letters, digits and _, starting with a letter)", prefix, p)
		}
	}
	for key, v := range map[string]string{"review_status": o.ReviewStatus, "done_status": o.DoneStatus, "closed_status": o.ClosedStatus} {
		if v != strings.TrimSpace(v) || len(v) > 255 {
			return fmt.Errorf("%s%s: %q must be a status name without surrounding spaces, at most 255 characters", prefix, key, v)
		}
	}
	return nil
}

// Effective are the settings one pull request's workflow acts on: the
// defaults, the settings and the integration's override applied in turn.
type Effective struct {
	Site           string
	Projects       []string
	ReviewStatus   string
	DoneStatus     string
	ClosedStatus   string
	CommentOnMerge bool
	CommentOnClose bool
	Settle         time.Duration

	CommentOnPullRequest bool
	ReadCommits          bool
	BrowseURL            string
}

// For returns the settings in effect for pull requests arriving through
// integration.
func (s Settings) For(integration string) Effective {
	e := Effective{Site: s.Site, Projects: s.Projects, ReviewStatus: s.ReviewStatus, DoneStatus: s.DoneStatus,
		ClosedStatus: s.ClosedStatus, CommentOnMerge: s.CommentOnMerge, CommentOnClose: s.CommentOnClose, Settle: s.Settle,
		CommentOnPullRequest: s.CommentOnPullRequest, ReadCommits: s.ReadCommits, BrowseURL: strings.TrimSuffix(s.BrowseURL, "/")}
	if e.ReviewStatus == "" {
		e.ReviewStatus = DefaultReviewStatus
	}
	if e.DoneStatus == "" {
		e.DoneStatus = DefaultDoneStatus
	}
	if o, ok := s.Overrides[integration]; ok {
		if o.Projects != nil {
			e.Projects = o.Projects
		}
		for _, p := range []struct {
			dst *string
			v   string
		}{{&e.ReviewStatus, o.ReviewStatus}, {&e.DoneStatus, o.DoneStatus}, {&e.ClosedStatus, o.ClosedStatus}} {
			if p.v != "" {
				*p.dst = p.v
			}
		}
		if o.CommentOnMerge != nil {
			e.CommentOnMerge = *o.CommentOnMerge
		}
		if o.CommentOnClose != nil {
			e.CommentOnClose = *o.CommentOnClose
		}
	}
	for _, st := range []*string{&e.ReviewStatus, &e.DoneStatus, &e.ClosedStatus} {
		if *st == "-" {
			*st = ""
		}
	}
	return e
}
