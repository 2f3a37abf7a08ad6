// Package dora is the activity that writes a DORA batch's valid records
// into Hookflow's tables, through the ingress (connectors/dora).
package dora

import (
	"context"
	"encoding/json"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"github.com/hookflow/hookflow/activities/classify"
	doraconn "github.com/hookflow/hookflow/connectors/dora"
)

// ApplyBatch is the activity's name.
const ApplyBatch = "dora.ApplyBatch"

// TypeNotConfigured is the error type of a worker without a way to the
// ingress: non-retryable until the worker is configured.
const TypeNotConfigured = "dora.NotConfiguredError"

// Activities is the dora activity; the fields are its dependencies.
type Activities struct {
	// Client reaches the ingress. Nil fails every call with
	// TypeNotConfigured.
	Client *doraconn.Client
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
}

// ApplyBatch writes in's batch. It is idempotent: the writes are upserts
// keyed by deployment_id and incident_key.
func (a *Activities) ApplyBatch(ctx context.Context, in ApplyInput) (ApplyOutput, error) {
	if a.Client == nil {
		return ApplyOutput{}, classify.Final(TypeNotConfigured, "dora: this worker cannot reach the ingress: give it --payload-url (the ingress's admin URL) and HOOKFLOW_WORKER_TOKEN")
	}
	out, err := a.Client.Apply(ctx, doraconn.Apply{BatchID: in.BatchID, Source: in.Source, Payload: in.Payload,
		PayloadRef: in.PayloadRef, DeploymentWorkflows: in.DeploymentWorkflows})
	if err != nil {
		return ApplyOutput{}, classify.Error(err)
	}
	return ApplyOutput{Deployments: out.Deployments, Incidents: out.Incidents, Rejected: out.Rejected}, nil
}
