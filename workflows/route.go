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
		if id := r.subs[i].Route(ev); id != "" {
			out = append(out, Route{Subscription: &r.subs[i], WorkflowID: id})
		}
	}
	return out
}

// Subscriptions returns the registered subscriptions.
func (r *Router) Subscriptions() []Subscription {
	return append([]Subscription(nil), r.subs...)
}
