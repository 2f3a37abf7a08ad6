// Package relay is the blueprint that hands every event of an entity, in
// acceptance order and once per delivery, to a function written in any
// language (activities/httpfunc): the language-agnostic way to act on
// webhooks without writing Go.
//
// Events come from generic integrations whose option keys names an
// "entity" field; one workflow per entity calls the function named
// "relay", whose URL is worker configuration (hookflow worker --relay-url).
// The call's idempotency key is the delivery's, so a function that honours
// X-Hookflow-Idempotency-Key sees each delivery take effect once even when
// a call is retried.
package relay

import (
	"encoding/json"
	"fmt"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	fnact "github.com/hookflow/hookflow/activities/httpfunc"
	"github.com/hookflow/hookflow/workflows"
)

// Name is the blueprint's name.
const Name = "relay"

// WorkflowName is the registered workflow type.
const WorkflowName = "relay.Entity"

// Function is the name of the function events are relayed to.
const Function = "relay"

// Input is the workflow input; the zero value starts a new entity.
type Input struct {
	State workflows.EntityState
}

// Register registers the blueprint's workflow.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(Entity, workflow.RegisterOptions{Name: WorkflowName})
}

// Message is what the function receives for each event.
type Message struct {
	DeliveryID  string            `json:"delivery_id"`
	Integration string            `json:"integration"`
	Type        string            `json:"type"`
	Action      string            `json:"action,omitempty"`
	Keys        map[string]string `json:"keys,omitempty"`
	Payload     json.RawMessage   `json:"payload,omitempty"`
	// Applied is the event's position among the entity's applied events,
	// starting at 1.
	Applied int `json:"applied"`
}

// Entity is the workflow of one entity. It never completes on its own: it
// continues as new before its history grows too large.
func Entity(ctx workflow.Context, in Input) error {
	entity := workflows.NewEntity(in.State)
	apply := func(ctx workflow.Context, ev workflows.Event) (bool, error) {
		msg, err := json.Marshal(Message{DeliveryID: ev.DeliveryID, Integration: ev.Integration, Type: ev.Type, Action: ev.Action,
			Keys: ev.Keys, Payload: ev.Payload, Applied: entity.State().Applied})
		if err != nil {
			return false, fmt.Errorf("relay: encode %s: %w", ev.DeliveryID, err)
		}
		call := fnact.CallInput{Function: Function, Input: msg, IdempotencyKey: ev.DedupKey()}
		if err := workflow.ExecuteActivity(workflows.FunctionCall(ctx), fnact.Call, call).Get(ctx, nil); err != nil {
			// Recorded in the history; the entity goes on with its next
			// events rather than stalling behind one that cannot be relayed.
			workflow.GetLogger(ctx).Warn("relay failed", "delivery_id", ev.DeliveryID, "error", err)
		}
		return false, nil
	}
	return entity.Run(ctx, apply, func(st workflows.EntityState) error {
		return workflow.NewContinueAsNewError(ctx, WorkflowName, Input{State: st})
	})
}
