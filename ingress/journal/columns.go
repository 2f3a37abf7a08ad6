package journal

import (
	"encoding/json"
	"fmt"
	"time"
)

// textColumns encodes an entry's workflow IDs, keys and meta as the JSON
// text both journals store ("[]" and "{}" when empty, never null).
func textColumns(e Entry) (workflowIDs, keys, meta string) {
	wf, _ := json.Marshal(nonNilSlice(e.WorkflowIDs)) // strings and maps of strings always marshal
	k, _ := json.Marshal(nonNil(e.Event.Keys))
	m, _ := json.Marshal(nonNil(e.Event.Meta))
	return string(wf), string(k), string(m)
}

// dedupKey is the value the unique (integration, dedup key) index sees:
// the delivery ID for entries that took a delivery (accepted, ignored),
// nil (never colliding) for the records of refusals and redeliveries.
func dedupKey(e Entry) any {
	if (e.Status == Accepted || e.Status == Ignored) && e.Event.DeliveryID != "" {
		return e.Event.DeliveryID
	}
	return nil
}

// replayCopy is the entry Replay appends for orig: accepted, received at
// now, with its delivery ID and no dedup key (the original holds it), or,
// asNew, with a new delivery ID that is its dedup key.
func replayCopy(orig Entry, asNew bool, now time.Time) (e Entry, dedup any, err error) {
	if len(orig.Event.Payload) == 0 {
		return Entry{}, nil, fmt.Errorf("entry %d (%s): %w", orig.Event.Seq, orig.Status, ErrNotReplayable)
	}
	e = Entry{Event: orig.Event, Status: Accepted, Reason: fmt.Sprintf("replay of entry %d", orig.Event.Seq)}
	for _, r := range orig.Routes {
		e.Routes = append(e.Routes, Route{Blueprint: r.Blueprint, Workflow: r.Workflow, WorkflowID: r.WorkflowID})
	}
	prepareRoutes(&e)
	e.Event.ReceivedAt = now.UTC()
	if asNew {
		e.Event.DeliveryID = fmt.Sprintf("%s.replay-%d", orig.Event.DeliveryID, now.UnixNano())
		dedup = e.Event.DeliveryID
	}
	return e, dedup, nil
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilSlice(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
