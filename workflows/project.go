package workflows

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// MaxProjectionBytes bounds what one projection returns, so that a
// blueprint asking for a large part of a large payload gets an error
// instead of a history that holds it.
const MaxProjectionBytes = 64 << 10

// Projection is the parts of a payload a blueprint asked for: each path's
// JSON value, as it is in the payload. Paths the payload lacks are in
// Missing, not in Values.
type Projection struct {
	Values  map[string]json.RawMessage `json:"values"`
	Missing []string                   `json:"missing,omitempty"`
}

// String returns path's value when it is a JSON string, "" otherwise.
func (p Projection) String(path string) string {
	var s string
	if json.Unmarshal(p.Values[path], &s) != nil {
		return ""
	}
	return s
}

// Project returns the values of paths in payload. A path is a list of
// object keys and array indexes separated by dots ("pull_request.head.sha",
// "commits.0.id"); a key that itself holds a dot cannot be named. It reads
// the payload level by level, decoding only the values on the paths.
func Project(payload []byte, paths []string) (Projection, error) {
	out := Projection{Values: make(map[string]json.RawMessage, len(paths))}
	size := 0
	for _, path := range paths {
		if path == "" {
			return Projection{}, fmt.Errorf("project: empty path")
		}
		v, ok, err := lookup(payload, strings.Split(path, "."))
		if err != nil {
			return Projection{}, fmt.Errorf("project %q: %w", path, err)
		}
		if !ok {
			out.Missing = append(out.Missing, path)
			continue
		}
		if size += len(v); size > MaxProjectionBytes {
			return Projection{}, fmt.Errorf("project %q: the values asked for exceed %d bytes: ask for smaller parts", path, MaxProjectionBytes)
		}
		out.Values[path] = append(json.RawMessage(nil), v...)
	}
	return out, nil
}

func lookup(doc []byte, path []string) (json.RawMessage, bool, error) {
	cur := json.RawMessage(doc)
	for _, seg := range path {
		trimmed := bytes.TrimLeft(cur, " \t\r\n")
		if len(trimmed) == 0 {
			return nil, false, fmt.Errorf("not JSON")
		}
		switch trimmed[0] {
		case '{':
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(trimmed, &obj); err != nil {
				return nil, false, fmt.Errorf("not JSON: %w", err)
			}
			next, ok := obj[seg]
			if !ok {
				return nil, false, nil
			}
			cur = next
		case '[':
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 {
				return nil, false, nil
			}
			var arr []json.RawMessage
			if err := json.Unmarshal(trimmed, &arr); err != nil {
				return nil, false, fmt.Errorf("not JSON: %w", err)
			}
			if i >= len(arr) {
				return nil, false, nil
			}
			cur = arr[i]
		default:
			return nil, false, nil
		}
	}
	return bytes.TrimSpace(cur), true, nil
}
