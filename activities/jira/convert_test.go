package jira

import (
	"testing"

	"github.com/hookflow/hookflow/activities/activitytest"
	jiraconn "github.com/hookflow/hookflow/connectors/jira"
)

// The activity's own types are converted to and from the connector's
// field by field: a field the conversion forgets fails here.
func TestConversionsCarryEveryField(t *testing.T) {
	t.Parallel()
	var l RemoteLink
	activitytest.Fill(t, &l)
	activitytest.RequireNoZeroField(t, l.connector())

	var n NewIssue
	activitytest.Fill(t, &n)
	activitytest.RequireNoZeroField(t, n.connector())

	var is jiraconn.Issue
	activitytest.Fill(t, &is)
	activitytest.RequireNoZeroField(t, issueOf(is))
}
