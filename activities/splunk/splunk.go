// Package splunk holds the Temporal activity that sends events to a Splunk
// HTTP Event Collector through connectors/splunk. It fetches the HEC token
// when it runs (tokens key {System: "splunk", Installation: endpoint}),
// classifies failures with activities/classify, and heartbeats its
// progress so that a retry resumes where the last attempt stopped instead
// of sending accepted batches again.
package splunk

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/hookflow/hookflow/activities/classify"
	splunkconn "github.com/hookflow/hookflow/connectors/splunk"
	"github.com/hookflow/hookflow/connectors/tokens"
)

// SendEvents is the activity name: send events to HEC, optionally waiting
// for indexer acknowledgement.
const SendEvents = "splunk.SendEvents"

// TypeNotAcknowledged is the error type of a SendEvents whose batches the
// indexers did not acknowledge in time; retryable, and the retry resends
// exactly those batches.
const TypeNotAcknowledged = "hookflow.splunk.NotAcknowledgedError"

// Activities are the Splunk activities; the fields are their dependencies.
type Activities struct {
	Client *splunkconn.Client
	Tokens tokens.Store
}

// Register registers every Splunk activity under its name.
func Register(r worker.ActivityRegistry, a *Activities) {
	r.RegisterActivityWithOptions(a.SendEvents, activity.RegisterOptions{Name: SendEvents, DisableAlreadyRegisteredCheck: true})
}

// SendEventsInput is the input of SendEvents.
type SendEventsInput struct {
	// Installation names the HEC token; it selects the credential.
	Installation string
	Events       []Event
	// Ack waits until the indexers acknowledge every batch (the token must
	// have indexer acknowledgement on). Set a HeartbeatTimeout on the
	// activity: it heartbeats while it polls.
	Ack bool
	// Channel is the HEC request channel (a GUID). Empty means one derived
	// from the workflow and activity IDs when Ack is set, so that every
	// attempt uses the same channel, and none otherwise.
	Channel string
}

// Event is one HEC event. It is this package's own type (with the JSON
// names the connector's had), so that a connector change cannot change
// what workflow histories hold.
type Event struct {
	// Time is when it happened. Zero means the time HEC receives it.
	Time time.Time `json:",omitzero"`
	// Host, Source, SourceType and Index override the token's defaults
	// when not empty.
	Host       string `json:",omitempty"`
	Source     string `json:",omitempty"`
	SourceType string `json:",omitempty"`
	Index      string `json:",omitempty"`
	// Event is the payload: a JSON object or a string.
	Event json.RawMessage
	// Fields are indexed fields. Nil means none.
	Fields map[string]any `json:",omitempty"`
}

func connectorEvents(evs []Event) []splunkconn.Event {
	out := make([]splunkconn.Event, len(evs))
	for i, e := range evs {
		out[i] = splunkconn.Event{
			Time: e.Time, Host: e.Host, Source: e.Source, SourceType: e.SourceType, Index: e.Index, Event: e.Event, Fields: e.Fields,
		}
	}
	return out
}

// SendEventsOutput is the result of SendEvents.
type SendEventsOutput struct {
	Batches int
	// Acknowledged is true when Ack was asked and every batch was
	// acknowledged.
	Acknowledged bool
}

// Progress is what SendEvents records in its heartbeat: batch indexes
// still to send, and sent batches waiting for an acknowledgement.
type Progress struct {
	Todo []int
	Acks map[int]int64
}

// acked forgets the batches whose ack IDs are no longer pending.
func (p *Progress) acked(pending []int64) {
	for b, id := range p.Acks {
		if !slices.Contains(pending, id) {
			delete(p.Acks, b)
		}
	}
}

// requeue moves the batches whose ack IDs are still pending back to Todo.
func (p *Progress) requeue(pending []int64) {
	for b, id := range p.Acks {
		if slices.Contains(pending, id) {
			p.Todo = append(p.Todo, b)
			delete(p.Acks, b)
		}
	}
	slices.Sort(p.Todo)
}

// SendEvents sends in.Events in batches.
func (a *Activities) SendEvents(ctx context.Context, in SendEventsInput) (SendEventsOutput, error) {
	if len(in.Events) == 0 {
		return SendEventsOutput{}, classify.Final(classify.TypeValidation, "splunk.SendEvents: no events")
	}
	batches, err := a.Client.Batches(connectorEvents(in.Events))
	if err != nil { // ErrEventTooLarge, ErrEmptyEvent: no retry can send them
		return SendEventsOutput{}, classify.Final(classify.TypeValidation, err.Error())
	}
	token, err := a.token(ctx, in.Installation)
	if err != nil {
		return SendEventsOutput{}, err
	}
	channel := in.Channel
	if channel == "" && in.Ack {
		info := activity.GetInfo(ctx)
		channel = deriveChannel(info.WorkflowExecution.ID, info.ActivityID)
	}

	var p Progress
	if !activity.HasHeartbeatDetails(ctx) || activity.GetHeartbeatDetails(ctx, &p) != nil {
		p = Progress{Todo: make([]int, len(batches))}
		for i := range batches {
			p.Todo[i] = i
		}
	}
	if p.Acks == nil {
		p.Acks = map[int]int64{}
	}
	for len(p.Todo) > 0 {
		i := p.Todo[0]
		if i < 0 || i >= len(batches) {
			p.Todo = p.Todo[1:] // details from a different input; skip
			continue
		}
		id, err := a.Client.SendBatch(ctx, token, batches[i], channel)
		if err != nil {
			activity.RecordHeartbeat(ctx, p)
			return SendEventsOutput{}, classify.Error(err)
		}
		p.Todo = p.Todo[1:]
		if in.Ack && id != splunkconn.NoAck {
			p.Acks[i] = id
		}
		activity.RecordHeartbeat(ctx, p)
	}
	out := SendEventsOutput{Batches: len(batches)}
	if !in.Ack {
		return out, nil
	}
	if len(p.Acks) > 0 {
		ids := make([]int64, 0, len(p.Acks))
		for _, id := range p.Acks {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		pending, err := a.Client.WaitAcks(ctx, token, channel, ids, func(pending []int64) {
			p.acked(pending)
			activity.RecordHeartbeat(ctx, p)
		})
		if err != nil {
			return SendEventsOutput{}, classify.Error(err)
		}
		if len(pending) > 0 {
			// Not acknowledged in time: HEC's guidance is to send those
			// batches again. The retry does, and only those.
			p.requeue(pending)
			activity.RecordHeartbeat(ctx, p)
			return SendEventsOutput{}, temporal.NewApplicationError(
				fmt.Sprintf("splunk.SendEvents: %d batch(es) not acknowledged by the indexers in time", len(p.Todo)), TypeNotAcknowledged)
		}
	}
	out.Acknowledged = true
	return out, nil
}

// deriveChannel makes a GUID-shaped channel from the workflow and
// activity IDs, the same on every attempt.
func deriveChannel(workflowID, activityID string) string {
	h := sha256.Sum256([]byte("hookflow-hec-channel\x00" + workflowID + "\x00" + activityID))
	h[6] = (h[6] & 0x0f) | 0x50 // version 5-like
	h[8] = (h[8] & 0x3f) | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func (a *Activities) token(ctx context.Context, installation string) (string, error) {
	return classify.Credential(ctx, a.Tokens, tokens.Key{System: splunkconn.System, Installation: installation}, "HEC token for")
}
