package main

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	bsact "github.com/hookflow/hookflow/activities/backstage"
	jiraact "github.com/hookflow/hookflow/activities/jira"
	snact "github.com/hookflow/hookflow/activities/servicenow"
	splunkact "github.com/hookflow/hookflow/activities/splunk"
	"github.com/hookflow/hookflow/blueprints/catalog"
	"github.com/hookflow/hookflow/blueprints/dora"
	"github.com/hookflow/hookflow/blueprints/prcomment"
	"github.com/hookflow/hookflow/blueprints/relay"
	"github.com/hookflow/hookflow/connectors/tokens"
	"github.com/hookflow/hookflow/internal/config"
	"github.com/hookflow/hookflow/workflows"
)

// names records what is registered. Registration goes through the
// WithOptions methods only; any other would panic on the nil Registry.
type names struct {
	worker.Registry
	activities map[string]bool
	workflows  map[string]bool
}

func (n *names) RegisterActivityWithOptions(_ any, o activity.RegisterOptions) {
	n.activities[o.Name] = true
}
func (n *names) RegisterWorkflowWithOptions(_ any, o workflow.RegisterOptions) {
	if n.workflows != nil {
		n.workflows[o.Name] = true
	}
}

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

// The worker registers the workflows of the enabled blueprints, and only those.
func TestRegisterAllRegistersEnabledBlueprints(t *testing.T) {
	t.Parallel()
	cfg := workerConfig{TaskQueue: "q", Tokens: tokens.Static{}}
	off, err := resolveBlueprints(&cfg, config.Default())
	require.NoError(t, err)
	reg := &names{activities: map[string]bool{}, workflows: map[string]bool{}}
	require.NoError(t, registerAll(reg, cfg))
	require.Equal(t, map[string]bool{prcomment.WorkflowName: true, dora.WorkflowName: true}, reg.workflows, "prjira, relay, catalog, changegate and devinfo are off without --jira-url, --relay-url, --backstage-url and ServiceNow and Splunk")
	require.Len(t, off, 5)
	require.False(t, reg.activities[bsact.RefreshEntity])
	// An event only relay would take is not routed (the ingress answers
	// "ignored"): it is never forwarded to a workflow nothing polls.
	relayEvent := workflows.Event{DeliveryID: "d", Source: "generic", Type: "build", Integration: "int_1", Keys: map[string]string{relay.EntityKey: "e"}}
	require.Empty(t, router("q", cfg.Blueprints, nil).Routes(relayEvent))

	cfg = workerConfig{TaskQueue: "q", Tokens: tokens.Static{}, RelayURL: "http://127.0.0.1:9/", BackstageURL: "https://backstage.example.com"}
	_, err = resolveBlueprints(&cfg, config.Default())
	require.NoError(t, err)
	reg = &names{activities: map[string]bool{}, workflows: map[string]bool{}}
	require.NoError(t, registerAll(reg, cfg))
	require.Equal(t, map[string]bool{prcomment.WorkflowName: true, relay.WorkflowName: true, catalog.WorkflowName: true, dora.WorkflowName: true}, reg.workflows)
	require.True(t, reg.activities[bsact.RegisterLocation])
	require.True(t, reg.activities[bsact.RefreshEntity])
	// And the router routes to exactly those.
	rt := router("q", cfg.Blueprints, nil)
	require.Len(t, rt.Subscriptions(), 6, "prcomment, relay, catalog, dora: batches, GitHub and GitLab deployments")
	require.Equal(t, "q", rt.Subscriptions()[0].TaskQueue)
	require.Len(t, rt.Routes(relayEvent), 1)
}
