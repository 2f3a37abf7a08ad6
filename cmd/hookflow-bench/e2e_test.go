package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/blueprints/prcomment"
	"github.com/hookflow/hookflow/workflows"
)

// TestE2EWaitsForTheRoutedWorkflows: the end-to-end runs wait for the
// workflows the ingress's router sends the benchmark's deliveries to, one
// per pull request.
func TestE2EWaitsForTheRoutedWorkflows(t *testing.T) {
	router := workflows.NewRouter(prcomment.Subscription("hookflow", nil))
	var deliveries []*delivery
	for n := range 3 {
		d, err := signed("bench", "raw-k2000", n+1, []byte("s3cret-bench-0123456789"))
		require.NoError(t, err)
		deliveries = append(deliveries, d)
	}
	events, ids, err := routedEvents(context.Background(), deliveries)
	require.NoError(t, err)
	for i, ev := range events {
		routes := router.Routes(ev)
		require.Len(t, routes, 1)
		require.Equal(t, routes[0].WorkflowID, ids[i])
	}
	require.Len(t, map[string]bool{ids[0]: true, ids[1]: true, ids[2]: true}, 3, "one workflow per pull request")
}
