package workflows

// Subscription says which events a blueprint takes and which workflow owns
// each of them. The forwarder (and the ingress, to answer "ignored") asks
// every registered subscription about every event.
//
// Source, Events and Actions say declaratively what the subscription takes:
// `hookflow blueprints list` and the docs show them, and the Router checks
// them before it calls Route, so Route only builds the ID (and may refuse
// events the declaration lets through, for example ones lacking a key).
type Subscription struct {
	// Blueprint names the blueprint, for logs and the delivery console.
	// Every subscription of one blueprint has the same Workflow, TaskQueue
	// and Input: the forwarder finds them by blueprint name.
	Blueprint string
	// Source is the sender kind the subscription takes ("github"). Empty
	// means any source.
	Source string
	// Events are the event types it takes ("pull_request"). Empty means
	// any type.
	Events []string
	// Actions are the actions it takes ("opened", "closed"). Empty means
	// any action, and events without one.
	Actions []string
	// IDPattern shows the workflow IDs Route builds, for listings and docs:
	// "prcomment/<host>/<owner>/<repo>/pr/<number>".
	IDPattern string
	// Workflow is the registered workflow type name.
	Workflow string
	// TaskQueue is where the blueprint's worker polls.
	TaskQueue string
	// Route returns the ID of the workflow that owns ev, or "" when the
	// blueprint does not take ev.
	Route func(ev Event) string
	// Input builds the input of a workflow started by this event. Nil means
	// the workflow is started with no argument besides its context.
	Input func(workflowID string) any
	// Starts says whether ev may start a new run of an entity whose
	// workflow has completed (a reopened pull request may; a comment on a
	// merged one may not). An event that may not is recorded on its route
	// as ignored ("entity finished"). A workflow that failed, timed out or
	// was terminated is always started again, and an entity never seen
	// starts on any event. Nil means every event may start one.
	Starts func(ev Event) bool
}

// MayStart reports whether ev may start a new run of a completed entity.
func (s *Subscription) MayStart(ev Event) bool { return s.Starts == nil || s.Starts(ev) }

// Takes reports whether ev matches the subscription's Source, Events and
// Actions. Route decides the rest.
func (s *Subscription) Takes(ev Event) bool {
	return (s.Source == "" || s.Source == ev.Source) && in(s.Events, ev.Type) && in(s.Actions, ev.Action)
}

func in(list []string, v string) bool {
	if len(list) == 0 {
		return true
	}
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Route is one workflow an event must reach.
type Route struct {
	Subscription *Subscription
	WorkflowID   string
}

// Router holds every subscription of the running binary.
type Router struct {
	subs []Subscription
}

// NewRouter returns a router over subs. The slice is copied.
func NewRouter(subs ...Subscription) *Router {
	return &Router{subs: append([]Subscription(nil), subs...)}
}

// Routes lists the workflows ev must reach, in subscription order.
func (r *Router) Routes(ev Event) []Route {
	var out []Route
	for i := range r.subs {
		if !r.subs[i].Takes(ev) {
			continue
		}
		if id := r.subs[i].Route(ev); id != "" {
			out = append(out, Route{Subscription: &r.subs[i], WorkflowID: id})
		}
	}
	return out
}

// Subscription returns the subscription of blueprint whose workflow type
// is workflow: how the forwarder starts a stored route.
func (r *Router) Subscription(blueprint, workflow string) (*Subscription, bool) {
	for i := range r.subs {
		if r.subs[i].Blueprint == blueprint && r.subs[i].Workflow == workflow {
			return &r.subs[i], true
		}
	}
	return nil, false
}

// Subscriptions returns the registered subscriptions.
func (r *Router) Subscriptions() []Subscription {
	return append([]Subscription(nil), r.subs...)
}
