package workflows

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRouterChecksTheDeclarationBeforeRoute(t *testing.T) {
	t.Parallel()
	route := func(ev Event) string { return "bp/" + ev.DeliveryID }
	r := NewRouter(
		Subscription{Blueprint: "pr", Source: "github", Events: []string{"pull_request"}, Actions: []string{"opened", "closed"}, Route: route},
		Subscription{Blueprint: "all", Route: route},
	)
	tests := []struct {
		name string
		ev   Event
		want []string
	}{
		{"matches", Event{DeliveryID: "1", Source: "github", Type: "pull_request", Action: "opened"}, []string{"pr", "all"}},
		{"other action", Event{DeliveryID: "2", Source: "github", Type: "pull_request", Action: "labeled"}, []string{"all"}},
		{"other event", Event{DeliveryID: "3", Source: "github", Type: "push"}, []string{"all"}},
		{"other source", Event{DeliveryID: "4", Source: "gitlab", Type: "pull_request", Action: "opened"}, []string{"all"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, rt := range r.Routes(tt.ev) {
				got = append(got, rt.Subscription.Blueprint)
				require.Equal(t, "bp/"+tt.ev.DeliveryID, rt.WorkflowID)
			}
			require.Equal(t, tt.want, got)
		})
	}
}
