// Package journal is the durable record of every delivery the ingress
// answered. An accepted delivery is appended (and fsync'd) before the sender
// gets its 2xx; the forwarder reads accepted entries in order and records
// what became of each.
package journal

import (
	"context"
	"errors"
	"time"

	"github.com/hookflow/hookflow/workflows"
)

// Status is the state of a journal entry.
type Status string

// Entry statuses.
const (
	// Accepted: answered 2xx, waiting for the forwarder.
	Accepted Status = "accepted"
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
	case Accepted, Forwarded, Ignored, Duplicate, Rejected, Failed:
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
	// WorkflowIDs are the workflows it was (or will be) signalled to.
	WorkflowIDs []string
	// UpdatedAt is when the status last changed.
	UpdatedAt time.Time
	// Attempts counts forwarding attempts that failed.
	Attempts int
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

// Mark is a status change the forwarder records.
type Mark struct {
	Seq         int64
	Status      Status
	Reason      string
	WorkflowIDs []string
	// Retry counts a failed attempt without changing the status.
	Retry bool
}

// Filter selects entries for List. Zero fields select everything.
type Filter struct {
	Status      Status
	Source      string
	Integration string
	Since       time.Time
	Until       time.Time
	// Limit caps the result; zero means 100.
	Limit int
}

// Journal stores deliveries. Implementations are safe for concurrent use.
type Journal interface {
	// Append records e durably before it returns. Entries with status
	// Accepted or Ignored are deduplicated on (integration, delivery ID).
	Append(ctx context.Context, e Entry) (AppendResult, error)
	// Pending returns up to limit Accepted entries, oldest first.
	Pending(ctx context.Context, limit int) ([]Entry, error)
	// Mark records status changes.
	Mark(ctx context.Context, marks ...Mark) error
	// List returns entries matching f, newest first, without payloads.
	List(ctx context.Context, f Filter) ([]Entry, error)
	// Get returns one entry with its payload.
	Get(ctx context.Context, seq int64) (Entry, error)
	// Backlog counts Accepted entries.
	Backlog(ctx context.Context) (int, error)
	// Close flushes pending appends and releases the journal.
	Close() error
}

// ErrNotReplayable is returned by Replay for entries without a payload
// (rejected deliveries and duplicate records).
var ErrNotReplayable = errors.New("journal: entry has no payload to replay")

// PruneFilter selects entries to delete. Accepted entries (still to be
// forwarded) are never pruned. At least one field must be set.
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
	// Replay appends a copy of entry seq as a new Accepted entry, so the
	// forwarder signals it again. The copy keeps the delivery ID (the
	// workflow drops it if it was applied) unless asNew, which gives it a
	// new one ("<id>.replay-<seq>") that the workflow applies again.
	Replay(ctx context.Context, seq int64, asNew bool) (Entry, error)
	// Prune deletes the entries f selects and returns how many; with
	// dryRun it only counts them.
	Prune(ctx context.Context, f PruneFilter, dryRun bool) (int, error)
}
