package relay

import (
	"github.com/hookflow/hookflow/workflows"
)

// EntityKey is the business key that names the entity an event belongs
// to. Generic integrations produce it with the option keys=entity.
const EntityKey = workflows.KeyEntity

// Subscription routes every event that carries an EntityKey from a generic
// integration to the workflow of its entity:
// relay/<integration>/<entity>. Generic senders have no provider host: the
// integration stands in its place.
func Subscription(taskQueue string) workflows.Subscription {
	return workflows.Subscription{
		Blueprint: Name,
		Source:    "generic",
		IDPattern: Name + "/<integration>/<entity>",
		Workflow:  WorkflowName,
		TaskQueue: taskQueue,
		Route:     WorkflowID,
		Input:     func(string) any { return Input{} },
	}
}

// WorkflowID returns the ID of the workflow that owns ev, or "".
func WorkflowID(ev workflows.Event) string {
	if ev.Source != "generic" || ev.Key(EntityKey) == "" {
		return ""
	}
	return "relay/" + ev.Integration + "/" + ev.Key(EntityKey)
}
