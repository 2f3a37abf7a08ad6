package blueprints

import (
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/worker"

	"github.com/hookflow/hookflow/workflows"
)

// Enabled is a blueprint the process runs, with its validated settings and
// the integrations it takes events from.
type Enabled struct {
	Blueprint
	// Settings are the validated settings (nil when the blueprint has none).
	Settings Settings
	// Integrations restricts the blueprint to events from these
	// integrations, by ID or name. Empty means every integration.
	Integrations []string
	// Sources restricts it to these sender kinds. Empty means every source
	// its subscriptions take.
	Sources []string
}

// Off is a blueprint that is not running, and why.
type Off struct {
	Name string
	// Reason says what is missing and what turns the blueprint on.
	Reason string
}

// Subscriptions returns e's subscriptions on taskQueue, restricted to its
// integrations and sources. name resolves an integration ID to its name;
// nil matches IDs only.
func (e Enabled) Subscriptions(taskQueue string, name func(id string) string) []workflows.Subscription {
	subs := e.Blueprint.Subscriptions(e.Settings)
	for i := range subs {
		subs[i].TaskQueue = taskQueue
		if len(e.Integrations) == 0 && len(e.Sources) == 0 {
			continue
		}
		route, integrations, sources := subs[i].Route, e.Integrations, e.Sources
		subs[i].Route = func(ev workflows.Event) string {
			if len(sources) > 0 && !slices.Contains(sources, ev.Source) {
				return ""
			}
			if len(integrations) > 0 && !slices.Contains(integrations, ev.Integration) &&
				(name == nil || !slices.Contains(integrations, name(ev.Integration))) {
				return ""
			}
			return route(ev)
		}
	}
	return subs
}

// Router returns the router over every enabled blueprint's subscriptions:
// events that no enabled blueprint takes are answered "ignored", never
// forwarded to a workflow nothing polls.
func Router(taskQueue string, enabled []Enabled, name func(id string) string) *workflows.Router {
	var subs []workflows.Subscription
	for _, e := range enabled {
		subs = append(subs, e.Subscriptions(taskQueue, name)...)
	}
	return workflows.NewRouter(subs...)
}

// RegisterWorkflows registers every enabled blueprint's workflows on r.
func RegisterWorkflows(r worker.WorkflowRegistry, enabled []Enabled) {
	for _, e := range enabled {
		e.Register(r)
	}
}

// CheckList reports what is wrong with a list of blueprints: a value that
// fails Check, or two blueprints with one name.
func CheckList(list []Blueprint) error {
	seen := map[string]bool{}
	for _, b := range list {
		if err := b.Check(); err != nil {
			return err
		}
		if seen[b.Name] {
			return fmt.Errorf("two blueprints are named %s", b.Name)
		}
		seen[b.Name] = true
	}
	return nil
}

// Names returns the names in list, in order.
func Names(list []Blueprint) []string {
	out := make([]string, len(list))
	for i, b := range list {
		out[i] = b.Name
	}
	return out
}

// Find returns the blueprint named name.
func Find(list []Blueprint, name string) (Blueprint, bool) {
	for _, b := range list {
		if b.Name == name {
			return b, true
		}
	}
	return Blueprint{}, false
}

// Describe is how `hookflow blueprints list` shows a subscription.
func Describe(s workflows.Subscription) string {
	var b strings.Builder
	src := s.Source
	if src == "" {
		src = "any source"
	}
	b.WriteString(src)
	if len(s.Events) > 0 {
		b.WriteString(" " + strings.Join(s.Events, ","))
	}
	if len(s.Actions) > 0 {
		b.WriteString(" [" + strings.Join(s.Actions, ",") + "]")
	}
	if s.IDPattern != "" {
		b.WriteString(" -> " + s.IDPattern)
	}
	return b.String()
}
