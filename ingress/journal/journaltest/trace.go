package journaltest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/journal"
)

// traceParent: the trace a delivery was accepted in comes back with its
// pending routes; a delivery without one has none.
func traceParent(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j := open()
	defer j.Close()
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	traced := routeTo("int_tr", "traced", "wf-tr")
	traced.Event.TraceParent = tp
	_, err := j.Append(ctx, traced)
	require.NoError(t, err)
	_, err = j.Append(ctx, routeTo("int_tr", "untraced", "wf-tr"))
	require.NoError(t, err)
	p := pending(t, j, 10)
	require.Len(t, p, 2)
	require.Equal(t, tp, p[0].Event.TraceParent)
	require.Empty(t, p[1].Event.TraceParent)
}
