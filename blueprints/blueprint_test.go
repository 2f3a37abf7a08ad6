package blueprints

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "30d", want: now.AddDate(0, 0, -30)},
		{in: "0d", want: now},
		{in: "36h", want: now.Add(-36 * time.Hour)},
		{in: "90m", want: now.Add(-90 * time.Minute)},
		{in: "2026-11-01T08:30:00Z", want: time.Date(2026, 11, 1, 8, 30, 0, 0, time.UTC)},
		{in: "2026-11-01", want: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{in: "-3d", wantErr: true},
		{in: "-1h", wantErr: true},
		{in: "yesterday", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTime(tt.in, now)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.True(t, tt.want.Equal(got), "got %s", got)
		})
	}
}

func TestCheckName(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"prcomment", "catalog", "dora2"} {
		require.NoError(t, CheckName(ok), ok)
	}
	for _, bad := range []string{"", "PrComment", "pr-comment", "pr_comment", "2fa", "func", "audit", "config", "github"} {
		require.Error(t, CheckName(bad), bad)
	}
}
