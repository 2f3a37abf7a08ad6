package relay_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/blueprints/blueprinttest"
	"github.com/hookflow/hookflow/blueprints/relay"
)

// A generic integration created with --option keys=entity feeds the
// entity's relay workflow; without the option the event names no entity
// and relay does not take it.
func TestRecordedDeliveryRoutes(t *testing.T) {
	t.Parallel()
	d := blueprinttest.Delivery{File: "testdata/build.finished.http", Source: "generic", Secret: blueprinttest.Secrets["generic"],
		Options: map[string]string{"keys": relay.EntityKey}}
	_, route := blueprinttest.Deliver(t, relay.Blueprint, d)
	require.Equal(t, "relay/"+blueprinttest.Integration+"/payments-main", route.WorkflowID)
	d.Options = nil
	require.Empty(t, blueprinttest.Routes(relay.Blueprint, nil, blueprinttest.Event(t, d)))
}
