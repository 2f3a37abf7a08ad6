package workflows

// Typed views read what an entity looks like from an event's payload: a
// provider-neutral pull request, the commits of a push, a deployment, a Jira
// issue, a ServiceNow record. They are pure functions of their arguments
// (no I/O, no clock, no globals), so a blueprint may call them in workflow
// code and a replay gets the same answer.
//
// Each view has two forms: XxxOf(source, eventType, payload) over the bytes
// of a payload, for code that holds the bytes but no Event (an activity that
// read a payload held by reference), and XxxOfEvent(ev) over an Event.
// Views are built from the senders' documented payload shapes and accept
// any input without panicking: a payload that is not what the event type
// promises is an error, never a zero value passed off as data.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The Event.Source of each sender.
const (
	SourceGitHub     = "github"
	SourceGitLab     = "gitlab"
	SourceBitbucket  = "bitbucket"
	SourceJira       = "jira"
	SourceServiceNow = "servicenow"
	SourceGeneric    = "generic"
)

// ErrNotThisView is returned (wrapped) by a view asked about an event it
// does not describe: a push asked for its pull request, a Jira event from a
// GitLab integration. Test for it with errors.Is to skip such events.
var ErrNotThisView = errors.New("the event is not of a kind this view describes")

// ErrNoPayload is returned (wrapped) by a view over an event that carries no
// payload: one held by reference, whose bytes the blueprint must read
// first (and pass to the bytes form of the view).
var ErrNoPayload = errors.New("the event carries no payload")

func notThisView(view, source, eventType string) error {
	return fmt.Errorf("workflows: %s: %s event %q: %w", view, source, eventType, ErrNotThisView)
}

// decode unmarshals a JSON object payload into v. A field of an unexpected
// JSON type is left at its zero value, as the ingress does, so that one
// odd field does not hide the rest; the view then checks the fields it
// needs. Anything but a JSON object is an error.
func decode(view string, payload []byte, v any) error {
	b := bytes.TrimLeft(payload, " \t\r\n")
	if len(b) == 0 {
		return fmt.Errorf("workflows: %s: %w", view, ErrNoPayload)
	}
	if b[0] != '{' {
		return fmt.Errorf("workflows: %s: payload is not a JSON object", view)
	}
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(b, v); err != nil && !errors.As(err, &typeErr) {
		return fmt.Errorf("workflows: %s: %w", view, err)
	}
	return nil
}

// eventHost is the KeyHost of ev, or else the host the view read from the
// payload: the ingress sees headers (X-GitHub-Enterprise-Host,
// X-Gitlab-Instance) that the payload does not carry.
func eventHost(ev Event, fromPayload string) string {
	if h := ev.Key(KeyHost); h != "" {
		return h
	}
	return fromPayload
}

// splitPath splits "a/b/c" into "a/b" and "c".
func splitPath(path string) (owner, name string) {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return "", path
	}
	return path[:i], path[i+1:]
}

// id is a number or a string in JSON, kept as its decimal text. Other JSON
// values leave it empty rather than failing the decoding.
type id string

func (i *id) UnmarshalJSON(b []byte) error {
	var n json.Number
	if json.Unmarshal(b, &n) == nil {
		*i = id(n.String())
		return nil
	}
	var s string
	_ = json.Unmarshal(b, &s)
	*i = id(s)
	return nil
}

// int64 returns the ID as a positive integer, or 0.
func (i id) int64() int64 {
	n, err := strconv.ParseInt(string(i), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// text is a JSON string, or a number or boolean as text (ServiceNow
// scripts send either). Other values leave it empty.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*t = text(s)
		return nil
	}
	var n json.Number
	if json.Unmarshal(b, &n) == nil {
		*t = text(n.String())
		return nil
	}
	if string(b) == "true" || string(b) == "false" {
		*t = text(b)
	}
	return nil
}

// stamp is a timestamp in any of the layouts the senders use: RFC 3339
// (GitHub, GitLab, Bitbucket Cloud), GitLab's "2021-04-28 21:50:00 +0200"
// and "... UTC", Jira's "2024-09-30T10:05:12.845+0000", or epoch
// milliseconds (Bitbucket Data Center, Jira). Anything else is the zero
// time. Times are in UTC: the same payload gives the same value on every
// worker, whatever its local time zone.
type stamp time.Time

var stampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.000-0700",
	"2006-01-02T15:04:05-0700",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05 MST",
	"2006-01-02 15:04:05",
}

func (s *stamp) UnmarshalJSON(b []byte) error {
	var n int64
	if json.Unmarshal(b, &n) == nil {
		*s = stamp(time.UnixMilli(n).UTC())
		return nil
	}
	var str string
	if json.Unmarshal(b, &str) != nil {
		return nil
	}
	for _, layout := range stampLayouts {
		if t, err := time.Parse(layout, str); err == nil {
			*s = stamp(t.UTC())
			return nil
		}
	}
	return nil
}

func (s stamp) time() time.Time { return time.Time(s) }

// errorf is an error of view about a payload that is not what its event
// type promises.
func errorf(view, format string, args ...any) error {
	return fmt.Errorf("workflows: "+view+": "+format, args...)
}
