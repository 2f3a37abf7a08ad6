package ingress_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/hookflow/hookflow/ingress"
	"github.com/hookflow/hookflow/ingress/journal"
)

// TestDeliveryTraceIsJournaled: the trace context of the span that
// accepted a delivery is journaled with it (for the forwarder to
// continue), and the delivery's log line names the trace.
func TestDeliveryTraceIsJournaled(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	f := newFixtureWith(t, nil, func(c *ingress.Config) { c.Tracer = tp.Tracer("t") })
	code, out, _ := f.send(t, delivery{event: "pull_request", id: "tr-1", sig: sign(prBody, secret), body: prBody})
	require.Equal(t, http.StatusAccepted, code, out)
	spans := rec.Ended()
	require.Len(t, spans, 1)
	sc := spans[0].SpanContext()
	require.Equal(t, "hookflow.receive", spans[0].Name())

	p, err := f.journal.Pending(context.Background(), journal.PendingQuery{})
	require.NoError(t, err)
	require.Len(t, p, 1)
	require.Equal(t, "00-"+sc.TraceID().String()+"-"+sc.SpanID().String()+"-01", p[0].Event.TraceParent)
	require.Contains(t, f.logs.String(), `"trace_id":"`+sc.TraceID().String()+`"`)

	// Without tracing nothing is journaled.
	plain := newFixture(t, nil)
	code, out, _ = plain.send(t, delivery{event: "pull_request", id: "tr-2", sig: sign(prBody, secret), body: prBody})
	require.Equal(t, http.StatusAccepted, code, out)
	p, err = plain.journal.Pending(context.Background(), journal.PendingQuery{})
	require.NoError(t, err)
	require.Empty(t, p[0].Event.TraceParent)
}
