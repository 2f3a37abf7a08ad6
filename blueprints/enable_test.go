package blueprints

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"

	"github.com/hookflow/hookflow/workflows"
)

func testBlueprint() Blueprint {
	return Blueprint{
		Name: "demo", Description: "d", Register: func(worker.WorkflowRegistry) {},
		Subscriptions: func(Settings) []workflows.Subscription {
			return []workflows.Subscription{{Blueprint: "demo", Workflow: "demo.W", Route: func(ev workflows.Event) string { return "demo/" + ev.DeliveryID }}}
		},
	}
}

func TestEnabledRestrictsIntegrationsAndSources(t *testing.T) {
	t.Parallel()
	names := map[string]string{"int_1": "acme-github", "int_2": "other"}
	name := func(id string) string { return names[id] }
	tests := []struct {
		name         string
		integrations []string
		sources      []string
		ev           workflows.Event
		routed       bool
	}{
		{"no restriction", nil, nil, workflows.Event{DeliveryID: "a", Source: "gitlab", Integration: "int_2"}, true},
		{"by name", []string{"acme-github"}, nil, workflows.Event{DeliveryID: "a", Source: "github", Integration: "int_1"}, true},
		{"by ID", []string{"int_1"}, nil, workflows.Event{DeliveryID: "a", Source: "github", Integration: "int_1"}, true},
		{"another integration", []string{"acme-github"}, nil, workflows.Event{DeliveryID: "a", Source: "github", Integration: "int_2"}, false},
		{"by source", nil, []string{"github"}, workflows.Event{DeliveryID: "a", Source: "github", Integration: "int_2"}, true},
		{"another source", nil, []string{"github"}, workflows.Event{DeliveryID: "a", Source: "gitlab", Integration: "int_2"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := Router("q", []Enabled{{Blueprint: testBlueprint(), Integrations: tt.integrations, Sources: tt.sources}}, name)
			routes := r.Routes(tt.ev)
			require.Equal(t, tt.routed, len(routes) == 1)
			if tt.routed {
				require.Equal(t, "q", routes[0].Subscription.TaskQueue)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	require.NoError(t, testBlueprint().Check())
	tests := []struct {
		name   string
		mutate func(*Blueprint)
		want   string
	}{
		{"bad name", func(b *Blueprint) { b.Name = "Demo" }, "lower-case"},
		{"two-line description", func(b *Blueprint) { b.Description = "a\nb" }, "one line"},
		{"no registration", func(b *Blueprint) { b.Register = nil }, "required"},
		{"two workflows", func(b *Blueprint) {
			b.Subscriptions = func(Settings) []workflows.Subscription {
				route := func(workflows.Event) string { return "" }
				return []workflows.Subscription{{Blueprint: "demo", Workflow: "A", Route: route}, {Blueprint: "demo", Workflow: "B", Route: route}}
			}
		}, "one workflow per blueprint"},
		{"another blueprint's subscription", func(b *Blueprint) {
			b.Subscriptions = func(Settings) []workflows.Subscription {
				return []workflows.Subscription{{Blueprint: "other", Workflow: "A", Route: func(workflows.Event) string { return "" }}}
			}
		}, `names blueprint "other"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := testBlueprint()
			tt.mutate(&b)
			require.ErrorContains(t, b.Check(), tt.want)
		})
	}
	require.ErrorContains(t, CheckList([]Blueprint{testBlueprint(), testBlueprint()}), "two blueprints are named demo")
}
