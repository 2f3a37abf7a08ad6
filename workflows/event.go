// Package workflows holds the contracts every blueprint shares: the Event
// envelope the ingress produces, the vocabulary of its business keys
// (keys.go), the typed views a blueprint reads an event's payload through
// (PullRequestOf, PushesOf, DeploymentOf, JiraIssueOf, RecordOf), the
// signal that carries events, the routing contract between the forwarder
// and the blueprints, and the entity loop that applies events once and in
// order.
//
// It imports the Temporal SDK's workflow package but no connector: the
// ingress and the blueprints both depend on it, so it stays small.
package workflows

import (
	"encoding/json"
	"time"
)

// SignalEvents is the name of the signal that carries a Batch of events to
// an entity workflow.
const SignalEvents = "events"

// Event is one webhook delivery, verified and normalized by the ingress.
//
// It never carries a secret: signature and token headers are dropped before
// the event is built, because events end up in workflow histories.
type Event struct {
	// DeliveryID is the sender's own delivery identifier (X-GitHub-Delivery,
	// X-Gitlab-Event-UUID, ...). Together with Integration it identifies the
	// delivery: redeliveries carry the same pair.
	DeliveryID string `json:"delivery_id"`
	// Source is the sender kind: "github", "gitlab", "jira", ...
	Source string `json:"source"`
	// Type is the sender's event type ("pull_request", "push", ...).
	Type string `json:"type"`
	// Action is the sub-type when the sender has one ("opened", "closed").
	Action string `json:"action,omitempty"`
	// Integration is the ID of the integration the delivery arrived on.
	Integration string `json:"integration"`
	// Keys are the business keys routing uses, named by the Key constants
	// (KeyHost, KeyRepoPath, KeyPullRequest, ...). Empty values are
	// omitted.
	Keys map[string]string `json:"keys,omitempty"`
	// Meta holds non-secret sender metadata worth keeping (for example the
	// GitHub Enterprise host and version).
	Meta map[string]string `json:"meta,omitempty"`
	// Payload is the sender's JSON body, unchanged, when it is small
	// enough to travel in a signal (the journal's InlinePayloadLimit,
	// 256 KiB). A larger one stays in the journal and PayloadRef names
	// it: read it with the payload projection activity
	// (activities/payload), which returns only the parts asked for.
	Payload json.RawMessage `json:"payload,omitempty"`
	// PayloadRef names a payload held by reference ("journal/<seq>");
	// empty when Payload is inline.
	PayloadRef string `json:"payload_ref,omitempty"`
	// PayloadSize is the payload's size in bytes, inline or not.
	PayloadSize int `json:"payload_size,omitempty"`
	// ReceivedAt is when the ingress accepted the delivery.
	ReceivedAt time.Time `json:"received_at"`
	// Seq is the journal sequence number: acceptance order within a journal.
	Seq int64 `json:"seq,omitempty"`
	// TraceParent is the W3C traceparent of the ingress span that
	// accepted the delivery (empty when tracing is off): the forwarder's
	// signal and the workflow's spans continue that trace, and logs about
	// the delivery name its trace ID.
	TraceParent string `json:"trace_parent,omitempty"`
}

// Key returns the business key k, or "" when the event has none.
func (e Event) Key(k string) string { return e.Keys[k] }

// DedupKey is what an entity workflow remembers to drop redeliveries.
func (e Event) DedupKey() string { return e.Integration + "/" + e.DeliveryID }

// Batch is the payload of SignalEvents: events for one workflow, in
// acceptance order. The forwarder sends several pending events for a hot
// entity in one signal.
type Batch struct {
	Events []Event `json:"events"`
}
