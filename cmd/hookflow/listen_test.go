package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// --admin-http serves the admin API and /metrics on their own listener;
// the webhook listener then serves neither.
func TestRunIngressAdminListener(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	public, admin := make(chan net.Addr, 1), make(chan net.Addr, 1)
	cfg := ingressConfig{HTTPAddr: "127.0.0.1:0", AdminHTTP: "127.0.0.1:0", DataDir: t.TempDir(), TaskQueue: "q", AdminToken: testAdminToken,
		Ready: func(a net.Addr) { public <- a }, AdminReady: func(a net.Addr) { admin <- a }}
	done := make(chan error, 1)
	go func() { done <- runIngress(ctx, cfg, slog.New(slog.DiscardHandler)) }()
	var pub, adm net.Addr
	for pub == nil || adm == nil {
		select {
		case pub = <-public:
		case adm = <-admin:
		case err := <-done:
			t.Fatalf("runIngress: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("listeners not up")
		}
	}
	get := func(addr net.Addr, path string) int {
		req, err := http.NewRequest(http.MethodGet, "http://"+addr.String()+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusNotFound, get(pub, "/admin/v1/integrations"))
	require.Equal(t, http.StatusNotFound, get(pub, "/metrics"))
	require.Equal(t, http.StatusOK, get(pub, "/healthz"))
	require.Equal(t, http.StatusOK, get(adm, "/admin/v1/integrations"))
	require.Equal(t, http.StatusOK, get(adm, "/metrics"))
	cancel()
	require.NoError(t, <-done)
}

// An admin address that cannot be listened on stops the ingress with the
// error, instead of running without its admin API.
func TestRunIngressAdminListenFails(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { taken.Close() })
	cfg := ingressConfig{HTTPAddr: "127.0.0.1:0", AdminHTTP: taken.Addr().String(), DataDir: t.TempDir(), TaskQueue: "q", AdminToken: testAdminToken}
	done := make(chan error, 1)
	go func() { done <- runIngress(context.Background(), cfg, slog.New(slog.DiscardHandler)) }()
	select {
	case err := <-done:
		require.ErrorContains(t, err, "listen on "+taken.Addr().String())
	case <-time.After(30 * time.Second):
		t.Fatal("runIngress kept running without its admin listener")
	}
}
