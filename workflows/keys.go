package workflows

import (
	"net/url"
	"strings"
)

// The business keys of an Event: the names of Event.Keys, one vocabulary
// for every sender. A sender sets only the keys that name the entity an
// event belongs to (what routing needs to build a workflow ID); what an
// entity looks like (a pull request's title, state or branches, a Jira
// issue's status) is read from the payload by a typed view such as
// PullRequestOf, never from keys.
//
// Every value is a string as the sender spells it; numbers are decimal.
// A key the event has no value for is absent, never "" or "0". A blueprint
// that needs a number reads it from a typed view, not by parsing a key.
//
// Generic integrations name their own keys (the integration option keys);
// using a name from this list there means what it means here.
const (
	// KeyHost is the host of the sender's site, lower case, with a port only
	// when it is not the default: "github.com" or a GitHub Enterprise
	// Server host, "gitlab.com" or a self-managed GitLab host,
	// "bitbucket.org" or a Bitbucket Data Center host, a Jira site
	// ("acme.atlassian.net", "jira.corp.example"). Two repositories with the
	// same path on two hosts are two entities: workflow IDs name the host.
	KeyHost = "host"

	// KeyRepoPath is the repository's full path on its host, without the
	// host: "owner/name" on GitHub, the path with namespace on GitLab
	// ("group/subgroup/project"), "workspace/slug" on Bitbucket Cloud and
	// "PROJECT/slug" on Bitbucket Data Center.
	KeyRepoPath = "repo_path"
	// KeyOwner is what owns the repository: the GitHub user or organization
	// login (on events about an organization and no repository, the
	// organization), the GitLab namespace's full path ("group/subgroup"),
	// the Bitbucket Cloud workspace or the Bitbucket Data Center project
	// key. KeyRepoPath is KeyOwner + "/" + KeyRepoName.
	KeyOwner = "owner"
	// KeyRepoName is the repository's own name, the last element of
	// KeyRepoPath: the GitHub repository name, the GitLab project path, the
	// Bitbucket repository slug.
	KeyRepoName = "repo_name"
	// KeyProjectID is the sender's numeric ID of the repository's project
	// where it has one that survives renames: the GitLab project ID, the
	// Jira project ID.
	KeyProjectID = "project_id"

	// KeyInstallation is the ID of the GitHub App installation the event
	// was sent for: what activities fetch a token for.
	KeyInstallation = "installation"

	// KeyPullRequest is the number of a pull or merge request within its
	// repository: the GitHub pull request number (also on comments on a
	// pull request), the GitLab merge request IID, the Bitbucket pull
	// request ID.
	KeyPullRequest = "pull_request"
	// KeyIssue is an issue as people write it: the GitHub issue number, the
	// GitLab issue IID, the Jira issue key ("PROJ-123").
	KeyIssue = "issue"
	// KeyIssueID is the Jira issue ID, which unlike its key does not change
	// when the issue moves to another project.
	KeyIssueID = "issue_id"
	// KeyProject is the Jira project key ("PROJ").
	KeyProject = "project"
	// KeySprint is the Jira sprint ID.
	KeySprint = "sprint"
	// KeyVersion is the Jira version (release) ID.
	KeyVersion = "version"

	// KeyRef is a full git ref: "refs/heads/main", "refs/tags/v1.2.0". For
	// a Bitbucket push of several refs it is the first one.
	KeyRef = "ref"
	// KeySHA is the commit the event is about: a push's new head, a pull
	// request's head, a check's, pipeline's or deployment's commit. Absent
	// when the ref was deleted.
	KeySHA = "sha"
	// KeyTag is a release's tag name ("v1.2.0").
	KeyTag = "tag"

	// KeyWorkflowRun is the GitHub Actions workflow run ID.
	KeyWorkflowRun = "workflow_run"
	// KeyPipeline is the GitLab pipeline ID.
	KeyPipeline = "pipeline"
	// KeyJob is the GitLab job (build) ID.
	KeyJob = "job"
	// KeyDeployment is the deployment ID (GitHub, GitLab).
	KeyDeployment = "deployment"
	// KeyEnvironment is a deployment's or job's environment name.
	KeyEnvironment = "environment"

	// KeyTable is the ServiceNow table of a record ("change_request").
	KeyTable = "table"
	// KeySysID is the ServiceNow record's sys_id.
	KeySysID = "sys_id"
	// KeyNumber is the ServiceNow record's number ("CHG0031234").
	KeyNumber = "number"

	// KeyEntity names the entity of a generic event, for integrations whose
	// option keys lists an "entity" field.
	KeyEntity = "entity"
)

// HostOfURL returns the host of an absolute URL as KeyHost spells it: lower
// case, without userinfo and without the scheme's default port. It returns
// "" for anything that is not an absolute http(s) URL.
func HostOfURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return ""
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // an IPv6 literal keeps its brackets
	}
	if port == "" || (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		return host
	}
	return host + ":" + port
}
