// Package jira holds the Temporal activities that act on Jira Cloud and
// Jira Data Center through connectors/jira. Each activity fetches the
// site's credential when it runs (tokens key {System: "jira",
// Installation: site}) and classifies failures with activities/classify.
package jira

import (
	"context"
	"errors"
	"net/http"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"github.com/hookflow/hookflow/activities/classify"
	jiraconn "github.com/hookflow/hookflow/connectors/jira"
	"github.com/hookflow/hookflow/connectors/tokens"
)

// Activity names, as workflows call them.
const (
	// GetIssue reads an issue.
	GetIssue = "jira.GetIssue"
	// AddComment comments on an issue, at most once per marker.
	AddComment = "jira.AddComment"
	// TransitionIssue moves an issue through a transition named in the
	// Jira workflow.
	TransitionIssue = "jira.TransitionIssue"
	// AddRemoteLink links an issue to a URL (idempotent by global ID).
	AddRemoteLink = "jira.AddRemoteLink"
	// SetFields edits fields of an issue.
	SetFields = "jira.SetFields"
	// CreateIssue creates an issue.
	CreateIssue = "jira.CreateIssue"
	// TransitionToStatus moves an issue to a status through whichever
	// available transition leads there.
	TransitionToStatus = "jira.TransitionToStatus"
	// DeleteRemoteLink removes a remote link by global ID (idempotent).
	DeleteRemoteLink = "jira.DeleteRemoteLink"
	// UpsertComment keeps one comment per marker on an issue, edited in
	// place when its body changes.
	UpsertComment = "jira.UpsertComment"
)

// TypeTransitionNotFound is the error type of a TransitionIssue whose
// transition name the issue does not offer, and of a TransitionToStatus
// whose status no available transition leads to; non-retryable.
const TypeTransitionNotFound = "hookflow.jira.TransitionNotFoundError"

// Activities are the Jira activities; the fields are their dependencies.
type Activities struct {
	// Client is the site's REST API. Nil means the REST activities fail as
	// not configured (a Development Information API alone).
	Client *jiraconn.Client
	Tokens tokens.Store
	// DevInfo is the Jira Cloud Development Information API. Nil means
	// UploadDevInfo and DeleteDevBranch fail as not configured.
	DevInfo *jiraconn.DevInfo
}

// Register registers every Jira activity under its name.
func Register(r worker.ActivityRegistry, a *Activities) {
	for name, fn := range map[string]any{
		GetIssue:        a.GetIssue,
		AddComment:      a.AddComment,
		TransitionIssue: a.TransitionIssue,
		AddRemoteLink:   a.AddRemoteLink,
		SetFields:       a.SetFields,
		CreateIssue:     a.CreateIssue,

		TransitionToStatus: a.TransitionToStatus,
		DeleteRemoteLink:   a.DeleteRemoteLink,
		UpsertComment:      a.UpsertComment,
		UploadDevInfo:      a.UploadDevInfo,
		DeleteDevBranch:    a.DeleteDevBranch,
	} {
		r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name, DisableAlreadyRegisteredCheck: true})
	}
}

// GetIssueInput is the input of GetIssue.
type GetIssueInput struct {
	// Installation names the Jira site; it selects the credential.
	Installation string
	// Key is the issue key or ID.
	Key string
	// Fields limits what Jira returns (custom fields by ID). Nil means
	// Jira's navigable fields.
	Fields []string
}

// GetIssueOutput is the result of GetIssue.
type GetIssueOutput struct {
	Issue Issue
}

// Issue is an issue as GetIssue reads it. It is this package's own type,
// converted from the connector's, so that a connector change cannot change
// what workflow histories hold.
type Issue struct {
	ID  string
	Key string
	// Self is the issue's REST URL.
	Self        string
	Summary     string
	Description string
	Status      string
	// StatusCategory is "new", "indeterminate" or "done".
	StatusCategory string
	IssueType      string
	Project        string
	// Assignee is the account ID on Cloud, the user name on Data Center;
	// empty when unassigned.
	Assignee string
	Labels   []string
	// Custom holds the custom fields that were asked for, as Jira sent
	// them.
	Custom map[string]any
}

func issueOf(is jiraconn.Issue) Issue {
	return Issue{
		ID: is.ID, Key: is.Key, Self: is.Self, Summary: is.Summary, Description: is.Description, Status: is.Status,
		StatusCategory: is.StatusCategory, IssueType: is.IssueType, Project: is.Project, Assignee: is.Assignee,
		Labels: is.Labels, Custom: is.Custom,
	}
}

// GetIssue reads an issue.
func (a *Activities) GetIssue(ctx context.Context, in GetIssueInput) (GetIssueOutput, error) {
	if in.Key == "" {
		return GetIssueOutput{}, classify.Final(classify.TypeValidation, "jira.GetIssue: key is required")
	}
	cred, err := a.token(ctx, in.Installation)
	if err != nil {
		return GetIssueOutput{}, err
	}
	is, err := a.Client.GetIssue(ctx, cred, in.Key, in.Fields)
	if err != nil {
		return GetIssueOutput{}, classify.Error(err)
	}
	return GetIssueOutput{Issue: issueOf(is)}, nil
}

// AddCommentInput is the input of AddComment.
type AddCommentInput struct {
	Installation string
	Key          string
	// Body is Jira wiki markup.
	Body string
	// Marker makes the call idempotent: it is stored as an invisible
	// comment property, and a comment that already carries it is returned
	// instead of posting again. Derive it from the workflow and delivery
	// IDs. Required.
	Marker string
}

// AddCommentOutput is the result of AddComment.
type AddCommentOutput struct {
	CommentID string
	Self      string
	// Created is false when an earlier attempt had already posted it.
	Created bool
}

// AddComment posts in.Body on the issue, once per marker.
func (a *Activities) AddComment(ctx context.Context, in AddCommentInput) (AddCommentOutput, error) {
	if in.Key == "" || in.Body == "" || in.Marker == "" {
		return AddCommentOutput{}, classify.Final(classify.TypeValidation, "jira.AddComment: key, body and marker are required")
	}
	cred, err := a.token(ctx, in.Installation)
	if err != nil {
		return AddCommentOutput{}, err
	}
	cm, created, err := a.Client.AddComment(ctx, cred, in.Key, in.Body, in.Marker)
	if err != nil {
		return AddCommentOutput{}, classify.Error(err)
	}
	return AddCommentOutput{CommentID: cm.ID, Self: cm.Self, Created: created}, nil
}

// TransitionIssueInput is the input of TransitionIssue.
type TransitionIssueInput struct {
	Installation string
	Key          string
	// Transition is the transition's name as the Jira workflow shows it
	// ("Start Progress", "Done"); matched exactly, then ignoring case.
	Transition string
	// TargetStatus, when set, makes retries safe: if the issue is already
	// in this status the activity succeeds with Changed=false. Set it to
	// the status the transition leads to.
	TargetStatus string
	// Fields are set on the transition screen. Nil sets none.
	Fields map[string]any
	// Comment is added with the transition. Empty adds none.
	Comment string
}

// TransitionIssueOutput is the result of TransitionIssue.
type TransitionIssueOutput struct {
	TransitionID string
	// Status is the issue's status afterwards.
	Status  string
	Changed bool
}

// TransitionIssue performs the named transition. A name the issue does not
// offer fails with the non-retryable TypeTransitionNotFound, listing the
// names that are available.
func (a *Activities) TransitionIssue(ctx context.Context, in TransitionIssueInput) (TransitionIssueOutput, error) {
	if in.Key == "" || in.Transition == "" {
		return TransitionIssueOutput{}, classify.Final(classify.TypeValidation, "jira.TransitionIssue: key and transition are required")
	}
	cred, err := a.token(ctx, in.Installation)
	if err != nil {
		return TransitionIssueOutput{}, err
	}
	res, err := a.Client.TransitionIssue(ctx, cred, in.Key, in.Transition, jiraconn.TransitionOptions{
		Fields: in.Fields, Comment: in.Comment, TargetStatus: in.TargetStatus,
	})
	var tnf *jiraconn.TransitionNotFoundError
	if errors.As(err, &tnf) {
		return TransitionIssueOutput{}, classify.Final(TypeTransitionNotFound, tnf.Error())
	}
	if err != nil {
		return TransitionIssueOutput{}, classify.Error(err)
	}
	return TransitionIssueOutput{TransitionID: res.ID, Status: res.To, Changed: res.Changed}, nil
}

// AddRemoteLinkInput is the input of AddRemoteLink.
type AddRemoteLinkInput struct {
	Installation string
	Key          string
	// Link is the link to add; a link with the same GlobalID (default: the
	// URL) is updated rather than added twice.
	Link RemoteLink
}

// RemoteLink is a link from an issue to an object in another system (a
// pull request, a build, a change request).
type RemoteLink struct {
	// GlobalID identifies the linked object; Jira updates the existing link
	// with the same GlobalID instead of adding a second one, which makes
	// the call idempotent. Empty means the URL.
	GlobalID string
	URL      string
	Title    string
	Summary  string
	// Relationship is the link's label ("mentioned in", "deployed by").
	// Empty means Jira's default, "links to".
	Relationship string
	// IconURL is a 16×16 icon. Empty means none.
	IconURL string
	// Resolved strikes the link through (a merged PR, a closed change).
	Resolved bool
}

func (l RemoteLink) connector() jiraconn.RemoteLink {
	return jiraconn.RemoteLink{
		GlobalID: l.GlobalID, URL: l.URL, Title: l.Title, Summary: l.Summary,
		Relationship: l.Relationship, IconURL: l.IconURL, Resolved: l.Resolved,
	}
}

// AddRemoteLinkOutput is the result of AddRemoteLink.
type AddRemoteLinkOutput struct {
	LinkID int
	Self   string
}

// AddRemoteLink creates or updates a remote link on the issue.
func (a *Activities) AddRemoteLink(ctx context.Context, in AddRemoteLinkInput) (AddRemoteLinkOutput, error) {
	if in.Key == "" || in.Link.URL == "" || in.Link.Title == "" {
		return AddRemoteLinkOutput{}, classify.Final(classify.TypeValidation, "jira.AddRemoteLink: key, link URL and title are required")
	}
	cred, err := a.token(ctx, in.Installation)
	if err != nil {
		return AddRemoteLinkOutput{}, err
	}
	res, err := a.Client.AddRemoteLink(ctx, cred, in.Key, in.Link.connector())
	if err != nil {
		return AddRemoteLinkOutput{}, classify.Error(err)
	}
	return AddRemoteLinkOutput{LinkID: res.ID, Self: res.Self}, nil
}

// SetFieldsInput is the input of SetFields.
type SetFieldsInput struct {
	Installation string
	Key          string
	// Fields are set outright, by field ID: {"summary": "x",
	// "customfield_10010": 3}.
	Fields map[string]any
	// Update holds Jira's edit operations: {"labels": [{"add": "x"}]}.
	// Prefer "set" operations and Fields: "add" to a list repeats on retry
	// only where the list allows duplicates.
	Update map[string]any
}

// SetFieldsOutput is the result of SetFields.
type SetFieldsOutput struct{}

// SetFields edits the issue.
func (a *Activities) SetFields(ctx context.Context, in SetFieldsInput) (SetFieldsOutput, error) {
	if in.Key == "" || (len(in.Fields) == 0 && len(in.Update) == 0) {
		return SetFieldsOutput{}, classify.Final(classify.TypeValidation, "jira.SetFields: key and fields or update are required")
	}
	cred, err := a.token(ctx, in.Installation)
	if err != nil {
		return SetFieldsOutput{}, err
	}
	if err := a.Client.SetFields(ctx, cred, in.Key, in.Fields, in.Update); err != nil {
		return SetFieldsOutput{}, classify.Error(err)
	}
	return SetFieldsOutput{}, nil
}

// CreateIssueInput is the input of CreateIssue.
type CreateIssueInput struct {
	Installation string
	Issue        NewIssue
}

// NewIssue is an issue to create.
type NewIssue struct {
	// Project is the project key.
	Project string
	// IssueType is the issue type's name ("Task", "Bug").
	IssueType   string
	Summary     string
	Description string
	Labels      []string
	// Fields are further fields, by ID ("customfield_10010", "priority").
	Fields map[string]any
}

func (n NewIssue) connector() jiraconn.NewIssue {
	return jiraconn.NewIssue{
		Project: n.Project, IssueType: n.IssueType, Summary: n.Summary, Description: n.Description, Labels: n.Labels, Fields: n.Fields,
	}
}

// CreateIssueOutput is the result of CreateIssue.
type CreateIssueOutput struct {
	ID   string
	Key  string
	Self string
}

// CreateIssue creates an issue. Jira offers no idempotency key: when the
// answer to a create is lost (timeout, 5xx after commit) a retry creates a
// second issue. Workflows that cannot tolerate that should call it with
// MaximumAttempts 1 and reconcile on failure.
func (a *Activities) CreateIssue(ctx context.Context, in CreateIssueInput) (CreateIssueOutput, error) {
	if in.Issue.Project == "" || in.Issue.IssueType == "" || in.Issue.Summary == "" {
		return CreateIssueOutput{}, classify.Final(classify.TypeValidation, "jira.CreateIssue: project, issue type and summary are required")
	}
	cred, err := a.token(ctx, in.Installation)
	if err != nil {
		return CreateIssueOutput{}, err
	}
	res, err := a.Client.CreateIssue(ctx, cred, in.Issue.connector())
	if err != nil {
		return CreateIssueOutput{}, classify.Error(err)
	}
	return CreateIssueOutput{ID: res.ID, Key: res.Key, Self: res.Self}, nil
}

// TransitionToStatusInput is the input of TransitionToStatus.
type TransitionToStatusInput struct {
	Installation string
	Key          string
	// Status is the status to reach ("In Review", "Done"), matched against
	// the statuses the issue's transitions lead to: exactly, then ignoring
	// case.
	Status string
	// Comment is added with the transition. Empty adds none.
	Comment string
}

// TransitionToStatusOutput is the result of TransitionToStatus.
type TransitionToStatusOutput struct {
	// TransitionID is the transition performed; empty when the issue was
	// already in Status.
	TransitionID string
	// Status is the issue's status afterwards.
	Status string
	// Changed is false when the issue was already in Status.
	Changed bool
}

// TransitionToStatus moves the issue to in.Status. An issue already there
// succeeds with Changed=false (so a retry is safe); a status no available
// transition leads to fails with the non-retryable TypeTransitionNotFound,
// naming what is available.
func (a *Activities) TransitionToStatus(ctx context.Context, in TransitionToStatusInput) (TransitionToStatusOutput, error) {
	if in.Key == "" || in.Status == "" {
		return TransitionToStatusOutput{}, classify.Final(classify.TypeValidation, "jira.TransitionToStatus: key and status are required")
	}
	cred, err := a.token(ctx, in.Installation)
	if err != nil {
		return TransitionToStatusOutput{}, err
	}
	res, err := a.Client.TransitionToStatus(ctx, cred, in.Key, in.Status, jiraconn.TransitionOptions{Comment: in.Comment})
	var tnf *jiraconn.TransitionNotFoundError
	if errors.As(err, &tnf) {
		return TransitionToStatusOutput{}, classify.Final(TypeTransitionNotFound, tnf.Error())
	}
	if err != nil {
		return TransitionToStatusOutput{}, classify.Error(err)
	}
	return TransitionToStatusOutput{TransitionID: res.ID, Status: res.To, Changed: res.Changed}, nil
}

// DeleteRemoteLinkInput is the input of DeleteRemoteLink.
type DeleteRemoteLinkInput struct {
	Installation string
	Key          string
	// GlobalID is the link's global ID, as AddRemoteLink set it. Required.
	GlobalID string
}

// DeleteRemoteLinkOutput is the result of DeleteRemoteLink.
type DeleteRemoteLinkOutput struct{}

// DeleteRemoteLink removes the issue's remote link with in.GlobalID; a
// link that is not there is success.
func (a *Activities) DeleteRemoteLink(ctx context.Context, in DeleteRemoteLinkInput) (DeleteRemoteLinkOutput, error) {
	if in.Key == "" || in.GlobalID == "" {
		return DeleteRemoteLinkOutput{}, classify.Final(classify.TypeValidation, "jira.DeleteRemoteLink: key and global ID are required")
	}
	cred, err := a.token(ctx, in.Installation)
	if err != nil {
		return DeleteRemoteLinkOutput{}, err
	}
	if err := a.Client.DeleteRemoteLink(ctx, cred, in.Key, in.GlobalID); err != nil {
		return DeleteRemoteLinkOutput{}, classify.Error(err)
	}
	return DeleteRemoteLinkOutput{}, nil
}

// UpsertCommentInput is the input of UpsertComment.
type UpsertCommentInput struct {
	Installation string
	Key          string
	// Body is Jira wiki markup.
	Body string
	// Marker names the one comment this call keeps: stored as an
	// invisible comment property. Required.
	Marker string
}

// UpsertCommentOutput is the result of UpsertComment.
type UpsertCommentOutput struct {
	CommentID string
	// Result is "created", "updated" or "unchanged".
	Result string
}

// UpsertComment posts in.Body on the issue, or edits the comment carrying
// in.Marker when its body differs: one comment, kept up to date, never a
// second one (a retry finds the first).
func (a *Activities) UpsertComment(ctx context.Context, in UpsertCommentInput) (UpsertCommentOutput, error) {
	if in.Key == "" || in.Body == "" || in.Marker == "" {
		return UpsertCommentOutput{}, classify.Final(classify.TypeValidation, "jira.UpsertComment: key, body and marker are required")
	}
	cred, err := a.token(ctx, in.Installation)
	if err != nil {
		return UpsertCommentOutput{}, err
	}
	cm, did, err := a.Client.UpsertComment(ctx, cred, in.Key, in.Body, in.Marker)
	if err != nil {
		return UpsertCommentOutput{}, classify.Error(err)
	}
	return UpsertCommentOutput{CommentID: cm.ID, Result: did}, nil
}

func (a *Activities) token(ctx context.Context, installation string) (string, error) {
	if a.Client == nil {
		return "", classify.Final(classify.TypeValidation, "jira: no Jira site is configured (connectors.jira.url)")
	}
	return classify.Credential(ctx, a.Tokens, tokens.Key{System: jiraconn.System, Installation: installation}, "credential for site")
}

// Options configure New: the Jira site and the Development Information
// API, from the worker's configuration (or a test's fakes).
type Options struct {
	// SiteURL is the Jira Cloud or Data Center site root. Empty means no
	// REST client: the REST activities fail as not configured.
	SiteURL string
	// Email is the Jira Cloud account for basic auth with the stored API
	// token. Empty means the stored credential decides.
	Email string
	// DevInfoAPIURL is the root the Development Information API is served
	// under. Empty means https://api.atlassian.com/.
	DevInfoAPIURL string
	// DevInfoTokenURL is the OAuth 2.0 token endpoint. Empty means
	// https://api.atlassian.com/oauth/token.
	DevInfoTokenURL string
	// CloudID is the site's cloud ID. Empty means it is read from
	// SiteURL's /_edge/tenant_info when first needed.
	CloudID string
	// HTTPClient carries every call. Nil means a client with a 30 s
	// timeout.
	HTTPClient *http.Client
	// Tokens is where credentials are fetched, on each call.
	Tokens tokens.Store
	// Credentials, when Tokens is nil, are fixed credentials by system
	// ("jira", "jira-devinfo") for every site: for tests, which reach
	// the activities without a token store.
	Credentials map[string]string
}

// New builds the activities over connectors for o. It does no I/O. The
// Development Information API is set up when a cloud ID or a site is
// given (it is only called for Jira Cloud sites).
func New(o Options) (*Activities, error) {
	a := &Activities{Tokens: o.Tokens}
	if a.Tokens == nil {
		a.Tokens = tokens.Static(o.Credentials)
	}
	if o.SiteURL != "" {
		c, err := jiraconn.New(jiraconn.Options{BaseURL: o.SiteURL, Email: o.Email, HTTPClient: o.HTTPClient})
		if err != nil {
			return nil, err
		}
		a.Client = c
	}
	if o.SiteURL != "" || o.CloudID != "" {
		d, err := jiraconn.NewDevInfo(jiraconn.DevInfoOptions{APIURL: o.DevInfoAPIURL, TokenURL: o.DevInfoTokenURL, CloudID: o.CloudID,
			SiteURL: o.SiteURL, HTTPClient: o.HTTPClient})
		if err != nil {
			return nil, err
		}
		a.DevInfo = d
	}
	return a, nil
}
