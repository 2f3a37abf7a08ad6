package journal

import (
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// textColumns encodes an entry's workflow IDs, keys and meta as the JSON
// text both journals store ("[]" and "{}" when empty, never null), into
// one buffer: json.Marshal of the three was a tenth of the allocations per
// delivery. Map keys are sorted, as json.Marshal sorts them.
func textColumns(e Entry) (workflowIDs, keys, meta string) {
	b, wf, k, _ := appendTextColumns(make([]byte, 0, 256), e)
	all := string(b)
	return all[:len(wf)], all[len(wf) : len(wf)+len(k)], all[len(wf)+len(k):]
}

// appendTextColumns is textColumns appending to b: it returns b extended
// and the three texts, which alias it.
func appendTextColumns(b []byte, e Entry) (out, workflowIDs, keys, meta []byte) {
	n0 := len(b)
	b = append(b, '[')
	for i, id := range e.WorkflowIDs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, id)
	}
	b = append(b, ']')
	n1 := len(b)
	b = appendJSONObject(b, e.Event.Keys)
	n2 := len(b)
	b = appendJSONObject(b, e.Event.Meta)
	return b, b[n0:n1:n1], b[n1:n2:n2], b[n2:]
}

func appendJSONObject(b []byte, m map[string]string) []byte {
	b = append(b, '{')
	var arr [16]string
	names := arr[:0]
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	for i, k := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendJSONString(b, k), ':')
		b = appendJSONString(b, m[k])
	}
	return append(b, '}')
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes
// U+FFFD, as json.Marshal makes it.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
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
