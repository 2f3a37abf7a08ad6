package jira

import (
	"context"

	"github.com/hookflow/hookflow/activities/classify"
	jiraconn "github.com/hookflow/hookflow/connectors/jira"
	"github.com/hookflow/hookflow/connectors/tokens"
)

// Activity names of the Development Information API (Jira Cloud).
const (
	// UploadDevInfo upserts repositories' commits, branches and pull
	// requests; older update sequence IDs never overwrite newer ones.
	UploadDevInfo = "jira.UploadDevInfo"
	// DeleteDevBranch deletes a branch from a repository's dev info.
	DeleteDevBranch = "jira.DeleteDevBranch"
)

// DevInfoSystem is the token store's system for the OAuth credentials
// ("client_id:client_secret") of the Development Information API.
const DevInfoSystem = jiraconn.DevInfoSystem

// UploadDevInfoInput is the input of UploadDevInfo.
type UploadDevInfoInput struct {
	// Installation names the Jira site; it selects the OAuth credential
	// (tokens key {System: "jira-devinfo", Installation}).
	Installation string
	Repositories []DevRepository
}

// DevRepository is one repository's development information.
type DevRepository struct {
	ID   string
	Name string
	URL  string
	// UpdateSequenceID only grows (the event's time in ms).
	UpdateSequenceID int64
	Commits          []DevCommit
	Branches         []DevBranch
	PullRequests     []DevPullRequest
}

// DevCommit is a commit.
type DevCommit struct {
	ID, Hash, DisplayID, Message, URL string
	IssueKeys                         []string
	UpdateSequenceID                  int64
	AuthorName, AuthorEmail           string
	FileCount                         int
	// AuthorTimestamp is RFC 3339.
	AuthorTimestamp string
}

// DevBranch is a branch.
type DevBranch struct {
	ID, Name, URL    string
	IssueKeys        []string
	UpdateSequenceID int64
	LastCommit       DevCommit
}

// DevPullRequest is a pull request; Status is OPEN, MERGED, DECLINED or
// UNKNOWN.
type DevPullRequest struct {
	ID, Status, Title, URL, DisplayID string
	IssueKeys                         []string
	UpdateSequenceID                  int64
	AuthorName                        string
	CommentCount                      int
	SourceBranch, DestinationBranch   string
	// LastUpdate is RFC 3339.
	LastUpdate string
}

func (c DevCommit) connector() jiraconn.DevCommit {
	return jiraconn.DevCommit{ID: c.ID, IssueKeys: c.IssueKeys, UpdateSequenceID: c.UpdateSequenceID, Hash: c.Hash, DisplayID: c.DisplayID,
		Message: c.Message, Author: jiraconn.DevAuthor{Name: c.AuthorName, Email: c.AuthorEmail}, FileCount: c.FileCount, URL: c.URL,
		AuthorTimestamp: c.AuthorTimestamp}
}

func (r DevRepository) connector() jiraconn.DevRepository {
	out := jiraconn.DevRepository{ID: r.ID, Name: r.Name, URL: r.URL, UpdateSequenceID: r.UpdateSequenceID}
	for _, c := range r.Commits {
		out.Commits = append(out.Commits, c.connector())
	}
	for _, b := range r.Branches {
		out.Branches = append(out.Branches, jiraconn.DevBranch{ID: b.ID, IssueKeys: b.IssueKeys, UpdateSequenceID: b.UpdateSequenceID,
			Name: b.Name, URL: b.URL, LastCommit: b.LastCommit.connector()})
	}
	for _, p := range r.PullRequests {
		out.PullRequests = append(out.PullRequests, jiraconn.DevPullRequest{ID: p.ID, IssueKeys: p.IssueKeys, UpdateSequenceID: p.UpdateSequenceID,
			Status: p.Status, Title: p.Title, Author: jiraconn.DevAuthor{Name: p.AuthorName}, CommentCount: p.CommentCount,
			SourceBranch: p.SourceBranch, DestinationBranch: p.DestinationBranch, LastUpdate: p.LastUpdate, URL: p.URL, DisplayID: p.DisplayID})
	}
	return out
}

// UploadDevInfoOutput is the result of UploadDevInfo.
type UploadDevInfoOutput struct {
	Accepted         int
	Failed           []string
	UnknownIssueKeys []string
}

// UploadDevInfo uploads the repositories' development information.
func (a *Activities) UploadDevInfo(ctx context.Context, in UploadDevInfoInput) (UploadDevInfoOutput, error) {
	if a.DevInfo == nil {
		return UploadDevInfoOutput{}, classify.Final(classify.TypeValidation, "jira.UploadDevInfo: the Development Information API is not configured")
	}
	if len(in.Repositories) == 0 {
		return UploadDevInfoOutput{}, classify.Final(classify.TypeValidation, "jira.UploadDevInfo: no repository")
	}
	cred, err := classify.Credential(ctx, a.Tokens, tokens.Key{System: DevInfoSystem, Installation: in.Installation}, "OAuth credential for site")
	if err != nil {
		return UploadDevInfoOutput{}, err
	}
	repos := make([]jiraconn.DevRepository, len(in.Repositories))
	for i, r := range in.Repositories {
		repos[i] = r.connector()
	}
	res, err := a.DevInfo.UploadDevInfo(ctx, cred, repos)
	if err != nil {
		return UploadDevInfoOutput{}, classify.Error(err)
	}
	return UploadDevInfoOutput{Accepted: res.Accepted, Failed: res.Failed, UnknownIssueKeys: res.UnknownIssueKeys}, nil
}

// DeleteDevBranchInput is the input of DeleteDevBranch.
type DeleteDevBranchInput struct {
	Installation     string
	RepositoryID     string
	BranchID         string
	UpdateSequenceID int64
}

// DeleteDevBranchOutput is the result of DeleteDevBranch.
type DeleteDevBranchOutput struct{}

// DeleteDevBranch deletes a branch from Jira's dev info (a branch Jira
// does not hold is success).
func (a *Activities) DeleteDevBranch(ctx context.Context, in DeleteDevBranchInput) (DeleteDevBranchOutput, error) {
	if a.DevInfo == nil {
		return DeleteDevBranchOutput{}, classify.Final(classify.TypeValidation, "jira.DeleteDevBranch: the Development Information API is not configured")
	}
	if in.RepositoryID == "" || in.BranchID == "" {
		return DeleteDevBranchOutput{}, classify.Final(classify.TypeValidation, "jira.DeleteDevBranch: repository and branch IDs are required")
	}
	cred, err := classify.Credential(ctx, a.Tokens, tokens.Key{System: DevInfoSystem, Installation: in.Installation}, "OAuth credential for site")
	if err != nil {
		return DeleteDevBranchOutput{}, err
	}
	if err := a.DevInfo.DeleteDevBranch(ctx, cred, in.RepositoryID, in.BranchID, in.UpdateSequenceID); err != nil {
		return DeleteDevBranchOutput{}, classify.Error(err)
	}
	return DeleteDevBranchOutput{}, nil
}
