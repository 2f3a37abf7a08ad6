// Package httpfunc holds the Temporal activity that calls an HTTP function
// through connectors/httpfunc: Hookflow's extension point for logic
// written in any language and run on any platform. It fetches the
// function's signing secret when it runs (tokens key {System: "httpfunc",
// Installation: function name}), heartbeats while it waits for the
// answer, sends an idempotency key that is the same on every retry, and
// classifies failures with activities/classify. docs/functions.md is the
// contract a function implements.
package httpfunc

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"github.com/hookflow/hookflow/activities/classify"
	fnconn "github.com/hookflow/hookflow/connectors/httpfunc"
	"github.com/hookflow/hookflow/connectors/tokens"
)

// Call is the activity name: call an HTTP function and return its JSON.
const Call = "httpfunc.Call"

// Activities are the HTTP function activities; the fields are their
// dependencies.
type Activities struct {
	Client *fnconn.Client
	Tokens tokens.Store
	// HeartbeatInterval is how often Call heartbeats while it waits. Zero
	// means half the activity's HeartbeatTimeout, or 10 s when it has none.
	HeartbeatInterval time.Duration
	// Functions maps function names to URLs, for calls that give only
	// the name: URLs then live in worker configuration, not in workflow
	// code. Nil means every call carries its URL.
	Functions map[string]string
}

// Register registers every HTTP function activity under its name.
func Register(r worker.ActivityRegistry, a *Activities) {
	r.RegisterActivityWithOptions(a.Call, activity.RegisterOptions{Name: Call, DisableAlreadyRegisteredCheck: true})
}

// CallInput is the input of Call.
type CallInput struct {
	// Function names the function; it selects the signing secret and is
	// sent in X-Hookflow-Function.
	Function string
	// URL is where the function listens. No credential in it: inputs are
	// stored in the workflow's history.
	URL string
	// Input is the JSON the function receives. Nil sends null.
	Input json.RawMessage
	// Timeout bounds one attempt's wait for the answer. Zero means the
	// connector's default (30 s). Keep the activity's StartToCloseTimeout
	// above it.
	Timeout time.Duration
	// IdempotencyKey overrides the X-Hookflow-Idempotency-Key header.
	// Empty means "<workflow ID>/<run ID>/<activity ID>", the same on every
	// retry of this call and different for every other call.
	IdempotencyKey string
}

// CallOutput is the result of Call.
type CallOutput struct {
	// Status is the function's 2xx status.
	Status int
	// Output is the function's JSON answer (null for an empty answer).
	Output json.RawMessage
}

// Call signs and sends in.Input to the function and returns its answer.
// 4xx answers fail for good; 408, 429, 5xx, timeouts and network errors
// are retried, after the Retry-After the function sent when it sent one.
func (a *Activities) Call(ctx context.Context, in CallInput) (CallOutput, error) {
	if in.URL == "" {
		in.URL = a.Functions[in.Function]
	}
	if in.Function == "" || in.URL == "" {
		return CallOutput{}, classify.Final(classify.TypeValidation, fmt.Sprintf("httpfunc.Call: function %q has no URL (set CallInput.URL or configure the function on the worker)", in.Function))
	}
	secret, err := a.secret(ctx, in.Function)
	if err != nil {
		return CallOutput{}, err
	}
	info := activity.GetInfo(ctx)
	key := in.IdempotencyKey
	if key == "" {
		key = info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID + "/" + info.ActivityID
	}

	every := a.HeartbeatInterval
	if every <= 0 {
		every = info.HeartbeatTimeout / 2
	}
	if every <= 0 {
		every = 10 * time.Second
	}
	stop := make(chan struct{})
	beating := make(chan struct{})
	go func() {
		defer close(beating)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	resp, err := a.Client.Call(ctx, secret, fnconn.Request{
		Function: in.Function, URL: in.URL, Input: in.Input, IdempotencyKey: key, Timeout: in.Timeout,
	})
	close(stop)
	<-beating
	if err != nil {
		return CallOutput{}, classify.Error(err)
	}
	return CallOutput{Status: resp.Status, Output: resp.Output}, nil
}

func (a *Activities) secret(ctx context.Context, function string) (string, error) {
	return classify.Credential(ctx, a.Tokens, tokens.Key{System: fnconn.System, Installation: function}, "signing secret for function")
}
