// Package servicenow holds the Temporal activities that act on a
// ServiceNow instance through connectors/servicenow: change requests,
// incidents and work notes. Each activity fetches the instance's
// credential when it runs (tokens key {System: "servicenow", Installation:
// instance}) and classifies failures with activities/classify.
package servicenow

import (
	"context"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"github.com/hookflow/hookflow/activities/classify"
	snconn "github.com/hookflow/hookflow/connectors/servicenow"
	"github.com/hookflow/hookflow/connectors/tokens"
)

// Activity names, as workflows call them.
const (
	// CreateChangeRequest creates a change request, once per correlation ID.
	CreateChangeRequest = "servicenow.CreateChangeRequest"
	// GetChangeRequest reads a change request by sys_id or number.
	GetChangeRequest = "servicenow.GetChangeRequest"
	// UpdateChangeRequest sets fields on a change request.
	UpdateChangeRequest = "servicenow.UpdateChangeRequest"
	// AddWorkNote appends a work note to a record, once per marker.
	AddWorkNote = "servicenow.AddWorkNote"
	// CreateIncident creates an incident, once per correlation ID.
	CreateIncident = "servicenow.CreateIncident"
)

// Activities are the ServiceNow activities; the fields are their
// dependencies.
type Activities struct {
	Client *snconn.Client
	Tokens tokens.Store
}

// Register registers every ServiceNow activity under its name.
func Register(r worker.ActivityRegistry, a *Activities) {
	for name, fn := range map[string]any{
		CreateChangeRequest: a.CreateChangeRequest,
		GetChangeRequest:    a.GetChangeRequest,
		UpdateChangeRequest: a.UpdateChangeRequest,
		AddWorkNote:         a.AddWorkNote,
		CreateIncident:      a.CreateIncident,
	} {
		r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name, DisableAlreadyRegisteredCheck: true})
	}
}

// CreateRecordInput is the input of CreateChangeRequest and CreateIncident.
type CreateRecordInput struct {
	// Installation names the ServiceNow instance; it selects the credential.
	Installation string
	// Fields are column values by name ("short_description", "type",
	// "assignment_group").
	Fields map[string]string
	// CorrelationID makes the call idempotent: it is stored in the
	// record's correlation_id, and an existing record carrying it is
	// returned instead of creating another. Derive it from the workflow ID.
	// Required.
	CorrelationID string
}

// CreateRecordOutput is the result of CreateChangeRequest and
// CreateIncident.
type CreateRecordOutput struct {
	SysID  string
	Number string
	// Created is false when the record existed already.
	Created bool
	Record  Record
}

// Record is a ServiceNow record's fields as the Table API returned them
// (display values off): this package's own type, so that a connector
// change cannot change what workflow histories hold.
type Record map[string]string

// SysID is the record's sys_id.
func (r Record) SysID() string { return r["sys_id"] }

// Number is the record's number (CHG0030001, INC0010001).
func (r Record) Number() string { return r["number"] }

// CreateChangeRequest creates a change request once per correlation ID.
func (a *Activities) CreateChangeRequest(ctx context.Context, in CreateRecordInput) (CreateRecordOutput, error) {
	return a.create(ctx, "servicenow.CreateChangeRequest", snconn.TableChangeRequest, in)
}

// CreateIncident creates an incident once per correlation ID.
func (a *Activities) CreateIncident(ctx context.Context, in CreateRecordInput) (CreateRecordOutput, error) {
	return a.create(ctx, "servicenow.CreateIncident", snconn.TableIncident, in)
}

func (a *Activities) create(ctx context.Context, name, table string, in CreateRecordInput) (CreateRecordOutput, error) {
	if in.CorrelationID == "" || len(in.Fields) == 0 {
		return CreateRecordOutput{}, classify.Final(classify.TypeValidation, name+": fields and correlation ID are required")
	}
	cred, err := a.token(ctx, in.Installation)
	if err != nil {
		return CreateRecordOutput{}, err
	}
	r, created, err := a.Client.Create(ctx, cred, table, in.Fields, in.CorrelationID)
	if err != nil {
		return CreateRecordOutput{}, classify.Error(err)
	}
	return CreateRecordOutput{SysID: r.SysID(), Number: r.Number(), Created: created, Record: Record(r)}, nil
}

// GetChangeRequestInput is the input of GetChangeRequest.
type GetChangeRequestInput struct {
	Installation string
	// Ref is the sys_id or the number (CHG0030001).
	Ref string
}

// GetChangeRequestOutput is the result of GetChangeRequest.
type GetChangeRequestOutput struct {
	Record Record
}

// GetChangeRequest reads a change request.
func (a *Activities) GetChangeRequest(ctx context.Context, in GetChangeRequestInput) (GetChangeRequestOutput, error) {
	if in.Ref == "" {
		return GetChangeRequestOutput{}, classify.Final(classify.TypeValidation, "servicenow.GetChangeRequest: ref is required")
	}
	cred, err := a.token(ctx, in.Installation)
	if err != nil {
		return GetChangeRequestOutput{}, err
	}
	r, err := a.Client.GetChangeRequest(ctx, cred, in.Ref)
	if err != nil {
		return GetChangeRequestOutput{}, classify.Error(err)
	}
	return GetChangeRequestOutput{Record: Record(r)}, nil
}

// UpdateChangeRequestInput is the input of UpdateChangeRequest.
type UpdateChangeRequestInput struct {
	Installation string
	SysID        string
	// Fields are set outright, so a retry sets the same values again.
	Fields map[string]string
}

// UpdateChangeRequestOutput is the result of UpdateChangeRequest.
type UpdateChangeRequestOutput struct {
	Record Record
}

// UpdateChangeRequest sets fields on a change request.
func (a *Activities) UpdateChangeRequest(ctx context.Context, in UpdateChangeRequestInput) (UpdateChangeRequestOutput, error) {
	if !snconn.IsSysID(in.SysID) || len(in.Fields) == 0 {
		return UpdateChangeRequestOutput{}, classify.Final(classify.TypeValidation, "servicenow.UpdateChangeRequest: a sys_id and fields are required")
	}
	cred, err := a.token(ctx, in.Installation)
	if err != nil {
		return UpdateChangeRequestOutput{}, err
	}
	r, err := a.Client.UpdateChangeRequest(ctx, cred, in.SysID, in.Fields)
	if err != nil {
		return UpdateChangeRequestOutput{}, classify.Error(err)
	}
	return UpdateChangeRequestOutput{Record: Record(r)}, nil
}

// AddWorkNoteInput is the input of AddWorkNote.
type AddWorkNoteInput struct {
	Installation string
	// Table is the record's table. Empty means change_request.
	Table string
	SysID string
	Note  string
	// Marker makes the call idempotent: it is appended to the note as
	// "[hookflow:MARKER]" and a work note that already holds it is not
	// written again (the integration user needs read access to
	// sys_journal_field). Empty always writes.
	Marker string
}

// AddWorkNoteOutput is the result of AddWorkNote.
type AddWorkNoteOutput struct {
	// Added is false when an earlier attempt had already written it.
	Added bool
}

// AddWorkNote appends a work note to a record.
func (a *Activities) AddWorkNote(ctx context.Context, in AddWorkNoteInput) (AddWorkNoteOutput, error) {
	if !snconn.IsSysID(in.SysID) || in.Note == "" {
		return AddWorkNoteOutput{}, classify.Final(classify.TypeValidation, "servicenow.AddWorkNote: a sys_id and a note are required")
	}
	table := in.Table
	if table == "" {
		table = snconn.TableChangeRequest
	}
	cred, err := a.token(ctx, in.Installation)
	if err != nil {
		return AddWorkNoteOutput{}, err
	}
	added, err := a.Client.AddWorkNote(ctx, cred, table, in.SysID, in.Note, in.Marker)
	if err != nil {
		return AddWorkNoteOutput{}, classify.Error(err)
	}
	return AddWorkNoteOutput{Added: added}, nil
}

func (a *Activities) token(ctx context.Context, installation string) (string, error) {
	return classify.Credential(ctx, a.Tokens, tokens.Key{System: snconn.System, Installation: installation}, "credential for instance")
}
