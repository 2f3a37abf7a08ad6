package e2e

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
)

// otlpCollector is an OTLP/gRPC trace receiver that keeps every span.
type otlpCollector struct {
	collectortrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (c *otlpCollector) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			c.spans = append(c.spans, ss.GetSpans()...)
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// trace returns the spans of the trace the span named name belongs to.
func (c *otlpCollector) trace(name, attrValue string) []*tracepb.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	var id []byte
	for _, s := range c.spans {
		if s.GetName() == name && strings.Contains(s.String(), attrValue) {
			id = s.GetTraceId()
		}
	}
	var out []*tracepb.Span
	for _, s := range c.spans {
		if id != nil && string(s.GetTraceId()) == string(id) {
			out = append(out, s)
		}
	}
	return out
}

// TestOneTracePerDelivery: under hookflow dev with an OTLP collector, one
// delivery is one trace, from the HTTP request through the forwarder's
// signal, the workflow and its activity to the connector's call to
// GitHub.
func TestOneTracePerDelivery(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	col := &otlpCollector{}
	collectortrace.RegisterTraceServiceServer(srv, col)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+ln.Addr().String())
	t.Setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "200")

	bin := hookflowBinary(t)
	gh := newFakeGitHub(t)
	h := startDev(t, bin, t.TempDir(), gh.URL)
	var in struct{ ID, URL, Secret string }
	require.NoError(t, json.Unmarshal(h.cli(t, "integrations", "create", "--source", "github", "--name", "traced", "--output", "json"), &in))
	code, answer := post(t, in.URL, in.Secret, "pull_request", "traced-opened", padded(t, 30, 1))
	require.Equal(t, http.StatusAccepted, code, answer)

	var spans []*tracepb.Span
	names := func() map[string]*tracepb.Span {
		m := map[string]*tracepb.Span{}
		for _, s := range spans {
			m[s.GetName()] = s
		}
		return m
	}
	var outbound *tracepb.Span
	require.Eventually(t, func() bool {
		spans = col.trace("hookflow.receive", "traced-opened")
		outbound = nil
		for _, s := range spans {
			if s.GetKind() == tracepb.Span_SPAN_KIND_CLIENT && strings.Contains(s.String(), "/repos/Codertocat/Hello-World/issues/30/comments") &&
				strings.Contains(s.String(), "POST") {
				outbound = s
			}
		}
		n := names()
		return outbound != nil && n["hookflow.forward"] != nil && n["RunActivity:github.CreateComment"] != nil
	}, 2*time.Minute, 250*time.Millisecond, "the trace reaches the connector's call")

	// The workflow's own span ends with the workflow: close the pull
	// request.
	closed := []byte(strings.Replace(string(padded(t, 30, 1)), `"action":"opened"`, `"action":"closed"`, 1))
	code, answer = post(t, in.URL, in.Secret, "pull_request", "traced-closed", closed)
	require.Equal(t, http.StatusAccepted, code, answer)
	ancestry := func() []string {
		byID := map[string]*tracepb.Span{}
		for _, s := range spans {
			byID[hex.EncodeToString(s.GetSpanId())] = s
		}
		var chain []string
		for s := outbound; s != nil; s = byID[hex.EncodeToString(s.GetParentSpanId())] {
			chain = append(chain, s.GetName())
		}
		return chain
	}
	var chain []string
	require.Eventually(t, func() bool {
		spans = col.trace("hookflow.receive", "traced-opened")
		chain = ancestry()
		return chain[len(chain)-1] == "hookflow.receive"
	}, time.Minute, 250*time.Millisecond, "the outbound call's ancestry goes back to the HTTP request")

	n := names()
	receive, forward := n["hookflow.receive"], n["hookflow.forward"]
	require.Equal(t, receive.GetSpanId(), forward.GetParentSpanId(), "the forwarder's span continues the ingress span")
	require.NotNil(t, n["SignalWithStartWorkflow:prcomment.PullRequest"], "the Temporal client's span: %v", keys(n))
	require.NotNil(t, n["HandleSignal:events"], "the workflow's span: %v", keys(n))
	require.Contains(t, chain, "RunActivity:github.CreateComment")
	require.Contains(t, chain, "hookflow.forward")
	require.Contains(t, chain, "SignalWithStartWorkflow:prcomment.PullRequest")
	t.Logf("the outbound call's ancestry: %s", strings.Join(chain, " <- "))
	h.stop(t)
	require.Contains(t, h.logs(), `"trace_id":"`+hex.EncodeToString(receive.GetTraceId())+`"`, "the delivery's log line names its trace")
}

func keys(m map[string]*tracepb.Span) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
