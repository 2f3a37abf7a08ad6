package forward_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/ingress/forward"
)

// spanSeer records the span context each SignalWithStart is called in:
// what the Temporal client's tracing interceptor would continue.
type spanSeer struct {
	fakeTemporal
	mu   sync.Mutex
	seen []trace.SpanContext
}

func (s *spanSeer) SignalWithStartWorkflow(ctx context.Context, id, signal string, arg any, opts client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	s.mu.Lock()
	s.seen = append(s.seen, trace.SpanContextFromContext(ctx))
	s.mu.Unlock()
	return s.fakeTemporal.SignalWithStartWorkflow(ctx, id, signal, arg, opts, wf, args...)
}

// TestSignalContinuesTheDeliverysTrace: the signal's span is a child of
// the trace its first delivery was accepted in, linked to the others'.
func TestSignalContinuesTheDeliverysTrace(t *testing.T) {
	t.Parallel()
	j := newJournal(t)
	const (
		first  = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		second = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	)
	a, b := event("t1", "pull_request", "opened", "9"), event("t2", "pull_request", "edited", "9")
	a.TraceParent, b.TraceParent = first, second
	accept(t, j, a)
	accept(t, j, b)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tc := &spanSeer{}
	f, err := forward.New(forward.Config{Journal: j, Temporal: tc, Router: router(), Idle: 10 * time.Millisecond, Tracer: tp.Tracer("t")})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	require.Eventually(t, func() bool { return len(tc.applied("pr/9")) == 2 }, wait, tick)

	tc.mu.Lock()
	require.Len(t, tc.seen, 1, "one signal for both")
	seen := tc.seen[0]
	tc.mu.Unlock()
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", seen.TraceID().String(), "the first delivery's trace")
	spans := rec.Ended()
	require.Len(t, spans, 1)
	s := spans[0]
	require.Equal(t, "hookflow.forward", s.Name())
	require.Equal(t, seen.SpanID(), s.SpanContext().SpanID(), "the call runs in the forward span")
	require.Equal(t, "00f067aa0ba902b7", s.Parent().SpanID().String(), "a child of the ingress span")
	require.Len(t, s.Links(), 1)
	require.Equal(t, "0af7651916cd43dd8448eb211c80319c", s.Links()[0].SpanContext.TraceID().String(), "linked to the second delivery's trace")
}
