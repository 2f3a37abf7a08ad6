package recovery

import (
	"context"
	"time"
)

// RequestedGUIDs returns the GUIDs of the deliveries r asked the sender for.
func (r Report) RequestedGUIDs() []string {
	if r.DryRun {
		return nil
	}
	failed := map[string]bool{}
	for _, f := range r.Failed {
		failed[f.GUID] = true
	}
	var out []string
	for _, d := range r.Missing {
		if !failed[d.GUID] {
			out = append(out, d.GUID)
		}
	}
	return out
}

// AwaitArrival waits until the journal holds every one of guids for
// integration, or timeout passes, polling every poll (zero: 250 ms). It
// returns the GUIDs still missing: a sender redelivers on its own time,
// and a redelivery may be refused again at the door.
func AwaitArrival(ctx context.Context, j Journal, integration string, guids []string, timeout, poll time.Duration) ([]string, error) {
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	deadline := time.Now().Add(timeout)
	pending := guids
	for {
		held, err := j.Received(ctx, integration, pending)
		if err != nil {
			return pending, err
		}
		var still []string
		for _, id := range pending {
			if !held[id] {
				still = append(still, id)
			}
		}
		pending = still
		if len(pending) == 0 || !time.Now().Before(deadline) {
			return pending, nil
		}
		t := time.NewTimer(min(poll, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return pending, ctx.Err()
		case <-t.C:
		}
	}
}
