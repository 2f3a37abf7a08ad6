package journal

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/workflows"
)

// requireColumnsRoundTrip: what textColumns writes is JSON that decodes to
// what json.Marshal's output decodes to (the form journals wrote before).
func requireColumnsRoundTrip(t *testing.T, e Entry) {
	t.Helper()
	wf, keys, meta := textColumns(e)
	for _, c := range []struct {
		got string
		v   any
	}{{wf, e.WorkflowIDs}, {keys, e.Event.Keys}, {meta, e.Event.Meta}} {
		require.True(t, json.Valid([]byte(c.got)), c.got)
		want, err := json.Marshal(c.v)
		require.NoError(t, err)
		var gotV, wantV any
		require.NoError(t, json.Unmarshal([]byte(c.got), &gotV))
		require.NoError(t, json.Unmarshal(want, &wantV))
		if string(want) == "null" {
			require.Contains(t, []string{"[]", "{}"}, c.got, "empty, never null")
			continue
		}
		require.Equal(t, wantV, gotV, "%s against %s", c.got, want)
	}
}

func TestTextColumns(t *testing.T) {
	t.Parallel()
	odd := "quote\" backslash\\ nl\n cr\r tab\t nul\x00 bell\x07 del\x7f <&> \u2028 é 😀 bad\xff\xfe utf8 \xe2\x82"
	for _, e := range []Entry{
		{},
		{WorkflowIDs: []string{}, Event: workflows.Event{Keys: map[string]string{}, Meta: map[string]string{}}},
		{WorkflowIDs: []string{"github/o/r/pr/1", "b"}, Event: workflows.Event{Keys: map[string]string{"repo": "o/r", "pr": "1", "a": ""}}},
		{WorkflowIDs: []string{odd}, Event: workflows.Event{Keys: map[string]string{odd: odd}, Meta: map[string]string{"x-github-hook-id": "1", odd: ""}}},
		{Event: workflows.Event{Keys: func() map[string]string {
			m := map[string]string{}
			for i := range 40 {
				m[strings.Repeat("k", i+1)] = strings.Repeat("v", 40-i)
			}
			return m
		}()}},
	} {
		requireColumnsRoundTrip(t, e)
	}
	_, keys, _ := textColumns(Entry{Event: workflows.Event{Keys: map[string]string{"b": "2", "a": "1", "c": "3"}}})
	require.Equal(t, `{"a":"1","b":"2","c":"3"}`, keys, "keys sorted")
}

func FuzzTextColumns(f *testing.F) {
	f.Add("github/o/r/pr/1", "repo", "o/r")
	f.Add("\x00\xff\"\\", "\u2028", "\x7f")
	f.Fuzz(func(t *testing.T, id, k, v string) {
		requireColumnsRoundTrip(t, Entry{WorkflowIDs: []string{id, v}, Event: workflows.Event{Keys: map[string]string{k: v, v: k}, Meta: map[string]string{k: id}}})
	})
}
