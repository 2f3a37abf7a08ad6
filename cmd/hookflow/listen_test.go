package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeTemporal stands in for the embedded server: building the real one
// takes ~15 minutes cold.
type fakeTemporal struct{ ip string }

func (f fakeTemporal) Address() string   { return net.JoinHostPort(f.ip, "7233") }
func (f fakeTemporal) UIAddress() string { return "http://" + net.JoinHostPort(f.ip, "8233") }
func (fakeTemporal) Stop()               {}

// hookflow dev --http <LAN IP> used to put the embedded Temporal frontend
// and Web UI, which have no authentication, on that LAN too. They stay on
// loopback unless --temporal-listen says otherwise; and the Temporal
// database, which the server creates 0644, is narrowed to 0600.
func TestDevKeepsTemporalOnLoopback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		wantIP  string
		wantErr string
	}{
		{name: "loopback ingress", args: []string{"--http", "127.0.0.1:8080"}, wantIP: "127.0.0.1"},
		{name: "LAN ingress", args: []string{"--http", "192.0.2.10:8080"}, wantIP: "127.0.0.1"},
		{name: "all interfaces", args: []string{"--http", "0.0.0.0:8080"}, wantIP: "127.0.0.1"},
		{name: "IPv6 LAN ingress", args: []string{"--http", "[2001:db8::10]:8080"}, wantIP: "127.0.0.1"},
		{name: "asked for", args: []string{"--http", "192.0.2.10:8080", "--temporal-listen", "192.0.2.10"}, wantIP: "192.0.2.10"},
		{name: "IPv6 loopback", args: []string{"--temporal-listen", "::1"}, wantIP: "::1"},
		{name: "every address", args: []string{"--temporal-listen", "0.0.0.0"}, wantErr: "not every one"},
		{name: "a name", args: []string{"--temporal-listen", "devbox.lan"}, wantErr: "want an IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			var gotIP string
			g := &globals{dataDir: dir, logLevel: "error", runTemporal: func(ip string, _, _ int, dbFile string) (temporalServer, error) {
				gotIP = ip
				// What the Temporal server's SQLite does: 0644.
				for _, p := range []string{dbFile, dbFile + "-wal", dbFile + "-shm"} {
					if err := os.WriteFile(p, nil, 0o644); err != nil {
						return nil, err
					}
					if err := os.Chmod(p, 0o644); err != nil {
						return nil, err
					}
				}
				return fakeTemporal{ip: ip}, nil
			}}
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // banner, then stop
			cmd := newDevCmd(g)
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(io.Discard)
			cmd.SetArgs(append([]string{"--components", "temporal"}, tt.args...))
			err := cmd.ExecuteContext(ctx)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.Empty(t, gotIP, "not started")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantIP, gotIP)
			require.Contains(t, out.String(), "temporal UI  http://"+net.JoinHostPort(tt.wantIP, "8233"))
			for _, p := range []string{"temporal.db", "temporal.db-wal", "temporal.db-shm"} {
				st, err := os.Stat(filepath.Join(dir, p))
				require.NoError(t, err)
				require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), p)
			}
		})
	}
}

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
