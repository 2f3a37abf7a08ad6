// Package recovery fetches back the deliveries a sender recorded but the
// journal lacks: after an outage of Hookflow, of its network path or of its
// certificate, GitHub (3 days; GHES 7 days) and GitLab (7 days) still keep
// every delivery they tried, and redeliver one on request with its original
// delivery ID. The redelivery comes in through the ingress's verified path,
// like any delivery; the journal deduplicates one that arrives twice.
//
// A pass (Recover) lists the sender's recorded deliveries in a window,
// decides per delivery ID, never by the sender's status alone, which ones
// no journal entry holds (an attempt that timed out may carry no error
// status, and one recorded as OK may be missing after a restore from
// backup), and asks for a redelivery of each of those, oldest first,
// within the sender's rate limits. The Runner makes passes on its own for
// every integration with the option recover=auto, one replica at a time.
package recovery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/hookflow/hookflow/connectors/apierror"
)

// Delivery is one delivery attempt a sender recorded. A redelivery is
// another attempt with the same GUID.
type Delivery struct {
	// ID names the attempt in the sender's API: what a redelivery request
	// takes.
	ID int64
	// GUID is the delivery's ID as the ingress journals it
	// (X-GitHub-Delivery; GitLab's Idempotency-Key). Empty when the
	// sender's record does not say.
	GUID string
	// Event is the event type (push, pull_request, merge_request, ...).
	Event string
	// At is when the sender made the attempt.
	At time.Time
	// Status is the sender's account of the attempt ("OK", "timed out",
	// "502"), for people.
	Status string
}

// Sender is one webhook of a sender whose deliveries can be listed and
// redelivered.
type Sender interface {
	// Source is the integration source, "github" or "gitlab": the label
	// of the metrics.
	Source() string
	// Hook names the webhook ("repos/o/r/hooks/1", "app",
	// "projects/15/hooks/3").
	Hook() string
	// Retention is how long the sender keeps its records of deliveries.
	Retention() time.Duration
	// List returns one page of recorded deliveries, the first when next
	// is "", and the next page's token ("" on the last page). Pages are
	// expected newest first; List does not filter by time.
	List(ctx context.Context, next string) (page []Delivery, nextPage string, err error)
	// Redeliver asks the sender to send d again. It paces itself within
	// the sender's limits on such requests.
	Redeliver(ctx context.Context, d Delivery) error
}

// Journal tells which delivery IDs the journal holds for an integration
// (see journal.Received).
type Journal interface {
	// Received returns the subset of ids held by entries of integration
	// that took the delivery (accepted, forwarded, ignored, failed).
	Received(ctx context.Context, integration string, ids []string) (map[string]bool, error)
}

// Pass is one recovery of one integration's hook over a window.
type Pass struct {
	// Integration is the integration's ID: the journal's key.
	Integration string
	Sender      Sender
	Journal     Journal
	// Since and Until bound the window: attempts made at Since or later
	// and at Until or earlier count. A zero Until means now.
	Since, Until time.Time
	// DryRun decides without requesting anything.
	DryRun bool
	// MaxWait is the longest a rate limit or a Retry-After is waited
	// for before the call fails. Zero means 5 minutes.
	MaxWait time.Duration
	// Logger receives a line per wait. Nil means slog.Default().
	Logger *slog.Logger
}

// DefaultMaxWait is Pass.MaxWait's zero value.
const DefaultMaxWait = 5 * time.Minute

// Report is what a pass found and did. Its JSON is the output of
// `hookflow recover --output json`.
type Report struct {
	Integration string    `json:"integration"`
	Hook        string    `json:"hook"`
	Since       time.Time `json:"since"`
	Until       time.Time `json:"until"`
	// Listed counts the distinct deliveries (GUIDs) the sender recorded
	// in the window, whatever their status.
	Listed int `json:"listed"`
	// InJournal counts those the journal holds.
	InJournal int `json:"in_journal"`
	// Requested counts redeliveries asked for and accepted by the
	// sender; in a dry run, those that would be asked for.
	Requested int `json:"requested"`
	// Failed lists the deliveries whose redelivery the sender refused or
	// that cannot be looked up.
	Failed []Failure `json:"failed"`
	// ByEvent counts the missing deliveries (requested or failed) by
	// event type.
	ByEvent map[string]int `json:"by_event"`

	// Missing are the deliveries the journal lacks, oldest first: the
	// latest attempt of each.
	Missing []Delivery `json:"-"`
	// DryRun is true when nothing was requested.
	DryRun bool `json:"-"`
}

// Failure is a delivery that could not be recovered.
type Failure struct {
	ID    int64  `json:"id"`
	GUID  string `json:"guid"`
	Error string `json:"error"`
}

// Recover makes one pass. Listing comes first and completely: when it
// fails (credentials refused, no such hook, a rate limit longer than
// MaxWait), Recover returns the error and has requested nothing. A
// refused redelivery is a Failure in the report, not an error: the
// others are still requested.
func Recover(ctx context.Context, p Pass) (Report, error) {
	if p.Until.IsZero() {
		p.Until = time.Now()
	}
	if p.MaxWait <= 0 {
		p.MaxWait = DefaultMaxWait
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	r := Report{Integration: p.Integration, Hook: p.Sender.Hook(), Since: p.Since.UTC(), Until: p.Until.UTC(),
		Failed: []Failure{}, ByEvent: map[string]int{}, DryRun: p.DryRun}
	latest, unnamed, err := list(ctx, p)
	if err != nil {
		return r, err
	}
	ids := make([]string, 0, len(latest))
	for id := range latest {
		ids = append(ids, id)
	}
	held, err := p.Journal.Received(ctx, p.Integration, ids)
	if err != nil {
		return r, fmt.Errorf("recover: %w", err)
	}
	r.Listed = len(latest) + len(unnamed)
	for id, d := range latest {
		if held[id] {
			r.InJournal++
			continue
		}
		r.Missing = append(r.Missing, d)
	}
	slices.SortFunc(r.Missing, func(a, b Delivery) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID))
	})
	for _, d := range unnamed {
		r.ByEvent[d.Event]++
		r.Failed = append(r.Failed, Failure{ID: d.ID, Error: "the sender's record holds no delivery ID: it cannot be looked up in the journal"})
	}
	for _, d := range r.Missing {
		r.ByEvent[d.Event]++
		if p.DryRun {
			r.Requested++
			continue
		}
		if err := call(ctx, p, func() error { return p.Sender.Redeliver(ctx, d) }); err != nil {
			if ctx.Err() != nil {
				return r, ctx.Err()
			}
			r.Failed = append(r.Failed, Failure{ID: d.ID, GUID: d.GUID, Error: explain(p.Sender, err)})
			continue
		}
		r.Requested++
	}
	return r, nil
}

// list reads every page the window needs and returns the latest attempt
// of each GUID in it, and the attempts that name no GUID.
func list(ctx context.Context, p Pass) (map[string]Delivery, []Delivery, error) {
	latest := map[string]Delivery{}
	var unnamed []Delivery
	next := ""
	// Pages come newest first, so listing can stop at the first page that
	// ends before the window, unless the sender turns out not to keep
	// that order, in which case every page is read.
	descending := true
	var prev time.Time
	for page := 1; ; page++ {
		var items []Delivery
		var after string
		err := call(ctx, p, func() error {
			var err error
			items, after, err = p.Sender.List(ctx, next)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			return nil, nil, fmt.Errorf("recover %s: listing page %d: %s; nothing was requested", p.Sender.Hook(), page, explain(p.Sender, err))
		}
		for _, d := range items {
			if !prev.IsZero() && d.At.After(prev) {
				descending = false
			}
			prev = d.At
			if d.At.Before(p.Since) || d.At.After(p.Until) {
				continue
			}
			if d.GUID == "" {
				unnamed = append(unnamed, d)
				continue
			}
			if old, ok := latest[d.GUID]; !ok || d.At.After(old.At) || (d.At.Equal(old.At) && d.ID > old.ID) {
				latest[d.GUID] = d
			}
		}
		if after == "" || after == next || (descending && len(items) > 0 && items[len(items)-1].At.Before(p.Since)) {
			return latest, unnamed, nil
		}
		next = after
	}
}

// maxAttempts bounds the tries of one call.
const maxAttempts = 4

// call runs fn, retrying what the API says may succeed later: after the
// wait it asked for (a rate limit's reset, Retry-After), when that is at
// most MaxWait, or else after 1, 2 and 4 s for answers that name no wait.
func call(ctx context.Context, p Pass, fn func() error) error {
	backoff := time.Second
	for attempt := 1; ; attempt++ {
		err := fn()
		e, ok := apierror.As(err)
		if err == nil || !ok || !e.Retryable() || attempt == maxAttempts {
			return err
		}
		wait := e.RetryAfter
		if wait <= 0 {
			wait, backoff = backoff, backoff*2
		}
		if wait > p.MaxWait {
			return &waitError{err: e, wait: wait, max: p.MaxWait}
		}
		p.Logger.Warn("recover: waiting as the sender asks", "hook", p.Sender.Hook(), "wait", wait.String(), "status", e.Status)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// waitError is a rate limit that lasts longer than the pass would wait.
type waitError struct {
	err  *apierror.Error
	wait time.Duration
	max  time.Duration
}

func (e *waitError) Error() string {
	return fmt.Sprintf("%v: the sender asks to wait %s (until %s), longer than the %s this run waits",
		e.err, e.wait.Round(time.Second), time.Now().Add(e.wait).UTC().Format(time.RFC3339), e.max)
}

func (e *waitError) Unwrap() error { return e.err }

// explain is err with a hint for the failures people can fix.
func explain(s Sender, err error) string {
	var we *waitError
	if errors.As(err, &we) {
		return we.Error() + "; run again later or with a longer --max-wait"
	}
	e, ok := apierror.As(err)
	if !ok {
		return err.Error()
	}
	switch e.Status {
	case 401:
		return err.Error() + ": the credential was refused (check the token store entry, or HOOKFLOW_" + upper(s.Source()) + "_TOKEN)"
	case 403:
		return err.Error() + ": the credential may not manage this hook's deliveries (GitHub: the webhook admin permission or repository Webhooks write; GitLab: Maintainer or Owner)"
	case 404:
		return err.Error() + ": no such hook " + s.Hook() + ", or the credential cannot see it"
	case 429:
		return err.Error() + ": rate limited"
	}
	return err.Error()
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
