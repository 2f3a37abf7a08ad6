package workflows

import (
	"strings"
)

// The provider-neutral states of a pull or merge request.
const (
	PullRequestOpen   = "open"
	PullRequestClosed = "closed" // closed or declined without merging
	PullRequestMerged = "merged"
)

// PullRequest is a GitHub or GitHub Enterprise pull request, a GitLab merge
// request or a Bitbucket Cloud or Data Center pull request, as the event
// that carries it describes it.
type PullRequest struct {
	// Provider is the Event.Source: SourceGitHub, SourceGitLab or
	// SourceBitbucket.
	Provider string `json:"provider"`
	// Host is the KeyHost of the provider's site.
	Host string `json:"host"`
	// Owner and Repo name the repository the pull request merges into (the
	// base): Owner + "/" + Repo is its KeyRepoPath.
	Owner string `json:"owner"`
	Repo  string `json:"repo"`
	// Number is the pull request's number within the repository: GitHub's
	// number, GitLab's IID, Bitbucket's ID. It is never 0.
	Number int    `json:"number"`
	Title  string `json:"title"`
	// Branch is the branch with the changes (head, source); Base is the
	// branch they merge into (base, target, destination).
	Branch string `json:"branch"`
	Base   string `json:"base"`
	// HeadSHA is the latest commit of Branch. Bitbucket Cloud sends a
	// 12-character abbreviated hash.
	HeadSHA string `json:"head_sha"`
	// Author is the login of the pull request's author: the GitHub login,
	// the Bitbucket Cloud nickname (else display name) or the Data Center
	// user slug. GitLab sends only the author's ID (AuthorID): Author is
	// then the username of the user who acted when that user is the
	// author, else "".
	Author   string `json:"author"`
	AuthorID string `json:"author_id,omitempty"`
	// State is PullRequestOpen, PullRequestClosed or PullRequestMerged.
	State string `json:"state"`
	// Merged reports whether State is PullRequestMerged.
	Merged bool `json:"merged"`
	Draft  bool `json:"draft"`
	// URL is the pull request's web page, when the payload names it.
	URL string `json:"url"`
}

// PullRequestOf reads the pull request of a payload: GitHub pull_request,
// pull_request_review, pull_request_review_comment and
// pull_request_review_thread events, GitLab merge_request events
// (webhooks and system hooks), Bitbucket Cloud pullrequest:* and Bitbucket
// Data Center pr:* events. Any other event is ErrNotThisView.
//
// The host is read from the payload's URLs (github.com when a GitHub
// payload names none); PullRequestOfEvent prefers the event's KeyHost.
func PullRequestOf(source, eventType string, payload []byte) (PullRequest, error) {
	var (
		pr  PullRequest
		err error
	)
	switch {
	case source == SourceGitHub && isGitHubPullRequestEvent(eventType):
		pr, err = githubPullRequest(payload)
	case source == SourceGitLab && eventType == "merge_request":
		pr, err = gitlabMergeRequest(payload)
	case source == SourceBitbucket && strings.HasPrefix(eventType, "pullrequest:"):
		pr, err = bitbucketCloudPullRequest(payload)
	case source == SourceBitbucket && strings.HasPrefix(eventType, "pr:"):
		pr, err = bitbucketDCPullRequest(payload)
	default:
		return PullRequest{}, notThisView("pull request", source, eventType)
	}
	if err != nil {
		return PullRequest{}, err
	}
	if pr.Number <= 0 {
		return PullRequest{}, errorf("pull request", "%s %s payload has no pull request number", source, eventType)
	}
	pr.Provider = source
	pr.Merged = pr.State == PullRequestMerged
	return pr, nil
}

// PullRequestOfEvent is PullRequestOf over ev's payload, with ev's KeyHost.
func PullRequestOfEvent(ev Event) (PullRequest, error) {
	pr, err := PullRequestOf(ev.Source, ev.Type, ev.Payload)
	if err != nil {
		return PullRequest{}, err
	}
	pr.Host = eventHost(ev, pr.Host)
	return pr, nil
}

func isGitHubPullRequestEvent(t string) bool {
	switch t {
	case "pull_request", "pull_request_review", "pull_request_review_comment", "pull_request_review_thread":
		return true
	}
	return false
}

// githubRepo is a repository in a GitHub payload.
type githubRepo struct {
	Name     string `json:"name"`
	FullName string `json:"full_name"`
	HTMLURL  string `json:"html_url"`
	Owner    *struct {
		Login string `json:"login"`
		Name  string `json:"name"`
	} `json:"owner"`
}

// path returns the repository's owner and name.
func (r *githubRepo) path() (owner, name string) {
	if r == nil {
		return "", ""
	}
	owner, name = splitPath(r.FullName)
	if r.Owner != nil && r.Owner.Login != "" {
		owner = r.Owner.Login
	} else if r.Owner != nil && r.Owner.Name != "" {
		owner = r.Owner.Name // push events
	}
	if r.Name != "" {
		name = r.Name
	}
	return owner, name
}

type githubUser struct {
	Login string `json:"login"`
}

func (u *githubUser) login() string {
	if u == nil {
		return ""
	}
	return u.Login
}

// githubHost is the host of the first of urls that is one, else github.com.
func githubHost(urls ...string) string {
	for _, u := range urls {
		if h := HostOfURL(u); h != "" {
			return h
		}
	}
	return "github.com"
}

func githubPullRequest(payload []byte) (PullRequest, error) {
	var p struct {
		Number      int         `json:"number"`
		Repository  *githubRepo `json:"repository"`
		PullRequest *struct {
			Number   int         `json:"number"`
			Title    string      `json:"title"`
			State    string      `json:"state"`
			Merged   bool        `json:"merged"`
			MergedAt *string     `json:"merged_at"`
			Draft    bool        `json:"draft"`
			HTMLURL  string      `json:"html_url"`
			User     *githubUser `json:"user"`
			Head     *struct {
				Ref string `json:"ref"`
				SHA string `json:"sha"`
			} `json:"head"`
			Base *struct {
				Ref  string      `json:"ref"`
				Repo *githubRepo `json:"repo"`
			} `json:"base"`
		} `json:"pull_request"`
	}
	if err := decode("pull request", payload, &p); err != nil {
		return PullRequest{}, err
	}
	g := p.PullRequest
	if g == nil {
		return PullRequest{}, errorf("pull request", "github payload has no pull_request")
	}
	repo := p.Repository
	if repo == nil && g.Base != nil {
		repo = g.Base.Repo
	}
	pr := PullRequest{Number: g.Number, Title: g.Title, Draft: g.Draft, URL: g.HTMLURL, Author: g.User.login()}
	if pr.Number == 0 {
		pr.Number = p.Number
	}
	pr.Owner, pr.Repo = repo.path()
	var repoURL string
	if repo != nil {
		repoURL = repo.HTMLURL
	}
	pr.Host = githubHost(g.HTMLURL, repoURL)
	if g.Head != nil {
		pr.Branch, pr.HeadSHA = g.Head.Ref, g.Head.SHA
	}
	if g.Base != nil {
		pr.Base = g.Base.Ref
	}
	// pull_request events carry merged; review events carry merged_at only.
	switch {
	case g.State == "open":
		pr.State = PullRequestOpen
	case g.Merged || (g.MergedAt != nil && *g.MergedAt != ""):
		pr.State = PullRequestMerged
	default:
		pr.State = PullRequestClosed
	}
	return pr, nil
}

// gitlabProject is the project of a GitLab payload.
type gitlabProject struct {
	ID                id     `json:"id"`
	PathWithNamespace string `json:"path_with_namespace"`
	WebURL            string `json:"web_url"`
}

type gitlabUser struct {
	ID       id     `json:"id"`
	Username string `json:"username"`
}

func gitlabMergeRequest(payload []byte) (PullRequest, error) {
	var p struct {
		User       *gitlabUser    `json:"user"`
		Project    *gitlabProject `json:"project"`
		Attributes *struct {
			IID            int    `json:"iid"`
			Title          string `json:"title"`
			State          string `json:"state"`
			SourceBranch   string `json:"source_branch"`
			TargetBranch   string `json:"target_branch"`
			URL            string `json:"url"`
			AuthorID       id     `json:"author_id"`
			Draft          bool   `json:"draft"`
			WorkInProgress bool   `json:"work_in_progress"`
			LastCommit     *struct {
				ID string `json:"id"`
			} `json:"last_commit"`
			Target *struct {
				PathWithNamespace string `json:"path_with_namespace"`
				WebURL            string `json:"web_url"`
			} `json:"target"`
		} `json:"object_attributes"`
	}
	if err := decode("pull request", payload, &p); err != nil {
		return PullRequest{}, err
	}
	a := p.Attributes
	if a == nil {
		return PullRequest{}, errorf("pull request", "gitlab merge_request payload has no object_attributes")
	}
	pr := PullRequest{
		Number: a.IID, Title: a.Title, Branch: a.SourceBranch, Base: a.TargetBranch, URL: a.URL,
		AuthorID: string(a.AuthorID), Draft: a.Draft || a.WorkInProgress,
	}
	var path, web string
	if p.Project != nil {
		path, web = p.Project.PathWithNamespace, p.Project.WebURL
	}
	if t := a.Target; t != nil && path == "" {
		path, web = t.PathWithNamespace, t.WebURL
	}
	pr.Owner, pr.Repo = splitPath(path)
	pr.Host = HostOfURL(web)
	if pr.Host == "" {
		pr.Host = HostOfURL(a.URL)
	}
	if a.LastCommit != nil {
		pr.HeadSHA = a.LastCommit.ID
	}
	if u := p.User; u != nil && u.ID != "" && u.ID == a.AuthorID {
		pr.Author = u.Username
	}
	switch a.State {
	case "merged":
		pr.State = PullRequestMerged
	case "closed":
		pr.State = PullRequestClosed
	default: // opened, locked (being merged)
		pr.State = PullRequestOpen
	}
	return pr, nil
}

// bitbucketState maps OPEN, MERGED, DECLINED and SUPERSEDED.
func bitbucketState(s string) string {
	switch strings.ToUpper(s) {
	case "MERGED":
		return PullRequestMerged
	case "DECLINED", "SUPERSEDED":
		return PullRequestClosed
	}
	return PullRequestOpen
}

// bitbucketLinks are a Cloud object's links (html.href) or a Data Center
// one's (self[].href).
type bitbucketLinks struct {
	HTML *struct {
		Href string `json:"href"`
	} `json:"html"`
	Self []*struct {
		Href string `json:"href"`
	} `json:"self"`
}

func (l *bitbucketLinks) url() string {
	if l == nil {
		return ""
	}
	if l.HTML != nil && l.HTML.Href != "" {
		return l.HTML.Href
	}
	for _, s := range l.Self {
		if s != nil && s.Href != "" {
			return s.Href
		}
	}
	return ""
}

// bitbucketRepo is a Cloud repository (full_name workspace/slug) or a Data
// Center one (project key and slug).
type bitbucketRepo struct {
	FullName string `json:"full_name"`
	Slug     string `json:"slug"`
	Project  *struct {
		Key string `json:"key"`
	} `json:"project"`
	Links *bitbucketLinks `json:"links"`
}

func (r *bitbucketRepo) path() (owner, name string) {
	switch {
	case r == nil:
	case r.FullName != "":
		owner, name, _ = strings.Cut(r.FullName, "/")
	case r.Project != nil:
		owner, name = r.Project.Key, r.Slug
	}
	return owner, name
}

func (r *bitbucketRepo) url() string {
	if r == nil {
		return ""
	}
	return r.Links.url()
}

func bitbucketCloudPullRequest(payload []byte) (PullRequest, error) {
	type end struct {
		Branch *struct {
			Name string `json:"name"`
		} `json:"branch"`
		Commit *struct {
			Hash string `json:"hash"`
		} `json:"commit"`
		Repository *bitbucketRepo `json:"repository"`
	}
	var p struct {
		Repository  *bitbucketRepo `json:"repository"`
		PullRequest *struct {
			ID     int    `json:"id"`
			Title  string `json:"title"`
			State  string `json:"state"`
			Draft  bool   `json:"draft"`
			Author *struct {
				Nickname    string `json:"nickname"`
				DisplayName string `json:"display_name"`
			} `json:"author"`
			Source      *end            `json:"source"`
			Destination *end            `json:"destination"`
			Links       *bitbucketLinks `json:"links"`
		} `json:"pullrequest"`
	}
	if err := decode("pull request", payload, &p); err != nil {
		return PullRequest{}, err
	}
	b := p.PullRequest
	if b == nil {
		return PullRequest{}, errorf("pull request", "bitbucket pullrequest payload has no pullrequest")
	}
	pr := PullRequest{Number: b.ID, Title: b.Title, Draft: b.Draft, State: bitbucketState(b.State), URL: b.Links.url(), Host: "bitbucket.org"}
	if a := b.Author; a != nil {
		pr.Author = a.Nickname
		if pr.Author == "" {
			pr.Author = a.DisplayName
		}
	}
	repo := p.Repository
	if s := b.Source; s != nil {
		if s.Branch != nil {
			pr.Branch = s.Branch.Name
		}
		if s.Commit != nil {
			pr.HeadSHA = s.Commit.Hash
		}
	}
	if d := b.Destination; d != nil {
		if d.Branch != nil {
			pr.Base = d.Branch.Name
		}
		if repo == nil {
			repo = d.Repository
		}
	}
	pr.Owner, pr.Repo = repo.path()
	return pr, nil
}

func bitbucketDCPullRequest(payload []byte) (PullRequest, error) {
	type ref struct {
		DisplayID    string         `json:"displayId"`
		LatestCommit string         `json:"latestCommit"`
		Repository   *bitbucketRepo `json:"repository"`
	}
	var p struct {
		PullRequest *struct {
			ID     int    `json:"id"`
			Title  string `json:"title"`
			State  string `json:"state"`
			Draft  bool   `json:"draft"`
			Author *struct {
				User *struct {
					Name string `json:"name"`
					Slug string `json:"slug"`
				} `json:"user"`
			} `json:"author"`
			FromRef *ref            `json:"fromRef"`
			ToRef   *ref            `json:"toRef"`
			Links   *bitbucketLinks `json:"links"`
		} `json:"pullRequest"`
	}
	if err := decode("pull request", payload, &p); err != nil {
		return PullRequest{}, err
	}
	b := p.PullRequest
	if b == nil {
		return PullRequest{}, errorf("pull request", "bitbucket pr payload has no pullRequest")
	}
	pr := PullRequest{Number: b.ID, Title: b.Title, Draft: b.Draft, State: bitbucketState(b.State), URL: b.Links.url()}
	if a := b.Author; a != nil && a.User != nil {
		pr.Author = a.User.Slug
		if pr.Author == "" {
			pr.Author = a.User.Name
		}
	}
	if f := b.FromRef; f != nil {
		pr.Branch, pr.HeadSHA = f.DisplayID, f.LatestCommit
	}
	if t := b.ToRef; t != nil {
		pr.Base = t.DisplayID
		pr.Owner, pr.Repo = t.Repository.path()
		pr.Host = HostOfURL(t.Repository.url())
	}
	if pr.Host == "" {
		pr.Host = HostOfURL(pr.URL)
	}
	return pr, nil
}
