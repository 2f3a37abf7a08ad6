// Package timeflag reads the times and durations command-line flags take:
// "30d", a Go duration ("72h", "1h30m") or an RFC 3339 time.
package timeflag

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Day is the length of the "d" unit: 24 hours, whatever the calendar says.
const Day = 24 * time.Hour

// ParseDuration reads a non-negative duration: a Go duration ("72h",
// "90m", "1h30m"), or a whole number of days, optionally followed by a Go
// duration ("30d", "1d12h").
func ParseDuration(v string) (time.Duration, error) {
	s := strings.TrimSpace(v)
	if s == "" {
		return 0, errors.New("timeflag: empty duration")
	}
	var total time.Duration
	if days, rest, ok := strings.Cut(s, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("timeflag: %q: want a whole number of days before d (30d), or a Go duration (72h)", v)
		}
		total = time.Duration(n) * Day
		if total/Day != time.Duration(n) {
			return 0, fmt.Errorf("timeflag: %q is too long", v)
		}
		s = rest
		if s == "" {
			return total, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("timeflag: %q is not a duration (30d, 72h, 1h30m)", v)
	}
	if d < 0 || (total > 0 && strings.HasPrefix(s, "-")) {
		return 0, fmt.Errorf("timeflag: %q: a duration must not be negative", v)
	}
	if total+d < total {
		return 0, fmt.Errorf("timeflag: %q is too long", v)
	}
	return total + d, nil
}

// ParseTime reads a moment: a duration as ParseDuration reads it, meaning
// that long before now, or an RFC 3339 time ("2026-12-01T10:00:00Z",
// fractional seconds allowed).
func ParseTime(v string, now time.Time) (time.Time, error) {
	if d, err := ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v)); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("timeflag: %q is neither a duration ago (30d, 72h) nor an RFC 3339 time (2026-12-01T10:00:00Z)", v)
}
