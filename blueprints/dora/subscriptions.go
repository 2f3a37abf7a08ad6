package dora

import (
	"github.com/hookflow/hookflow/workflows"
)

// Source and Type are what the dora ingress source names a batch with at
// least one valid record (ingress/dora.Name and TypeBatch; a blueprint
// does not import the ingress).
const (
	Source = "dora"
	Type   = "batch"
)

// Subscription routes every batch of a dora integration to that
// integration's workflow, dora/<integration>: one workflow applies an
// integration's batches one at a time, in the order they were accepted.
func Subscription(taskQueue string, s *Settings) workflows.Subscription {
	if s == nil {
		s = DefaultSettings()
	}
	settings := *s
	return workflows.Subscription{
		Blueprint: Name,
		Source:    Source,
		Events:    []string{Type},
		IDPattern: Name + "/<integration>",
		Workflow:  WorkflowName,
		TaskQueue: taskQueue,
		Route:     WorkflowID,
		Input:     func(string) any { return Input{Settings: settings} },
	}
}

// WorkflowID returns the ID of the workflow that applies ev, or "".
func WorkflowID(ev workflows.Event) string {
	if ev.Source != Source || ev.Type != Type || ev.Integration == "" {
		return ""
	}
	return Name + "/" + ev.Integration
}
