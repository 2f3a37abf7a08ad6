package main

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
)

// collector is an OTLP/gRPC trace receiver that remembers span names.
type collector struct {
	collectortrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []string
}

func (c *collector) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				c.spans = append(c.spans, s.GetName())
			}
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func TestTracingExportsOverOTLP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	col := &collector{}
	collectortrace.RegisterTraceServiceServer(srv, col)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+ln.Addr().String())
	t.Setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
	tr, err := newTracing(context.Background(), "test")
	require.NoError(t, err)
	require.True(t, tr.enabled)
	interceptors, err := tr.temporalInterceptors()
	require.NoError(t, err)
	require.Len(t, interceptors, 1)
	_, span := tr.provider.Tracer("t").Start(context.Background(), "hookflow.receive")
	span.End()
	require.NoError(t, tr.shutdown(context.Background()))
	col.mu.Lock()
	defer col.mu.Unlock()
	require.Equal(t, []string{"hookflow.receive"}, col.spans)
}

func TestTracingOffWithoutEndpoint(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	tr, err := newTracing(context.Background(), "test")
	require.NoError(t, err)
	require.False(t, tr.enabled)
	interceptors, err := tr.temporalInterceptors()
	require.NoError(t, err)
	require.Empty(t, interceptors)
	require.Nil(t, tr.httpClient(time.Second), "connectors keep their own clients")
	var none *tracing
	require.Nil(t, none.httpClient(time.Second))
}
