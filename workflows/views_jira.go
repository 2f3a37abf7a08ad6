package workflows

import (
	"strings"
)

// JiraIssue is a Jira Cloud or Jira Data Center issue as an issue or
// comment event describes it.
type JiraIssue struct {
	// Site is the KeyHost of the Jira site ("acme.atlassian.net").
	Site string `json:"site"`
	// BaseURL is the site's URL, with its context path on Data Center
	// ("https://jira.corp.example/jira").
	BaseURL string `json:"base_url"`
	ID      string `json:"id"`
	// Key is the issue key ("PROJ-123"); Project its project's key.
	Key     string `json:"key"`
	Project string `json:"project"`
	Summary string `json:"summary"`
	// Type is the issue type's name ("Bug", "Story").
	Type string `json:"type"`
	// Status is the status's name ("In Progress"); StatusCategory its
	// category's key: "new", "indeterminate" or "done".
	Status         string `json:"status"`
	StatusCategory string `json:"status_category"`
	// Resolution is the resolution's name, "" while unresolved.
	Resolution string `json:"resolution,omitempty"`
	// Transition is the status change the event reports, nil when the
	// event changed no status.
	Transition *JiraTransition `json:"transition,omitempty"`
	// URL is the issue's web page: BaseURL/browse/Key.
	URL string `json:"url"`
}

// JiraTransition is a change of an issue's status.
type JiraTransition struct {
	// From and To are the statuses' names, FromID and ToID their IDs. An
	// issue created in a status has no From.
	From   string `json:"from"`
	To     string `json:"to"`
	FromID string `json:"from_id,omitempty"`
	ToID   string `json:"to_id,omitempty"`
	// ID and Name are the workflow transition's, when the event names it:
	// webhooks fired by a workflow post function carry a transition object;
	// issue_updated events carry only the changelog.
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// JiraIssueOf reads the issue of a Jira payload: jira:issue_created,
// jira:issue_updated and jira:issue_deleted events, and comment events that
// carry their issue (Jira Cloud's do; Jira Data Center's comment_created,
// comment_updated and comment_deleted carry only the comment, and are an
// error). Any other event is ErrNotThisView.
func JiraIssueOf(source, eventType string, payload []byte) (JiraIssue, error) {
	if source != SourceJira || !(strings.HasPrefix(eventType, "jira:issue_") || strings.HasPrefix(eventType, "comment_")) {
		return JiraIssue{}, notThisView("jira issue", source, eventType)
	}
	type named struct {
		ID   id     `json:"id"`
		Name string `json:"name"`
		Key  string `json:"key"`
	}
	var p struct {
		Issue *struct {
			ID     id     `json:"id"`
			Key    string `json:"key"`
			Self   string `json:"self"`
			Fields *struct {
				Summary   string `json:"summary"`
				IssueType *named `json:"issuetype"`
				Project   *named `json:"project"`
				Status    *struct {
					named
					Category *named `json:"statusCategory"`
				} `json:"status"`
				Resolution *named `json:"resolution"`
			} `json:"fields"`
		} `json:"issue"`
		Changelog *struct {
			Items []struct {
				Field      string `json:"field"`
				FieldID    string `json:"fieldId"`
				From       text   `json:"from"`
				FromString text   `json:"fromString"`
				To         text   `json:"to"`
				ToString   text   `json:"toString"`
			} `json:"items"`
		} `json:"changelog"`
		Transition *struct {
			ID         id     `json:"transitionId"`
			Name       string `json:"transitionName"`
			FromStatus string `json:"from_status"`
			ToStatus   string `json:"to_status"`
		} `json:"transition"`
	}
	if err := decode("jira issue", payload, &p); err != nil {
		return JiraIssue{}, err
	}
	is := p.Issue
	if is == nil || is.Key == "" {
		return JiraIssue{}, errorf("jira issue", "jira %s payload has no issue", eventType)
	}
	out := JiraIssue{ID: string(is.ID), Key: is.Key, Site: HostOfURL(is.Self)}
	if base, _, ok := strings.Cut(is.Self, "/rest/"); ok && out.Site != "" {
		out.BaseURL = base
		out.URL = base + "/browse/" + is.Key
	}
	if f := is.Fields; f != nil {
		out.Summary = f.Summary
		if f.IssueType != nil {
			out.Type = f.IssueType.Name
		}
		if f.Project != nil {
			out.Project = f.Project.Key
		}
		if s := f.Status; s != nil {
			out.Status = s.Name
			if s.Category != nil {
				out.StatusCategory = s.Category.Key
			}
		}
		if f.Resolution != nil {
			out.Resolution = f.Resolution.Name
		}
	}
	if out.Project == "" {
		out.Project, _, _ = strings.Cut(is.Key, "-")
	}
	if p.Changelog != nil {
		for _, item := range p.Changelog.Items {
			if item.FieldID == "status" || (item.FieldID == "" && item.Field == "status") {
				out.Transition = &JiraTransition{
					From: string(item.FromString), To: string(item.ToString),
					FromID: string(item.From), ToID: string(item.To),
				}
			}
		}
	}
	if t := p.Transition; t != nil {
		if out.Transition == nil {
			out.Transition = &JiraTransition{From: t.FromStatus, To: t.ToStatus}
		}
		out.Transition.ID, out.Transition.Name = string(t.ID), t.Name
	}
	return out, nil
}

// JiraIssueOfEvent is JiraIssueOf over ev's payload.
func JiraIssueOfEvent(ev Event) (JiraIssue, error) {
	is, err := JiraIssueOf(ev.Source, ev.Type, ev.Payload)
	if err != nil {
		return JiraIssue{}, err
	}
	if is.Site == "" {
		is.Site = ev.Key(KeyHost)
	}
	return is, nil
}
