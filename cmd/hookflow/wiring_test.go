package main

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	jiraact "github.com/hookflow/hookflow/activities/jira"
	snact "github.com/hookflow/hookflow/activities/servicenow"
	splunkact "github.com/hookflow/hookflow/activities/splunk"
	"github.com/hookflow/hookflow/connectors/tokens"
)

// names records what is registered. Registration goes through the
// WithOptions methods only; any other would panic on the nil Registry.
type names struct {
	worker.Registry
	activities map[string]bool
}

func (n *names) RegisterActivityWithOptions(_ any, o activity.RegisterOptions) {
	n.activities[o.Name] = true
}
func (n *names) RegisterWorkflowWithOptions(any, workflow.RegisterOptions) {}

// The Jira, ServiceNow and Splunk activities are registered exactly when
// their site is configured.
func TestRegisterAllWiresConfiguredSystems(t *testing.T) {
	t.Parallel()
	for _, configured := range []bool{false, true} {
		cfg := workerConfig{TaskQueue: "q", Tokens: tokens.Static{}}
		if configured {
			cfg.JiraURL, cfg.ServiceNowURL, cfg.SplunkHECURL = "https://jira.example.com/", "https://dev.service-now.com/", "https://splunk.example.com:8088/"
		}
		reg := &names{activities: map[string]bool{}}
		require.NoError(t, registerAll(reg, cfg))
		require.True(t, reg.activities["github.CreateComment"])
		require.True(t, reg.activities["httpfunc.Call"])
		for _, name := range []string{jiraact.GetIssue, jiraact.TransitionIssue, snact.CreateChangeRequest, snact.AddWorkNote, splunkact.SendEvents} {
			require.Equal(t, configured, reg.activities[name], name)
		}
	}
	require.Error(t, registerAll(&names{activities: map[string]bool{}}, workerConfig{JiraURL: "::not a url", Tokens: tokens.Static{}}))
}
