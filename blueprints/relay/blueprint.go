package relay

import (
	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/workflows"
)

// Blueprint is relay as one value, listed in blueprints/all.
var Blueprint = blueprints.Blueprint{
	Name:        Name,
	Description: "Hands every event of a generic integration's entity, in order and once per delivery, to a function in any language.",
	Subscriptions: func(blueprints.Settings) []workflows.Subscription {
		return []workflows.Subscription{Subscription("")}
	},
	Register: Register,
	Needs:    []blueprints.Need{{Connector: blueprints.Function, Name: Function, Why: "receives every event"}},
}
