package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

func TestEntityName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{"github.com pull request", Event{Source: "github", Keys: map[string]string{"repo": "acme/api", "pr": "42"}}, "acme/api#42"},
		{"GHES pull request", Event{Source: "github", Keys: map[string]string{"repo": "acme/api", "pr": "42"}, Meta: map[string]string{"x-github-enterprise-host": "ghe.acme.io"}}, "ghe.acme.io/acme/api#42"},
		{"github.com issue", Event{Source: "github", Keys: map[string]string{"repo": "acme/api", "issue": "7"}}, "acme/api#7"},
		{"github.com push", Event{Source: "github", Keys: map[string]string{"repo": "acme/api", "ref": "refs/heads/main"}}, "acme/api"},
		{"gitlab merge request", Event{Source: "gitlab", Keys: map[string]string{"project": "grp/app", "mr": "3"}, Meta: map[string]string{"x-gitlab-instance": "https://gitlab.acme.io"}}, "gitlab.acme.io/grp/app#3"},
		{"jira issue", Event{Source: "jira", Keys: map[string]string{"issue": "PROJ-123", "project": "PROJ"}}, "PROJ-123"},
		{"servicenow change", Event{Source: "servicenow", Keys: map[string]string{"table": "change_request", "number": "CHG0031234", "sys_id": "abc"}}, "CHG0031234"},
		{"generic entity", Event{Source: "generic", Keys: map[string]string{"entity": "build-9"}}, "build-9"},
		{"nothing to name", Event{Source: "github"}, ""},
		{"the new key names (issue 10 item 3)", Event{Source: "github", Keys: map[string]string{"host": "ghe.acme.io", "repo_path": "acme/api", "pull_request": "42"}}, "ghe.acme.io/acme/api#42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, EntityName(tt.ev))
		})
	}
}

// attrsWorkflow applies events until "stop" and returns, for each one, the
// search attributes it saw while applying it.
func attrsWorkflow(ctx workflow.Context) ([]map[string]string, error) {
	var seen []map[string]string
	e := NewEntity(EntityState{})
	err := e.Run(ctx, func(ctx workflow.Context, ev Event) (bool, error) {
		sa := workflow.GetTypedSearchAttributes(ctx)
		m := map[string]string{}
		for _, k := range SearchAttributes() {
			if v, ok := sa.GetKeyword(k); ok {
				m[k.GetName()] = v
			}
		}
		seen = append(seen, m)
		return ev.Type == "stop", nil
	}, func(EntityState) error { return nil })
	return seen, err
}

func TestEntityUpsertsSearchAttributes(t *testing.T) {
	t.Parallel()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(attrsWorkflow, workflow.RegisterOptions{Name: "attrs"})
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "prjira/github.com/acme/api/pr/42"})
	pr := func(id, typ string) Event {
		return Event{DeliveryID: id, Source: "github", Type: typ, Integration: "int_gh", Keys: map[string]string{"repo": "acme/api", "pr": "42"}}
	}
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalEvents, Batch{Events: []Event{pr("d1", "x"), pr("d1", "x"), pr("d2", "stop")}})
	}, time.Second)
	env.ExecuteWorkflow("attrs")
	require.NoError(t, env.GetWorkflowError())
	var seen []map[string]string
	require.NoError(t, env.GetWorkflowResult(&seen))
	want := map[string]string{"HookflowBlueprint": "prjira", "HookflowSource": "github", "HookflowEntity": "acme/api#42",
		"HookflowIntegration": "int_gh", "HookflowLastDelivery": "d1"}
	require.Len(t, seen, 2)
	require.Equal(t, want, seen[0])
	want["HookflowLastDelivery"] = "d2"
	require.Equal(t, want, seen[1], "the redelivery of d1 is dropped; d2 moves the last delivery")
}

func TestEntityID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ev   Event
		want string
	}{
		{Event{Source: "github", Keys: map[string]string{"repo": "acme/api", "pr": "42"}}, "bp/github.com/acme/api/pr/42"},
		{Event{Source: "github", Keys: map[string]string{"repo": "acme/api"}, Meta: map[string]string{"x-github-enterprise-host": "ghe.acme.io"}}, "bp/ghe.acme.io/acme/api"},
		{Event{Source: "gitlab", Keys: map[string]string{"project": "grp/app", "mr": "3"}}, "bp/gitlab.com/grp/app/mr/3"},
		{Event{Source: "jira", Integration: "int_j", Keys: map[string]string{"issue": "PROJ-1"}}, "bp/int_j/PROJ-1"},
		{Event{Source: "servicenow", Integration: "int_s", Keys: map[string]string{"table": "change_request", "sys_id": "abc"}}, "bp/int_s/change_request/abc"},
		{Event{Source: "generic", Integration: "int_g", Keys: map[string]string{"entity": "e"}}, "bp/int_g/e"},
		{Event{Source: "generic", Integration: "int_g"}, ""},
		{Event{Source: "github"}, ""},
		{Event{Source: "github", Keys: map[string]string{"host": "github.com", "repo_path": "acme/api", "pull_request": "42"}}, "bp/github.com/acme/api/pr/42"},
		{Event{Source: "jira", Integration: "int_j", Keys: map[string]string{"host": "acme.atlassian.net", "issue": "PROJ-1"}}, "bp/acme.atlassian.net/PROJ-1"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, EntityID("bp", tt.ev), "%+v", tt.ev)
	}
}
