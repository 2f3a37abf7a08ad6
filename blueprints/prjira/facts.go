package prjira

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow/workflows"
)

// Observation is what one event says about its pull request: the part of
// the payload prjira decides on. It is computed in the workflow (a
// deterministic function of the payload) and folded into Facts.
type Observation struct {
	Provider string `json:"provider"`
	Host     string `json:"host"`
	Owner    string `json:"owner"`
	Repo     string `json:"repo"`
	Number   int    `json:"number"`
	Title    string `json:"title"`
	Branch   string `json:"branch"`
	URL      string `json:"url,omitempty"`
	// State is workflows.PullRequestOpen, PullRequestClosed or
	// PullRequestMerged.
	State string `json:"state"`
	Draft bool   `json:"draft,omitempty"`
	// Version orders observations: the payload's own "updated" time in
	// Unix milliseconds (0 when it names none). Deliveries may arrive in
	// any order; the newest version decides the title, branch and state.
	Version int64 `json:"version,omitempty"`
	// Review says the pull request was put up for review: GitHub
	// review_requested or ready_for_review, or reviewers named on a
	// non-draft pull request (GitLab, Bitbucket).
	Review bool `json:"review,omitempty"`
	// MergeSHA is the merge commit, when the payload names it.
	MergeSHA string `json:"merge_sha,omitempty"`
	// Commits are commit messages the payload carries (GitLab's
	// last_commit).
	Commits []string `json:"commits,omitempty"`
}

// Facts are everything the workflow has seen of its pull request, folded
// so that the order and repetition of observations do not matter: the
// newest observation (merged is final), review ever requested, the merge
// commit, and the keys of every commit message seen.
type Facts struct {
	Latest     Observation `json:"latest"`
	Review     bool        `json:"review,omitempty"`
	MergeSHA   string      `json:"merge_sha,omitempty"`
	CommitKeys []string    `json:"commit_keys,omitempty"`
}

// Fold adds o to the facts. Fold is commutative and idempotent over
// observations: any order and any repetition of the same observations
// gives the same Facts.
func (f Facts) Fold(o Observation) Facts {
	if f.Latest.Number == 0 || newer(o, f.Latest) {
		f.Latest = o
		f.Latest.Commits = nil // folded into CommitKeys
	}
	f.Review = f.Review || o.Review
	if o.MergeSHA > f.MergeSHA {
		f.MergeSHA = o.MergeSHA
	}
	for _, msg := range o.Commits {
		for _, k := range Keys(msg) {
			if !slices.Contains(f.CommitKeys, k) {
				f.CommitKeys = append(f.CommitKeys, k)
			}
		}
	}
	slices.Sort(f.CommitKeys)
	return f
}

// newer orders observations: merged is final (a merged pull request is
// never reopened), then the payload's version, then state, title and
// branch, so that ties are broken the same way whatever the order.
func newer(a, b Observation) bool {
	am, bm := a.State == workflows.PullRequestMerged, b.State == workflows.PullRequestMerged
	if am != bm {
		return am
	}
	if a.Version != b.Version {
		return a.Version > b.Version
	}
	if ra, rb := stateRank(a.State), stateRank(b.State); ra != rb {
		return ra > rb
	}
	if a.Title != b.Title {
		return a.Title > b.Title
	}
	if a.Branch != b.Branch {
		return a.Branch > b.Branch
	}
	return a.URL > b.URL
}

func stateRank(s string) int {
	switch s {
	case workflows.PullRequestMerged:
		return 3
	case workflows.PullRequestClosed:
		return 2
	}
	return 1
}

// keyCandidate is Jira's default project key syntax (an upper-case letter,
// then upper-case letters, digits or underscores) and an issue number.
var keyCandidate = regexp.MustCompile(`[A-Z][A-Z0-9_]+-[1-9][0-9]*`)

// Keys returns the Jira issue keys in s, in order of first appearance,
// once each: a key stands alone (no letter or digit before it, no digit
// after it), as in "PROJ-12: fix", "feature/PROJ-12-retry", "[PROJ-12]".
func Keys(s string) []string {
	var out []string
	for _, m := range keyCandidate.FindAllStringIndex(s, -1) {
		if m[0] > 0 && isAlnum(s[m[0]-1]) {
			continue
		}
		if m[1] < len(s) && s[m[1]] >= '0' && s[m[1]] <= '9' {
			continue
		}
		if k := s[m[0]:m[1]]; !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Wanted returns the keys the facts link, sorted: those of the newest
// title and branch and of every commit message seen, in projects (every
// project when empty).
func (f Facts) Wanted(projects []string) []string {
	var out []string
	for _, src := range [][]string{Keys(f.Latest.Title), Keys(f.Latest.Branch), f.CommitKeys} {
		for _, k := range src {
			project, _, _ := strings.Cut(k, "-")
			if (len(projects) == 0 || slices.Contains(projects, project)) && !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Observe reads the observation of one event's payload (inline, or
// rebuilt from a projection): a pull request event of GitHub/GHES, GitLab
// or Bitbucket Cloud/Data Center.
func Observe(ev workflows.Event, payload []byte) (Observation, error) {
	ev.Payload = payload
	pr, err := workflows.PullRequestOfEvent(ev)
	if err != nil {
		return Observation{}, err
	}
	o := Observation{
		Provider: pr.Provider, Host: pr.Host, Owner: pr.Owner, Repo: pr.Repo, Number: pr.Number,
		Title: pr.Title, Branch: pr.Branch, URL: pr.URL, State: pr.State, Draft: pr.Draft,
	}
	var p extra
	if err := json.Unmarshal(payload, &p); err != nil {
		return Observation{}, err
	}
	switch {
	case ev.Source == workflows.SourceGitHub:
		g := p.PullRequest
		if g != nil {
			o.Version = millis(g.UpdatedAt)
			if pr.Merged {
				o.MergeSHA = g.MergeCommitSHA
			}
			o.Review = ev.Action == "review_requested" || ev.Action == "ready_for_review" || (!pr.Draft && len(g.RequestedReviewers) > 0)
		}
	case ev.Source == workflows.SourceGitLab:
		if a := p.Attributes; a != nil {
			o.Version = millis(a.UpdatedAt)
			if pr.Merged {
				o.MergeSHA = a.MergeCommitSHA
			}
			if a.LastCommit != nil && a.LastCommit.Message != "" {
				o.Commits = []string{a.LastCommit.Message}
			}
		}
		o.Review = !pr.Draft && len(p.Reviewers) > 0
	case strings.HasPrefix(ev.Type, "pullrequest:"):
		if b := p.CloudPR; b != nil {
			o.Version = millis(b.UpdatedOn)
			if b.MergeCommit != nil && pr.Merged {
				o.MergeSHA = b.MergeCommit.Hash
			}
			o.Review = !pr.Draft && len(b.Reviewers) > 0
		}
	default: // Bitbucket Data Center pr:*
		if b := p.DCPR; b != nil {
			o.Version = b.UpdatedDate
			if b.Properties != nil && b.Properties.MergeCommit != nil && pr.Merged {
				o.MergeSHA = b.Properties.MergeCommit.ID
			}
			o.Review = !pr.Draft && (len(b.Reviewers) > 0 || ev.Type == "pr:reviewer:updated")
		}
	}
	return o, nil
}

// extra are the fields PullRequestOf does not read.
type extra struct {
	PullRequest *struct {
		UpdatedAt          string            `json:"updated_at"`
		MergeCommitSHA     string            `json:"merge_commit_sha"`
		RequestedReviewers []json.RawMessage `json:"requested_reviewers"`
	} `json:"pull_request"`
	Attributes *struct {
		UpdatedAt      string `json:"updated_at"`
		MergeCommitSHA string `json:"merge_commit_sha"`
		LastCommit     *struct {
			Message string `json:"message"`
		} `json:"last_commit"`
	} `json:"object_attributes"`
	Reviewers []json.RawMessage `json:"reviewers"`
	CloudPR   *struct {
		UpdatedOn   string `json:"updated_on"`
		MergeCommit *struct {
			Hash string `json:"hash"`
		} `json:"merge_commit"`
		Reviewers []json.RawMessage `json:"reviewers"`
	} `json:"pullrequest"`
	DCPR *struct {
		UpdatedDate int64             `json:"updatedDate"`
		Reviewers   []json.RawMessage `json:"reviewers"`
		Properties  *struct {
			MergeCommit *struct {
				ID string `json:"id"`
			} `json:"mergeCommit"`
		} `json:"properties"`
	} `json:"pullRequest"`
}

// ProjectedPaths are the payload paths Observe reads, for payloads held by
// reference (over 256 KiB): the projection activity returns only these,
// and Rebuild puts them back into the shape Observe decodes.
var ProjectedPaths = map[string][]string{
	workflows.SourceGitHub: {
		"action", "number", "repository.name", "repository.full_name", "repository.html_url", "repository.owner.login",
		"pull_request.number", "pull_request.title", "pull_request.state", "pull_request.merged", "pull_request.merged_at",
		"pull_request.draft", "pull_request.html_url", "pull_request.user.login", "pull_request.head.ref", "pull_request.head.sha",
		"pull_request.base.ref", "pull_request.updated_at", "pull_request.merge_commit_sha", "pull_request.requested_reviewers",
	},
	workflows.SourceGitLab: {
		"user.id", "user.username", "project.path_with_namespace", "project.web_url", "reviewers",
		"object_attributes.iid", "object_attributes.title", "object_attributes.state", "object_attributes.source_branch",
		"object_attributes.target_branch", "object_attributes.url", "object_attributes.author_id", "object_attributes.draft",
		"object_attributes.work_in_progress", "object_attributes.updated_at", "object_attributes.merge_commit_sha",
		"object_attributes.last_commit.id", "object_attributes.last_commit.message", "object_attributes.action",
	},
	workflows.SourceBitbucket: {
		"repository.full_name", "repository.slug", "repository.project.key", "repository.links",
		"pullrequest.id", "pullrequest.title", "pullrequest.state", "pullrequest.draft", "pullrequest.author",
		"pullrequest.source.branch.name", "pullrequest.source.commit.hash", "pullrequest.destination.branch.name",
		"pullrequest.destination.repository.full_name", "pullrequest.links.html", "pullrequest.updated_on",
		"pullrequest.merge_commit", "pullrequest.reviewers",
		"pullRequest.id", "pullRequest.title", "pullRequest.state", "pullRequest.draft", "pullRequest.author.user.name",
		"pullRequest.author.user.slug", "pullRequest.fromRef.displayId", "pullRequest.fromRef.latestCommit",
		"pullRequest.toRef.displayId", "pullRequest.toRef.repository.slug", "pullRequest.toRef.repository.project.key",
		"pullRequest.toRef.repository.links", "pullRequest.links", "pullRequest.updatedDate", "pullRequest.reviewers",
		"pullRequest.properties.mergeCommit",
	},
}

// Rebuild turns a projection back into a JSON document with the same
// shape as the payload it was taken from (object paths only).
func Rebuild(values map[string]json.RawMessage) []byte {
	root := map[string]any{}
	paths := make([]string, 0, len(values))
	for p := range values {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		segs := strings.Split(p, ".")
		m := root
		for _, s := range segs[:len(segs)-1] {
			next, ok := m[s].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[s] = next
			}
			m = next
		}
		m[segs[len(segs)-1]] = values[p]
	}
	b, _ := json.Marshal(root) // maps of raw JSON always marshal
	return b
}

// millis reads the times the senders write: RFC 3339 (GitHub, Bitbucket
// Cloud, GitLab webhooks) or GitLab's older "2006-01-02 15:04:05 UTC".
// Anything else is 0.
func millis(s string) int64 {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05 MST", "2006-01-02 15:04:05 -0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli()
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	return 0
}
