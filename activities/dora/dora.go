// Package dora holds the activities that write a DORA batch's valid
// records into Hookflow's tables, list the deployments whose commits are
// not known, and record the commits resolved for them, all through the
// ingress (connectors/dora).
package dora

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"github.com/hookflow/hookflow/activities/classify"
	doraconn "github.com/hookflow/hookflow/connectors/dora"
	"github.com/hookflow/hookflow/connectors/tokens"
)

// ApplyBatch is the activity's name.
const ApplyBatch = "dora.ApplyBatch"

// TypeNotConfigured is the error type of a worker without a way to the
// ingress: non-retryable until the worker is configured.
const TypeNotConfigured = "dora.NotConfiguredError"

// Notify is the name of the activity that tells people about erroneous
// data.
const Notify = "dora.Notify"

// NotifySystem is the token store's system for notification webhook URLs:
// the key (NotifySystem, <integration ID>) for one integration, else
// (NotifySystem, "") for all. `hookflow tokens put --system dora-notify
// [--installation INTEGRATION] --stdin` stores one.
const NotifySystem = "dora-notify"

// Activities is the dora activity; the fields are its dependencies.
type Activities struct {
	// Client reaches the ingress. Nil fails every call with
	// TypeNotConfigured.
	Client *doraconn.Client
	// Tokens holds the notification webhook URLs. Nil sends none.
	Tokens tokens.Store
	// HTTP posts notifications. Nil means a client with a 30 s timeout.
	HTTP *http.Client
}

// NotifyInput is the input of Notify: what the batch's answer said.
type NotifyInput struct {
	Integration string `json:"integration"`
	BatchID     string `json:"batch_id"`
	Accepted    int    `json:"accepted"`
	Rejected    int    `json:"rejected"`
	Error       string `json:"error,omitempty"`
}

// NotifyOutput says whether a notification was sent (false: no URL is
// configured).
type NotifyOutput struct {
	Sent bool `json:"sent"`
}

// Notify posts a Slack-compatible message about an erroneous batch to the
// integration's notification URL, fetched from the token store at call
// time (never in a history).
func (a *Activities) Notify(ctx context.Context, in NotifyInput) (NotifyOutput, error) {
	if a.Tokens == nil {
		return NotifyOutput{}, nil
	}
	url := ""
	for _, k := range []tokens.Key{{System: NotifySystem, Installation: in.Integration}, {System: NotifySystem}} {
		t, err := a.Tokens.Token(ctx, k)
		if errors.Is(err, tokens.ErrNotFound) {
			continue
		}
		if err != nil {
			return NotifyOutput{}, classify.Error(err)
		}
		url = t
		break
	}
	if url == "" {
		return NotifyOutput{}, nil
	}
	text := fmt.Sprintf("Hookflow DORA: batch %s on integration %s: %d records accepted, %d rejected", in.BatchID, in.Integration, in.Accepted, in.Rejected)
	if in.Error != "" {
		text += ": " + in.Error
	}
	text += ". `hookflow deliveries list --source dora` shows the batch; the answer named each record's field and a hint."
	if err := doraconn.Notify(ctx, a.HTTP, url, text); err != nil {
		return NotifyOutput{}, classify.Error(err)
	}
	return NotifyOutput{Sent: true}, nil
}

// ApplyInput is the input of ApplyBatch. Payload is the batch's body when
// it travelled inline (it is already in the history, as the signal's),
// else PayloadRef names it in the journal.
type ApplyInput struct {
	BatchID             string          `json:"batch_id"`
	Source              string          `json:"source,omitempty"`
	Payload             json.RawMessage `json:"payload,omitempty"`
	PayloadRef          string          `json:"payload_ref,omitempty"`
	DeploymentWorkflows []string        `json:"deployment_workflows,omitempty"`
}

// ApplyOutput counts what the batch wrote.
type ApplyOutput struct {
	Deployments int `json:"deployments"`
	Incidents   int `json:"incidents"`
	Rejected    int `json:"rejected"`
}

// Register registers the activity under its name.
func Register(r worker.ActivityRegistry, a *Activities) {
	r.RegisterActivityWithOptions(a.ApplyBatch, activity.RegisterOptions{Name: ApplyBatch, DisableAlreadyRegisteredCheck: true})
	r.RegisterActivityWithOptions(a.Notify, activity.RegisterOptions{Name: Notify, DisableAlreadyRegisteredCheck: true})
	r.RegisterActivityWithOptions(a.ListUnresolved, activity.RegisterOptions{Name: ListUnresolved, DisableAlreadyRegisteredCheck: true})
	r.RegisterActivityWithOptions(a.RecordCommits, activity.RegisterOptions{Name: RecordCommits, DisableAlreadyRegisteredCheck: true})
}

// ApplyBatch writes in's batch. It is idempotent: the writes are upserts
// keyed by deployment_id and incident_key.
func (a *Activities) ApplyBatch(ctx context.Context, in ApplyInput) (ApplyOutput, error) {
	if a.Client == nil {
		return ApplyOutput{}, notConfigured()
	}
	out, err := a.Client.Apply(ctx, doraconn.Apply{BatchID: in.BatchID, Source: in.Source, Payload: in.Payload,
		PayloadRef: in.PayloadRef, DeploymentWorkflows: in.DeploymentWorkflows})
	if err != nil {
		return ApplyOutput{}, classify.Error(err)
	}
	return ApplyOutput{Deployments: out.Deployments, Incidents: out.Incidents, Rejected: out.Rejected}, nil
}

func notConfigured() error {
	return classify.Final(TypeNotConfigured, "dora: this worker cannot reach the ingress: give it --payload-url (the ingress's admin URL) and HOOKFLOW_WORKER_TOKEN")
}
