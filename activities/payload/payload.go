// Package payload is the activity that reads a payload the journal holds
// by reference and returns only the parts a blueprint asks for, and the
// workflow-side helper (Project) that blueprints call for any event,
// inline or not.
//
// Events whose payload is over 256 KiB reach workflows without it
// (Event.PayloadRef names it): Temporal refuses blobs over 2 MB, and a
// history that held such payloads would grow past its limits. Projections
// are capped at workflows.MaxProjectionBytes, so histories stay small.
package payload

import (
	"context"
	"errors"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/activities/classify"
	"github.com/hookflow/hookflow/workflows"
)

// ProjectPayload is the activity's name.
const ProjectPayload = "hookflow.ProjectPayload"

// TypeProjection is the error type of a projection that cannot succeed
// (a bad reference, paths asking for too much): non-retryable.
const TypeProjection = "hookflow.ProjectionError"

// Store reads a payload by its journal sequence number: the journal
// itself (a worker in the ingress's process, or one given the PostgreSQL
// journal's DSN) or connectors/payloads (the ingress's payload endpoint).
type Store interface {
	Payload(ctx context.Context, seq int64) ([]byte, error)
}

// ParseRef returns the sequence number a payload reference names.
type ParseRef func(ref string) (int64, error)

// Activities is the payload activity; the fields are its dependencies.
type Activities struct {
	Store    Store
	ParseRef ParseRef
}

// ProjectInput is the input of ProjectPayload.
type ProjectInput struct {
	// Ref is the event's PayloadRef.
	Ref string `json:"ref"`
	// Paths are the JSON paths to return (see workflows.Project).
	Paths []string `json:"paths"`
}

// ProjectOutput is the output of ProjectPayload.
type ProjectOutput struct {
	Projection workflows.Projection `json:"projection"`
}

// Register registers the activity under its name.
func Register(r worker.ActivityRegistry, a *Activities) {
	r.RegisterActivityWithOptions(a.ProjectPayload, activity.RegisterOptions{Name: ProjectPayload, DisableAlreadyRegisteredCheck: true})
}

// ProjectPayload reads the payload in.Ref names and returns in.Paths of it.
func (a *Activities) ProjectPayload(ctx context.Context, in ProjectInput) (ProjectOutput, error) {
	if a.Store == nil || a.ParseRef == nil {
		return ProjectOutput{}, classify.Final(TypeProjection, "payload: this worker has no payload store: give it --payload-url (the ingress's admin URL) and HOOKFLOW_WORKER_TOKEN")
	}
	seq, err := a.ParseRef(in.Ref)
	if err != nil {
		return ProjectOutput{}, classify.Final(TypeProjection, err.Error())
	}
	body, err := a.Store.Payload(ctx, seq)
	if err != nil {
		return ProjectOutput{}, classify.Error(err)
	}
	p, err := workflows.Project(body, in.Paths)
	if err != nil {
		return ProjectOutput{}, classify.Final(TypeProjection, err.Error())
	}
	return ProjectOutput{Projection: p}, nil
}

// Project returns paths of ev's payload: computed in the workflow when the
// payload is inline (no activity, nothing added to the history), read by
// the ProjectPayload activity when it is held by reference. ctx carries the
// activity options (for example workflows.ConnectorCall).
func Project(ctx workflow.Context, ev workflows.Event, paths ...string) (workflows.Projection, error) {
	if ev.PayloadRef == "" {
		if len(ev.Payload) == 0 {
			return workflows.Projection{}, errors.New("payload: the event has no payload")
		}
		return workflows.Project(ev.Payload, paths)
	}
	var out ProjectOutput
	err := workflow.ExecuteActivity(ctx, ProjectPayload, ProjectInput{Ref: ev.PayloadRef, Paths: paths}).Get(ctx, &out)
	return out.Projection, err
}
