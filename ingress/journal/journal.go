// Package journal is the durable record of every delivery the ingress
// answered. An accepted delivery is appended (and fsync'd) with its routes,
// one per workflow it must reach, before the sender gets its 2xx; the
// forwarder reads pending routes in order per workflow and records what
// became of each. An entry's status is derived from its routes.
package journal

import (
	"context"
	"errors"
	"hash/fnv"
	"time"

	"github.com/hookflow/hookflow/workflows"
)

// Status is the state of a journal entry.
type Status string

// Entry statuses.
const (
	// Accepted: answered 2xx, waiting for the forwarder (an entry while
	// any of its routes is accepted or held; a route until it is
	// signalled).
	Accepted Status = "accepted"
	// Held: a route the forwarder must not signal until it is released
	// (a paused entity); its entry stays accepted.
	Held Status = "held"
	// Forwarded: signalled to every workflow it routes to.
	Forwarded Status = "forwarded"
	// Ignored: no blueprint takes it (or a ping); nothing to do.
	Ignored Status = "ignored"
	// Duplicate: a redelivery of an entry already journaled; recorded
	// for visibility, never forwarded.
	Duplicate Status = "duplicate"
	// Rejected: refused at the door (signature, size, malformed); no body
	// is kept.
	Rejected Status = "rejected"
	// Failed: the forwarder gave up (for a reason retrying cannot fix).
	Failed Status = "failed"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case Accepted, Held, Forwarded, Ignored, Duplicate, Rejected, Failed:
		return true
	}
	return false
}

// ErrNotFound is returned by Get for an unknown sequence number.
var ErrNotFound = errors.New("journal: no such entry")

// Entry is one journaled delivery.
type Entry struct {
	// Event is the normalized delivery. Event.Seq is the entry's sequence
	// number, assigned by Append.
	Event workflows.Event
	// Status is where the entry stands.
	Status Status
	// Reason says why it was rejected, ignored, failed or a duplicate.
	Reason string
	// WorkflowIDs are the workflows it was (or will be) signalled to: its
	// routes' workflow IDs, in route order.
	WorkflowIDs []string
	// Routes are the workflows it must reach, decided once when it was
	// accepted. An Accepted entry appended without routes is unrouted
	// (journals written before routes existed, replays of entries no
	// blueprint took): RouteUnrouted routes it once.
	Routes []Route
	// UpdatedAt is when the status last changed.
	UpdatedAt time.Time
	// Attempts counts forwarding attempts that failed, over all routes.
	Attempts int
}

// Partitions is the fixed number of partitions workflow IDs are hashed
// into. Forwarding is scheduled per partition; changing it would move
// workflows between partitions, so it never changes.
const Partitions = 64

// PartitionOf is the partition of a workflow ID: FNV-1a mod Partitions.
func PartitionOf(workflowID string) int {
	h := fnv.New32a()
	h.Write([]byte(workflowID))
	return int(h.Sum32() % Partitions)
}

// Route is one workflow an entry must reach, and where that stands.
type Route struct {
	// Blueprint is the subscription's blueprint; with Workflow it names
	// the subscription the forwarder starts the workflow with.
	Blueprint string `json:"blueprint"`
	// Workflow is the workflow type.
	Workflow string `json:"workflow"`
	// WorkflowID is the workflow that owns the entry's entity.
	WorkflowID string `json:"workflow_id"`
	// Partition is PartitionOf(WorkflowID).
	Partition int `json:"partition"`
	// Status is Accepted, Held, Forwarded, Failed or Ignored. Zero means
	// Accepted when appending.
	Status Status `json:"status"`
	// Reason says why the route failed or was ignored, or what the last
	// failed attempt met.
	Reason string `json:"reason,omitempty"`
	// Attempts counts failed forwarding attempts.
	Attempts int `json:"attempts"`
	// UpdatedAt is when the route last changed.
	UpdatedAt time.Time `json:"updated_at"`
}

// final reports whether the forwarder is done with a route.
func (r Route) final() bool { return r.Status != Accepted && r.Status != Held }

// DeriveStatus is an entry's status from its routes: accepted while any
// route is pending (accepted or held), failed when one failed, forwarded
// when one was forwarded, ignored when none applies; with the reason of
// the route that decided it.
func DeriveStatus(routes []Route) (Status, string) {
	var failed, forwarded, pending, ignored *Route
	for i := range routes {
		r := &routes[i]
		switch {
		case !r.final():
			if pending == nil || r.Reason != "" {
				pending = r
			}
		case r.Status == Failed && failed == nil:
			failed = r
		case r.Status == Forwarded && forwarded == nil:
			forwarded = r
		case r.Status == Ignored && ignored == nil:
			ignored = r
		}
	}
	switch {
	case pending != nil:
		return Accepted, pending.Reason
	case failed != nil:
		return Failed, failed.Reason
	case forwarded != nil:
		return Forwarded, ""
	case ignored != nil:
		return Ignored, ignored.Reason
	}
	return Ignored, "no blueprint subscribes to it"
}

// InlinePayloadLimit is the largest payload that travels inside a signal.
// A larger one stays in the journal and the event carries a reference
// (Event.PayloadRef) that workers resolve through the payload projection
// activity: Temporal refuses blobs over 2 MB and warns from 256 KiB.
const InlinePayloadLimit = 256 << 10

// PayloadGrace is how long a payload held by reference is kept after its
// last route became final (prune skips it until then), so that a workflow
// that received the reference can still read it.
const PayloadGrace = 24 * time.Hour

// Pending is one route the forwarder must signal, with its entry's event.
// Event.Payload is set when the payload is at most InlinePayloadLimit;
// otherwise Event.PayloadRef names it.
type Pending struct {
	Route Route
	Event workflows.Event
}

// PendingQuery bounds one forwarding round.
type PendingQuery struct {
	// Limit caps how many routes are returned. Zero means 500.
	Limit int
	// MaxBytes caps the inline payload bytes returned (at least one route
	// is always returned). Zero means 16 MiB.
	MaxBytes int64
	// Now is compared with workflows' back-off. Zero means time.Now().
	Now time.Time
	// Partitions, when not nil, selects the routes of these partitions
	// only (the ones a forwarding replica leases; see Partitioner). Nil
	// means every partition; an empty non-nil slice selects nothing.
	Partitions []int
	// Exclude skips every route of these workflows (the ones the
	// forwarder holds back under its per-workflow signal rate), so that
	// they neither fill the round nor keep it busy. Nil skips none.
	Exclude []string
}

// RouteMark records the outcome of signalling one route.
type RouteMark struct {
	Seq        int64
	WorkflowID string
	// Status is the route's new status (Forwarded, Failed, Ignored,
	// Held, or Accepted to release a held route); ignored when Retry.
	Status Status
	Reason string
	// Retry counts a failed attempt, keeps the route pending and backs
	// off its whole workflow until RetryAt, so that its later routes keep
	// their order and other workflows keep flowing.
	Retry   bool
	RetryAt time.Time
}

// AppendResult says what Append did with an entry.
type AppendResult struct {
	// Seq is the sequence number of the new entry.
	Seq int64
	// Duplicate is true when an entry with the same integration and
	// delivery ID was already journaled: the new entry was recorded with
	// status Duplicate and nothing else changed.
	Duplicate bool
	// Original is the sequence number of the first entry, for duplicates.
	Original int64
}

// Filter selects entries for List. Zero fields select everything.
type Filter struct {
	Status      Status
	Source      string
	Integration string
	// Event selects one event type ("pull_request").
	Event string
	// Before selects entries with a lower sequence number, for paging
	// newest first; zero means no bound.
	Before int64
	Since  time.Time
	Until  time.Time
	// Limit caps the result; zero means 100.
	Limit int
}

// Journal stores deliveries. Implementations are safe for concurrent use.
type Journal interface {
	// Append records e and its routes durably before it returns. Entries
	// with status Accepted or Ignored are deduplicated on (integration,
	// delivery ID); a duplicate gets no routes.
	Append(ctx context.Context, e Entry) (AppendResult, error)
	// Pending returns accepted routes in acceptance order, skipping every
	// route of a workflow that is backing off, bounded by q.
	Pending(ctx context.Context, q PendingQuery) ([]Pending, error)
	// MarkRoutes records the outcome of signalling routes, and their
	// entries' derived status, in one transaction.
	MarkRoutes(ctx context.Context, marks ...RouteMark) error
	// RouteUnrouted routes, once, every Accepted entry that has no routes
	// (see Entry.Routes) with route; an entry route gives none becomes
	// Ignored. It returns how many entries it routed.
	RouteUnrouted(ctx context.Context, route func(workflows.Event) []Route) (int, error)
	// List returns entries matching f, newest first, with their routes
	// and without payloads.
	List(ctx context.Context, f Filter) ([]Entry, error)
	// Get returns one entry with its routes and its whole payload.
	Get(ctx context.Context, seq int64) (Entry, error)
	// Payload returns entry seq's whole payload.
	Payload(ctx context.Context, seq int64) ([]byte, error)
	// Backlog counts Accepted entries.
	Backlog(ctx context.Context) (int, error)
	// Close flushes pending appends and releases the journal.
	Close() error
}

// ErrNotReplayable is returned by Replay for entries without a payload
// (rejected deliveries and duplicate records).
var ErrNotReplayable = errors.New("journal: entry has no payload to replay")

// PruneFilter selects entries to delete. Accepted entries (still to be
// forwarded) are never pruned, nor entries whose payload is held by
// reference until PayloadGrace after they were last updated. At least one
// field must be set.
type PruneFilter struct {
	// Before selects entries received before it.
	Before time.Time
	// Integration selects one integration's entries.
	Integration string
	// Seqs selects entries by sequence number.
	Seqs []int64
}

// Maintenance is implemented by journals that can replay and prune.
type Maintenance interface {
	// Replay appends a copy of entry seq as a new Accepted entry with
	// the original's routes, pending again, so the forwarder signals it
	// again (a copy of an entry that had no routes is unrouted). The copy
	// keeps the delivery ID (the workflow drops it if it was applied)
	// unless asNew, which gives it a new one ("<id>.replay-<n>") that the
	// workflow applies again.
	Replay(ctx context.Context, seq int64, asNew bool) (Entry, error)
	// Prune deletes the entries f selects and returns how many; with
	// dryRun it only counts them.
	Prune(ctx context.Context, f PruneFilter, dryRun bool) (int, error)
}
