// Package dora is the blueprint that keeps DORA metrics: it applies the
// batches a dora integration accepts (deployments, workflow runs,
// incidents; see ingress/dora) to Hookflow's tables, one workflow per
// integration, once per batch, in order, and resolves the commits of
// deployments whose records do not list them through GitHub's compare
// API. The metrics, their definitions and the commands that read and prune
// them are in README.md.
package dora

import (
	"strconv"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	doraact "github.com/hookflow/hookflow/activities/dora"
	"github.com/hookflow/hookflow/workflows"
)

// Name is the blueprint's name.
const Name = "dora"

// WorkflowName is the registered workflow type.
const WorkflowName = "dora.Integration"

// Input is the workflow input: the settings it started with, and the
// entity state carried over continue-as-new.
type Input struct {
	Settings Settings
	State    workflows.EntityState
}

// Register registers the blueprint's workflow.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(Integration, workflow.RegisterOptions{Name: WorkflowName})
}

// Integration is the workflow of one dora integration. It never completes
// on its own: it continues as new before its history grows too large.
func Integration(ctx workflow.Context, in Input) error {
	entity := workflows.NewEntity(in.State)
	apply := func(ctx workflow.Context, ev workflows.Event) (bool, error) {
		call := doraact.ApplyInput{BatchID: ev.DeliveryID, Source: ev.Source, Payload: ev.Payload, PayloadRef: ev.PayloadRef,
			DeploymentWorkflows: in.Settings.DeploymentWorkflows}
		if ev.Source != Source {
			// A native sender's event, as a one-record batch.
			if ev.PayloadRef != "" {
				workflow.GetLogger(ctx).Warn("dora: native event held by reference is not read", "delivery_id", ev.DeliveryID)
				return false, nil
			}
			body, err := nativeBatch(ev, in.Settings)
			if err != nil || body == nil {
				workflow.GetLogger(ctx).Info("dora: event is not a record", "delivery_id", ev.DeliveryID, "source", ev.Source, "type", ev.Type, "error", err)
				return false, nil
			}
			call.Payload, call.PayloadRef = body, ""
		}
		if ev.Source == Source {
			notify(ctx, ev)
			if ev.Type == TypeRejected {
				return false, nil
			}
		}
		var out doraact.ApplyOutput
		if err := workflow.ExecuteActivity(workflows.ConnectorCall(ctx), doraact.ApplyBatch, call).Get(ctx, &out); err != nil {
			// Recorded in the history; later batches are still applied.
			workflow.GetLogger(ctx).Warn("dora batch not applied", "delivery_id", ev.DeliveryID, "error", err)
			return false, nil
		}
		workflow.GetLogger(ctx).Info("dora batch applied", "delivery_id", ev.DeliveryID,
			"deployments", out.Deployments, "incidents", out.Incidents, "rejected", out.Rejected)
		if out.Deployments > 0 && workflow.GetVersion(ctx, versionResolveCommits, workflow.DefaultVersion, 1) >= 1 && in.Settings.ResolvesCommits() {
			resolveCommits(ctx, ev, in.Settings)
		}
		return false, nil
	}
	return entity.Run(ctx, apply, func(st workflows.EntityState) error {
		return workflow.NewContinueAsNewError(ctx, WorkflowName, Input{Settings: in.Settings, State: st})
	})
}

// notify tells the integration's notification webhook about a batch with
// erroneous records (the counts the ingress put in the event's meta). A
// failed notification is recorded and does not hold the batch back.
func notify(ctx workflow.Context, ev workflows.Event) {
	accepted, _ := strconv.Atoi(ev.Meta["accepted"])
	rejected, _ := strconv.Atoi(ev.Meta["rejected"])
	if rejected == 0 && ev.Meta["error"] == "" {
		return
	}
	in := doraact.NotifyInput{Integration: ev.Integration, BatchID: ev.DeliveryID, Accepted: accepted, Rejected: rejected, Error: ev.Meta["error"]}
	if err := workflow.ExecuteActivity(workflows.ConnectorCall(ctx), doraact.Notify, in).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("dora notification failed", "delivery_id", ev.DeliveryID, "error", err)
	}
}
