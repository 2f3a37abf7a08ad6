package forward

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookflow/hookflow/ingress/journal"
)

// spanContextOf reads a journaled W3C traceparent.
func spanContextOf(traceParent string) trace.SpanContext {
	if traceParent == "" {
		return trace.SpanContext{}
	}
	ctx := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": traceParent})
	return trace.SpanContextFromContext(ctx)
}

// traceSignal starts the span of one SignalWithStart: a child of the
// trace its first event was accepted in (the ingress's hookflow.receive
// span, journaled with the delivery), linked to the traces of the other
// events batched with it. The Temporal client's tracing interceptor
// continues it into the workflow and its activities.
func (f *Forwarder) traceSignal(ctx context.Context, workflowID string, routes []journal.Pending) (context.Context, trace.Span) {
	var parent trace.SpanContext
	var links []trace.Link
	for _, p := range routes {
		sc := spanContextOf(p.Event.TraceParent)
		switch {
		case !sc.IsValid():
		case !parent.IsValid():
			parent = sc
		case sc.TraceID() != parent.TraceID():
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	if parent.IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, parent)
	}
	return f.cfg.Tracer.Start(ctx, "hookflow.forward", trace.WithSpanKind(trace.SpanKindProducer), trace.WithLinks(links...),
		trace.WithAttributes(attribute.String("hookflow.workflow_id", workflowID), attribute.Int("hookflow.events", len(routes)),
			attribute.String("hookflow.delivery_id", routes[0].Event.DeliveryID)))
}

// endSignal ends a signal's span with its outcome.
func endSignal(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "signal failed")
	}
	span.End()
}

// traceIDOf is a journaled traceparent's trace ID, for log lines.
func traceIDOf(traceParent string) string {
	sc := spanContextOf(traceParent)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}
