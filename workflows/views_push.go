package workflows

import (
	"net/mail"
	"strings"
	"time"
)

// Push is the update of one ref by a push: GitHub and GitHub Enterprise
// push events, GitLab push and tag_push events, Bitbucket Cloud repo:push
// and Bitbucket Data Center repo:refs_changed events.
type Push struct {
	// Provider is the Event.Source.
	Provider string `json:"provider"`
	// Host is the KeyHost of the provider's site; "" when a Bitbucket Data
	// Center payload names none.
	Host string `json:"host"`
	// Owner and Repo name the repository: Owner + "/" + Repo is its
	// KeyRepoPath.
	Owner string `json:"owner"`
	Repo  string `json:"repo"`
	// Ref is the full ref pushed: "refs/heads/main", "refs/tags/v1".
	Ref string `json:"ref"`
	// Before and After are the ref's commit before and after the push; ""
	// for a ref created (Before) or deleted (After). Bitbucket Cloud sends
	// full hashes here.
	Before string `json:"before"`
	After  string `json:"after"`
	// Created and Deleted report a new or a removed ref.
	Created bool `json:"created"`
	Deleted bool `json:"deleted"`
	// Forced reports a forced update where the sender says so (GitHub,
	// Bitbucket Cloud).
	Forced bool `json:"forced"`
	// Pusher is who pushed: the GitHub pusher's name, the GitLab username,
	// the Bitbucket Cloud actor's nickname (else display name), the Data
	// Center actor's slug.
	Pusher string `json:"pusher"`
	// HasCommits reports whether the payload lists the pushed commits.
	// Bitbucket Data Center's repo:refs_changed never does: it carries only
	// each ref's old and new hash, and the commits between them must be
	// read from Bitbucket's REST API.
	HasCommits bool `json:"has_commits"`
	// Truncated reports that the sender listed only some of the commits:
	// GitLab lists at most 20 (total_commits_count says how many there
	// are), Bitbucket Cloud the 5 most recent (truncated). GitHub's
	// documented 20-commit limit applies to timeline events, not to
	// webhook deliveries, and its payload has no field that says a list
	// was cut: Truncated is always false there.
	Truncated bool `json:"truncated"`
	// Commits are the pushed commits as the sender lists them (GitHub and
	// GitLab oldest first, Bitbucket Cloud newest first).
	Commits []Commit `json:"commits,omitempty"`
}

// Commit is a commit of a Push.
type Commit struct {
	ID      string `json:"id"`
	Message string `json:"message"`
	// Author and AuthorEmail are the git author's name and email.
	Author      string    `json:"author"`
	AuthorEmail string    `json:"author_email"`
	Timestamp   time.Time `json:"timestamp"`
	URL         string    `json:"url,omitempty"`
}

// PushesOf reads the ref updates of a push payload: one Push for GitHub
// and GitLab, one per changed ref for Bitbucket (a push can update several
// branches and tags at once). Any other event is ErrNotThisView.
func PushesOf(source, eventType string, payload []byte) ([]Push, error) {
	var (
		pushes []Push
		err    error
	)
	switch {
	case source == SourceGitHub && eventType == "push":
		pushes, err = githubPush(payload)
	case source == SourceGitLab && (eventType == "push" || eventType == "tag_push"):
		pushes, err = gitlabPush(payload)
	case source == SourceBitbucket && eventType == "repo:push":
		pushes, err = bitbucketCloudPush(payload)
	case source == SourceBitbucket && eventType == "repo:refs_changed":
		pushes, err = bitbucketDCPush(payload)
	default:
		return nil, notThisView("push", source, eventType)
	}
	if err != nil {
		return nil, err
	}
	for i := range pushes {
		p := &pushes[i]
		p.Provider = source
		if isZeroHash(p.Before) {
			p.Before, p.Created = "", true
		}
		if isZeroHash(p.After) {
			p.After, p.Deleted = "", true
		}
	}
	return pushes, nil
}

// PushesOfEvent is PushesOf over ev's payload, with ev's KeyHost.
func PushesOfEvent(ev Event) ([]Push, error) {
	pushes, err := PushesOf(ev.Source, ev.Type, ev.Payload)
	for i := range pushes {
		pushes[i].Host = eventHost(ev, pushes[i].Host)
	}
	return pushes, err
}

func isZeroHash(s string) bool { return s != "" && strings.Trim(s, "0") == "" }

func githubPush(payload []byte) ([]Push, error) {
	var p struct {
		Ref        string      `json:"ref"`
		Before     string      `json:"before"`
		After      string      `json:"after"`
		Created    bool        `json:"created"`
		Deleted    bool        `json:"deleted"`
		Forced     bool        `json:"forced"`
		Compare    string      `json:"compare"`
		Repository *githubRepo `json:"repository"`
		Pusher     *struct {
			Name string `json:"name"`
		} `json:"pusher"`
		Commits []struct {
			ID        string `json:"id"`
			Message   string `json:"message"`
			Timestamp stamp  `json:"timestamp"`
			URL       string `json:"url"`
			Author    *struct {
				Name  string `json:"name"`
				Email string `json:"email"`
			} `json:"author"`
		} `json:"commits"`
	}
	if err := decode("push", payload, &p); err != nil {
		return nil, err
	}
	if p.Ref == "" {
		return nil, errorf("push", "github push payload has no ref")
	}
	push := Push{Ref: p.Ref, Before: p.Before, After: p.After, Created: p.Created, Deleted: p.Deleted, Forced: p.Forced, HasCommits: true}
	push.Owner, push.Repo = p.Repository.path()
	var repoURL string
	if p.Repository != nil {
		repoURL = p.Repository.HTMLURL
	}
	push.Host = githubHost(repoURL, p.Compare)
	if p.Pusher != nil {
		push.Pusher = p.Pusher.Name
	}
	for _, c := range p.Commits {
		commit := Commit{ID: c.ID, Message: c.Message, Timestamp: c.Timestamp.time(), URL: c.URL}
		if c.Author != nil {
			commit.Author, commit.AuthorEmail = c.Author.Name, c.Author.Email
		}
		push.Commits = append(push.Commits, commit)
	}
	return []Push{push}, nil
}

func gitlabPush(payload []byte) ([]Push, error) {
	var p struct {
		Ref               string         `json:"ref"`
		Before            string         `json:"before"`
		After             string         `json:"after"`
		UserUsername      string         `json:"user_username"`
		TotalCommitsCount int            `json:"total_commits_count"`
		Project           *gitlabProject `json:"project"`
		Repository        *struct {
			Homepage string `json:"homepage"`
		} `json:"repository"`
		Commits []struct {
			ID        string `json:"id"`
			Message   string `json:"message"`
			Timestamp stamp  `json:"timestamp"`
			URL       string `json:"url"`
			Author    *struct {
				Name  string `json:"name"`
				Email string `json:"email"`
			} `json:"author"`
		} `json:"commits"`
	}
	if err := decode("push", payload, &p); err != nil {
		return nil, err
	}
	if p.Ref == "" {
		return nil, errorf("push", "gitlab push payload has no ref")
	}
	push := Push{Ref: p.Ref, Before: p.Before, After: p.After, Pusher: p.UserUsername, HasCommits: true}
	if p.Project != nil {
		push.Owner, push.Repo = splitPath(p.Project.PathWithNamespace)
		push.Host = HostOfURL(p.Project.WebURL)
	}
	if push.Host == "" && p.Repository != nil {
		push.Host = HostOfURL(p.Repository.Homepage)
	}
	for _, c := range p.Commits {
		commit := Commit{ID: c.ID, Message: c.Message, Timestamp: c.Timestamp.time(), URL: c.URL}
		if c.Author != nil {
			commit.Author, commit.AuthorEmail = c.Author.Name, c.Author.Email
		}
		push.Commits = append(push.Commits, commit)
	}
	push.Truncated = p.TotalCommitsCount > len(push.Commits)
	return []Push{push}, nil
}

// bitbucketActor is a Bitbucket Cloud user (nickname, display_name) or a
// Data Center one (slug, name).
type bitbucketActor struct {
	Nickname    string `json:"nickname"`
	DisplayName string `json:"display_name"`
	Slug        string `json:"slug"`
	Name        string `json:"name"`
}

func (a *bitbucketActor) login() string {
	if a == nil {
		return ""
	}
	for _, s := range []string{a.Nickname, a.Slug, a.DisplayName, a.Name} {
		if s != "" {
			return s
		}
	}
	return ""
}

func bitbucketCloudPush(payload []byte) ([]Push, error) {
	type ref struct {
		Type   string `json:"type"`
		Name   string `json:"name"`
		Target *struct {
			Hash string `json:"hash"`
		} `json:"target"`
	}
	var p struct {
		Actor      *bitbucketActor `json:"actor"`
		Repository *bitbucketRepo  `json:"repository"`
		Push       *struct {
			Changes []struct {
				New       *ref `json:"new"`
				Old       *ref `json:"old"`
				Created   bool `json:"created"`
				Closed    bool `json:"closed"`
				Forced    bool `json:"forced"`
				Truncated bool `json:"truncated"`
				Commits   []struct {
					Hash    string `json:"hash"`
					Message string `json:"message"`
					Date    stamp  `json:"date"`
					Author  *struct {
						Raw string `json:"raw"`
					} `json:"author"`
					Links *bitbucketLinks `json:"links"`
				} `json:"commits"`
			} `json:"changes"`
		} `json:"push"`
	}
	if err := decode("push", payload, &p); err != nil {
		return nil, err
	}
	if p.Push == nil {
		return nil, errorf("push", "bitbucket repo:push payload has no push")
	}
	owner, repo := p.Repository.path()
	var pushes []Push
	for _, c := range p.Push.Changes {
		push := Push{
			Host: "bitbucket.org", Owner: owner, Repo: repo, Pusher: p.Actor.login(),
			Created: c.Created || c.Old == nil, Deleted: c.Closed || c.New == nil, Forced: c.Forced,
			Truncated: c.Truncated, HasCommits: true,
		}
		for _, r := range []*ref{c.New, c.Old} {
			if r != nil && push.Ref == "" {
				push.Ref = bitbucketFullRef(r.Type, r.Name)
			}
		}
		if c.Old != nil && c.Old.Target != nil {
			push.Before = c.Old.Target.Hash
		}
		if c.New != nil && c.New.Target != nil {
			push.After = c.New.Target.Hash
		}
		if push.Ref == "" {
			continue // neither side names a ref: nothing to report
		}
		for _, cm := range c.Commits {
			commit := Commit{ID: cm.Hash, Message: cm.Message, Timestamp: cm.Date.time(), URL: cm.Links.url()}
			if cm.Author != nil {
				commit.Author, commit.AuthorEmail = splitRawAuthor(cm.Author.Raw)
			}
			push.Commits = append(push.Commits, commit)
		}
		pushes = append(pushes, push)
	}
	if len(pushes) == 0 {
		return nil, errorf("push", "bitbucket repo:push payload has no changed ref")
	}
	return pushes, nil
}

// bitbucketFullRef turns a Cloud branch or tag name into a full ref.
func bitbucketFullRef(typ, name string) string {
	switch {
	case name == "":
		return ""
	case typ == "branch" || typ == "named_branch":
		return "refs/heads/" + name
	case typ == "tag" || typ == "annotated_tag":
		return "refs/tags/" + name
	}
	return name
}

// splitRawAuthor splits git's "Name <email>".
func splitRawAuthor(raw string) (name, email string) {
	if a, err := mail.ParseAddress(raw); err == nil {
		return a.Name, a.Address
	}
	if i := strings.IndexByte(raw, '<'); i >= 0 && strings.HasSuffix(raw, ">") {
		return strings.TrimSpace(raw[:i]), raw[i+1 : len(raw)-1]
	}
	return strings.TrimSpace(raw), ""
}

func bitbucketDCPush(payload []byte) ([]Push, error) {
	var p struct {
		Actor      *bitbucketActor `json:"actor"`
		Repository *bitbucketRepo  `json:"repository"`
		Changes    []struct {
			RefID    string `json:"refId"`
			FromHash string `json:"fromHash"`
			ToHash   string `json:"toHash"`
			Type     string `json:"type"`
			Ref      *struct {
				ID string `json:"id"`
			} `json:"ref"`
		} `json:"changes"`
	}
	if err := decode("push", payload, &p); err != nil {
		return nil, err
	}
	owner, repo := p.Repository.path()
	host := HostOfURL(p.Repository.url())
	var pushes []Push
	for _, c := range p.Changes {
		ref := c.RefID
		if ref == "" && c.Ref != nil {
			ref = c.Ref.ID
		}
		if ref == "" {
			continue
		}
		pushes = append(pushes, Push{
			Host: host, Owner: owner, Repo: repo, Ref: ref, Before: c.FromHash, After: c.ToHash, Pusher: p.Actor.login(),
			Created: c.Type == "ADD", Deleted: c.Type == "DELETE",
		})
	}
	if len(pushes) == 0 {
		return nil, errorf("push", "bitbucket repo:refs_changed payload has no changed ref")
	}
	return pushes, nil
}
