package workflows

// Subscription says which events a blueprint takes and which workflow owns
// each of them. The forwarder (and the ingress, to answer "ignored") asks
// every registered subscription about every event.
type Subscription struct {
	// Blueprint names the blueprint, for logs and the delivery console.
	Blueprint string
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
