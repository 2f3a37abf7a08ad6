package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// tracing is a process's OpenTelemetry setup.
type tracing struct {
	// provider is a no-op provider when tracing is off.
	provider trace.TracerProvider
	// enabled says whether spans are exported.
	enabled  bool
	shutdown func(context.Context) error
}

// temporalInterceptors traces Temporal client calls, workflows and
// activities (go.temporal.io/sdk/contrib/opentelemetry) when tracing is on.
func (t *tracing) temporalInterceptors() ([]interceptor.ClientInterceptor, error) {
	if !t.enabled {
		return nil, nil
	}
	i, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{Tracer: t.provider.Tracer("github.com/hookflow/hookflow/temporal")})
	if err != nil {
		return nil, fmt.Errorf("temporal tracing: %w", err)
	}
	return []interceptor.ClientInterceptor{i}, nil
}

// httpClient is the HTTP client of a connector: its calls traced (a
// client span per request, as a child of the span of the context the
// request carries: the activity's) when tracing is on, with timeout (0:
// none); nil when tracing is off, so the connector keeps its own default.
func (t *tracing) httpClient(timeout time.Duration) *http.Client {
	if t == nil || !t.enabled {
		return nil
	}
	return &http.Client{Timeout: timeout, Transport: otelhttp.NewTransport(http.DefaultTransport, otelhttp.WithTracerProvider(t.provider))}
}

// noTracing is tracing that is off.
func noTracing() *tracing {
	return &tracing{provider: noop.NewTracerProvider(), shutdown: func(context.Context) error { return nil }}
}

// newTracing exports spans to the OTLP endpoint in
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
// configured by the standard OTEL_* variables; without one, tracing is
// off. shutdown flushes spans.
func newTracing(ctx context.Context, component string) (*tracing, error) {
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return noTracing(), nil
	}
	exp, err := otlptracegrpc.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("otlp trace exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName("hookflow"), semconv.ServiceInstanceID(component)))
	if err != nil {
		res = resource.Default()
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	shutdown := func(ctx context.Context) error {
		// Flush what is buffered, but never hold up a stop for a
		// collector that does not answer.
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return tp.Shutdown(ctx)
	}
	return &tracing{provider: tp, enabled: true, shutdown: shutdown}, nil
}
