package workflows

import (
	"strings"
	"time"
)

// Deployment is a deployment of a commit to an environment: GitHub and
// GitHub Enterprise deployment and deployment_status events, GitLab
// deployment events.
type Deployment struct {
	// Provider is the Event.Source.
	Provider string `json:"provider"`
	Host     string `json:"host"`
	// Owner and Repo name the repository deployed.
	Owner string `json:"owner"`
	Repo  string `json:"repo"`
	// ID is the sender's deployment ID; never 0.
	ID          int64  `json:"id"`
	Environment string `json:"environment"`
	// Ref is what was deployed as the deployer named it: a branch, a tag
	// or a SHA (GitHub), a branch or tag name (GitLab).
	Ref string `json:"ref"`
	// SHA is the commit deployed. GitLab sends the full SHA only in
	// commit_url; when that is missing SHA is its 8-character short_sha.
	SHA string `json:"sha"`
	// Status is the latest status the event reports: GitHub's
	// deployment_status state (queued, pending, in_progress, success,
	// failure, error, inactive), "created" for a GitHub deployment event,
	// GitLab's status (created, running, success, failed, canceled,
	// blocked).
	Status string `json:"status"`
	// Description is the GitHub deployment status's description, else the
	// deployment's; the GitLab commit title.
	Description string `json:"description,omitempty"`
	// Creator is the login of who created the deployment (GitHub) or the
	// username of who ran it (GitLab).
	Creator string `json:"creator"`
	// EnvironmentURL is where the deployed environment is reachable, and
	// LogURL the deployment's log or job page, when the sender names them.
	EnvironmentURL string `json:"environment_url,omitempty"`
	LogURL         string `json:"log_url,omitempty"`
	// UpdatedAt is when the reported status was set.
	UpdatedAt time.Time `json:"updated_at"`
}

// DeploymentOf reads the deployment of a payload: GitHub deployment and
// deployment_status events, GitLab deployment events. Any other event is
// ErrNotThisView.
func DeploymentOf(source, eventType string, payload []byte) (Deployment, error) {
	var (
		d   Deployment
		err error
	)
	switch {
	case source == SourceGitHub && (eventType == "deployment" || eventType == "deployment_status"):
		d, err = githubDeployment(eventType, payload)
	case source == SourceGitLab && eventType == "deployment":
		d, err = gitlabDeployment(payload)
	default:
		return Deployment{}, notThisView("deployment", source, eventType)
	}
	if err != nil {
		return Deployment{}, err
	}
	if d.ID <= 0 {
		return Deployment{}, errorf("deployment", "%s %s payload has no deployment ID", source, eventType)
	}
	d.Provider = source
	return d, nil
}

// DeploymentOfEvent is DeploymentOf over ev's payload, with ev's KeyHost.
func DeploymentOfEvent(ev Event) (Deployment, error) {
	d, err := DeploymentOf(ev.Source, ev.Type, ev.Payload)
	if err != nil {
		return Deployment{}, err
	}
	d.Host = eventHost(ev, d.Host)
	return d, nil
}

func githubDeployment(eventType string, payload []byte) (Deployment, error) {
	var p struct {
		Repository *githubRepo `json:"repository"`
		Deployment *struct {
			ID          id          `json:"id"`
			SHA         string      `json:"sha"`
			Ref         string      `json:"ref"`
			Environment string      `json:"environment"`
			Description string      `json:"description"`
			Creator     *githubUser `json:"creator"`
			CreatedAt   stamp       `json:"created_at"`
			URL         string      `json:"url"`
		} `json:"deployment"`
		Status *struct {
			State          string `json:"state"`
			Description    string `json:"description"`
			Environment    string `json:"environment"`
			TargetURL      string `json:"target_url"`
			EnvironmentURL string `json:"environment_url"`
			LogURL         string `json:"log_url"`
			UpdatedAt      stamp  `json:"updated_at"`
		} `json:"deployment_status"`
	}
	if err := decode("deployment", payload, &p); err != nil {
		return Deployment{}, err
	}
	g := p.Deployment
	if g == nil {
		return Deployment{}, errorf("deployment", "github %s payload has no deployment", eventType)
	}
	d := Deployment{
		ID: g.ID.int64(), SHA: g.SHA, Ref: g.Ref, Environment: g.Environment, Description: g.Description,
		Creator: g.Creator.login(), Status: "created", UpdatedAt: g.CreatedAt.time(),
	}
	d.Owner, d.Repo = p.Repository.path()
	var repoURL string
	if p.Repository != nil {
		repoURL = p.Repository.HTMLURL
	}
	d.Host = githubHost(repoURL, g.URL)
	if eventType == "deployment_status" {
		s := p.Status
		if s == nil {
			return Deployment{}, errorf("deployment", "github deployment_status payload has no deployment_status")
		}
		d.Status, d.UpdatedAt = s.State, s.UpdatedAt.time()
		if s.Description != "" {
			d.Description = s.Description
		}
		if s.Environment != "" {
			d.Environment = s.Environment
		}
		d.EnvironmentURL = s.EnvironmentURL
		d.LogURL = s.LogURL
		if d.LogURL == "" {
			d.LogURL = s.TargetURL // the older name of log_url
		}
	}
	return d, nil
}

func gitlabDeployment(payload []byte) (Deployment, error) {
	var p struct {
		Status                 string         `json:"status"`
		StatusChangedAt        stamp          `json:"status_changed_at"`
		DeploymentID           id             `json:"deployment_id"`
		DeployableURL          string         `json:"deployable_url"`
		Environment            string         `json:"environment"`
		EnvironmentExternalURL string         `json:"environment_external_url"`
		Project                *gitlabProject `json:"project"`
		ShortSHA               string         `json:"short_sha"`
		User                   *gitlabUser    `json:"user"`
		CommitURL              string         `json:"commit_url"`
		CommitTitle            string         `json:"commit_title"`
		Ref                    string         `json:"ref"`
	}
	if err := decode("deployment", payload, &p); err != nil {
		return Deployment{}, err
	}
	d := Deployment{
		ID: p.DeploymentID.int64(), Environment: p.Environment, Ref: p.Ref, Status: p.Status,
		Description: p.CommitTitle, EnvironmentURL: p.EnvironmentExternalURL, LogURL: p.DeployableURL,
		UpdatedAt: p.StatusChangedAt.time(), SHA: p.ShortSHA,
	}
	// commit_url is .../-/commit/<full SHA>.
	if _, sha, ok := strings.Cut(p.CommitURL, "/commit/"); ok && strings.HasPrefix(sha, p.ShortSHA) && isHex(sha) {
		d.SHA = sha
	}
	if p.User != nil {
		d.Creator = p.User.Username
	}
	if p.Project != nil {
		d.Owner, d.Repo = splitPath(p.Project.PathWithNamespace)
		d.Host = HostOfURL(p.Project.WebURL)
	}
	for _, u := range []string{p.CommitURL, p.DeployableURL} {
		if d.Host == "" {
			d.Host = HostOfURL(u)
		}
	}
	return d, nil
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
