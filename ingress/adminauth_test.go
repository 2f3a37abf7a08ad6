package ingress

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBadTokensDelayAndLog(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	type step struct {
		at       time.Duration
		delay    time.Duration
		refusals int
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"a guess every 100 ms", []step{
			{0, 100 * time.Millisecond, 1},
			{100 * time.Millisecond, 200 * time.Millisecond, 0},
			{200 * time.Millisecond, 400 * time.Millisecond, 0},
			{300 * time.Millisecond, 800 * time.Millisecond, 0},
			{400 * time.Millisecond, time.Second, 0},
			{500 * time.Millisecond, time.Second, 0},
			{1100 * time.Millisecond, time.Second, 6}, // one line a second, counting the unlogged
			{1200 * time.Millisecond, time.Second, 0},
		}},
		{"a mistyped token now and then", []step{
			{0, 100 * time.Millisecond, 1},
			{badTokenMemory, 100 * time.Millisecond, 1},
			{3 * badTokenMemory, 100 * time.Millisecond, 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b badTokens
			for i, s := range tt.steps {
				delay, n := b.refuse(t0.Add(s.at))
				require.Equal(t, s.delay, delay, "step %d", i)
				require.Equal(t, s.refusals, n, "step %d", i)
			}
		})
	}
}
