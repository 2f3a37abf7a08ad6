package blueprints

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTime is the one parser of time flags (--since, --until): "30d" (days
// before now), a Go duration before now ("36h", "90m"), or an RFC 3339
// time ("2026-11-01T00:00:00Z", or a date "2026-11-01", UTC).
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(d); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("time %q: want days (30d), a duration (36h) or an RFC 3339 time (2026-11-01T00:00:00Z)", s)
}
