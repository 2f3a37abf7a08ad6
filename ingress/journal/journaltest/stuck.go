package journaltest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/journal"
)

// stuck: the oldest pending route, workflows over the backlog threshold
// and routes that keep failing; held routes are none of these.
func stuck(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j := open()
	defer j.Close()
	st, ok := j.(journal.Stuckness)
	if !ok {
		t.Skipf("%T does not implement journal.Stuckness", j)
	}
	rep, err := st.Stuck(ctx, journal.StuckQuery{})
	require.NoError(t, err)
	require.Nil(t, rep.OldestPending, "nothing pending")
	require.Zero(t, rep.MaxEntityBacklog)
	require.Empty(t, rep.Backlogged)
	require.Empty(t, rep.Failing)

	old := routeTo("int_st", "old", "wf-slow")
	old.Event.ReceivedAt = time.Now().Add(-time.Hour).UTC()
	first, err := j.Append(ctx, old)
	require.NoError(t, err)
	for i := range 4 {
		_, err := j.Append(ctx, routeTo("int_st", fmt.Sprint("busy-", i), "wf-busy"))
		require.NoError(t, err)
	}
	for i := range 3 {
		_, err := j.Append(ctx, routeTo("int_st", fmt.Sprint("mid-", i), "wf-mid"))
		require.NoError(t, err)
	}
	failing, err := j.Append(ctx, routeTo("int_st", "failing", "wf-fail"))
	require.NoError(t, err)
	for range 3 {
		require.NoError(t, j.MarkRoutes(ctx, journal.RouteMark{Seq: failing.Seq, WorkflowID: "wf-fail", Retry: true,
			Reason: "retrying: temporal unavailable", RetryAt: time.Now()}))
	}

	rep, err = st.Stuck(ctx, journal.StuckQuery{BacklogAbove: 2, MinAttempts: 3, Since: time.Now().Add(-time.Minute)})
	require.NoError(t, err)
	require.NotNil(t, rep.OldestPending)
	require.Equal(t, first.Seq, rep.OldestPending.Seq)
	require.Equal(t, "wf-slow", rep.OldestPending.WorkflowID)
	require.WithinDuration(t, old.Event.ReceivedAt, rep.OldestPending.ReceivedAt, time.Millisecond)
	require.Equal(t, 4, rep.MaxEntityBacklog)
	require.Equal(t, 2, rep.BackloggedTotal)
	require.Len(t, rep.Backlogged, 2)
	require.Equal(t, "wf-busy", rep.Backlogged[0].WorkflowID, "most pending first")
	require.Equal(t, 4, rep.Backlogged[0].Pending)
	require.Equal(t, "wf-mid", rep.Backlogged[1].WorkflowID)
	require.Equal(t, 1, rep.FailingTotal)
	require.Equal(t, journal.StuckRoute{Seq: failing.Seq, DeliveryID: "failing", Integration: "int_st", WorkflowID: "wf-fail", Attempts: 3,
		Reason: "retrying: temporal unavailable", UpdatedAt: rep.Failing[0].UpdatedAt}, rep.Failing[0])
	require.Equal(t, []string{"wf-fail", "wf-mid", "wf-busy"}, rep.RecentWorkflows, "received in the last minute, latest first")

	limited, err := st.Stuck(ctx, journal.StuckQuery{BacklogAbove: 2, MinAttempts: 4, Limit: 1})
	require.NoError(t, err)
	require.Equal(t, 2, limited.BackloggedTotal)
	require.Len(t, limited.Backlogged, 1)
	require.Zero(t, limited.FailingTotal, "three attempts are not four")
	require.Nil(t, limited.RecentWorkflows)

	// Paused on purpose is not stuck.
	p, ok := j.(journal.Pauses)
	if !ok {
		return
	}
	_, err = p.Pause(ctx, journal.Pause{Kind: journal.PauseIntegration, ID: "int_st"})
	require.NoError(t, err)
	rep, err = st.Stuck(ctx, journal.StuckQuery{BacklogAbove: 2, MinAttempts: 3})
	require.NoError(t, err)
	require.Nil(t, rep.OldestPending)
	require.Zero(t, rep.MaxEntityBacklog)
	require.Zero(t, rep.FailingTotal)
}
