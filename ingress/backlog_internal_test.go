package ingress

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/journal"
)

// slowBacklog is a journal whose backlog count takes until release is
// closed, as a count of a large backlog does.
type slowBacklog struct {
	journal.Journal
	release chan struct{}
	calls   atomic.Int32
	err     error
}

func (s *slowBacklog) Backlog(context.Context) (int, error) {
	s.calls.Add(1)
	<-s.release
	return 7, s.err
}

// TestBacklogGaugeCountsWithoutHoldingOthers: while one request counts the
// backlog, the others get the estimate at once and do not count again; a
// fresh count is used for 250 ms; a failed count keeps the estimate and
// the next request counts again.
func TestBacklogGaugeCountsWithoutHoldingOthers(t *testing.T) {
	ctx := context.Background()
	var g backlogGauge
	j := &slowBacklog{release: make(chan struct{})}
	now := time.Now()
	counted := make(chan int)
	go func() { counted <- g.get(ctx, j, now, nil) }()
	require.Eventually(t, func() bool { return j.calls.Load() == 1 }, 5*time.Second, time.Millisecond)

	other := make(chan int, 1)
	go func() { g.add(2); other <- g.get(ctx, j, now, nil) }()
	select {
	case n := <-other:
		require.Equal(t, 2, n, "the estimate")
	case <-time.After(5 * time.Second):
		t.Fatal("a request waited for another's count")
	}
	require.Equal(t, int32(1), j.calls.Load(), "one count at a time")

	close(j.release)
	require.Equal(t, 7, <-counted)
	require.Equal(t, 7, g.get(ctx, j, now.Add(249*time.Millisecond), nil))
	require.Equal(t, int32(1), j.calls.Load(), "a count is fresh for 250 ms")

	j.err = errors.New("journal unavailable")
	require.Equal(t, 7, g.get(ctx, j, now.Add(250*time.Millisecond), nil), "a failed count keeps the estimate")
	require.Equal(t, int32(2), j.calls.Load())
	j.err = nil
	g.add(1)
	require.Equal(t, 7, g.get(ctx, j, now.Add(251*time.Millisecond), nil), "counted again after the failure")
	require.Equal(t, int32(3), j.calls.Load())
}
