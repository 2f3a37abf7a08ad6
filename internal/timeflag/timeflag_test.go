package timeflag

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{in: "72h", want: 72 * time.Hour},
		{in: "90m", want: 90 * time.Minute},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "30d", want: 30 * Day},
		{in: "0d", want: 0},
		{in: "1d12h", want: 36 * time.Hour},
		{in: " 7d ", want: 7 * Day},
		{in: "0", want: 0},
		{in: "", err: true},
		{in: "d", err: true},
		{in: "1.5d", err: true},
		{in: "-1h", err: true},
		{in: "-1d", err: true},
		{in: "1d-1h", err: true},
		{in: "3 days", err: true},
		{in: "99999999999d", err: true},
		{in: "2026-12-01T10:00:00Z", err: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDuration(tc.in)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 10, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		err  bool
	}{
		{in: "72h", want: now.Add(-72 * time.Hour)},
		{in: "30d", want: now.Add(-30 * Day)},
		{in: "2026-12-01T10:00:00Z", want: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)},
		{in: "2026-12-01T10:00:00.5+01:00", want: time.Date(2026, 12, 1, 9, 0, 0, 5e8, time.UTC)},
		{in: "2026-12-01", err: true},
		{in: "yesterday", err: true},
		{in: "", err: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTime(tc.in, now)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.True(t, tc.want.Equal(got), "got %s, want %s", got, tc.want)
		})
	}
}
