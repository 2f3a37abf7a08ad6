package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/internal/tlstest"
)

func TestTemporalTLSConfig(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t, "test CA")
	client := ca.Client(t, "client", "hookflow-worker")
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("hello"), 0o600))
	tests := []struct {
		name       string
		in         temporalTLS
		wantNil    bool
		wantErr    string
		wantRoots  bool
		wantClient bool
	}{
		{name: "plaintext", in: temporalTLS{}, wantNil: true},
		{name: "system roots", in: temporalTLS{Enabled: true}},
		{name: "server name alone turns TLS on", in: temporalTLS{ServerName: "temporal.internal"}},
		{name: "CA", in: temporalTLS{CA: ca.CertFile}, wantRoots: true},
		{name: "mTLS", in: temporalTLS{CA: ca.CertFile, Cert: client.CertFile, Key: client.KeyFile}, wantRoots: true, wantClient: true},
		{name: "cert without key", in: temporalTLS{Cert: client.CertFile}, wantErr: "go together"},
		{name: "key without cert", in: temporalTLS{Key: client.KeyFile}, wantErr: "go together"},
		{name: "missing CA", in: temporalTLS{CA: "/nonexistent/ca.pem"}, wantErr: "--temporal-tls-ca"},
		{name: "CA not PEM", in: temporalTLS{CA: notPEM}, wantErr: "holds no PEM certificate"},
		{name: "key of another cert", in: temporalTLS{Cert: client.CertFile, Key: ca.Server(t, "other", "x").KeyFile}, wantErr: "--temporal-tls-cert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conf, err := tt.in.config()
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			if tt.wantNil {
				require.Nil(t, conf)
				return
			}
			require.NotNil(t, conf)
			require.Equal(t, tt.in.ServerName, conf.ServerName)
			require.Equal(t, tt.wantRoots, conf.RootCAs != nil)
			require.Equal(t, tt.wantClient, conf.GetClientCertificate != nil)
		})
	}
}

// TestTemporalMTLSHandshake dials a listener that requires a client
// certificate from the test CA, as a Temporal frontend with
// requireClientAuth does.
func TestTemporalMTLSHandshake(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t, "test CA")
	other := tlstest.NewCA(t, "someone else's CA")
	server := ca.Server(t, "server", "temporal.test", "127.0.0.1")
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{server.TLS}, ClientCAs: ca.Pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
	})
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if c.(*tls.Conn).Handshake() == nil {
					_, _ = c.Write([]byte("ok"))
				}
			}()
		}
	}()
	good := ca.Client(t, "good", "worker")
	stranger := other.Client(t, "stranger", "worker")
	tests := []struct {
		name string
		in   temporalTLS
		ok   bool
	}{
		{"trusted client certificate", temporalTLS{CA: ca.CertFile, Cert: good.CertFile, Key: good.KeyFile, ServerName: "temporal.test"}, true},
		{"no client certificate", temporalTLS{CA: ca.CertFile, ServerName: "temporal.test"}, false},
		{"client certificate of another CA", temporalTLS{CA: ca.CertFile, Cert: stranger.CertFile, Key: stranger.KeyFile, ServerName: "temporal.test"}, false},
		{"server not trusted", temporalTLS{CA: other.CertFile, Cert: good.CertFile, Key: good.KeyFile, ServerName: "temporal.test"}, false},
		{"wrong server name", temporalTLS{CA: ca.CertFile, Cert: good.CertFile, Key: good.KeyFile, ServerName: "elsewhere.test"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conf, err := tt.in.config()
			require.NoError(t, err)
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), conf)
			if err == nil {
				defer c.Close()
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				var b []byte
				b, err = io.ReadAll(c) // TLS 1.3: a refused client certificate shows on the first read
				if err == nil && string(b) != "ok" {
					err = io.ErrUnexpectedEOF
				}
			}
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}

// TestKeyPairReloads replaces the certificate files in place, as
// cert-manager does: the next handshake after a second gets the new one,
// and a half-written pair keeps the old one.
func TestKeyPairReloads(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t, "test CA")
	first, second := ca.Server(t, "first", "a.test"), ca.Server(t, "second", "b.test")
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	cp := func(src, dst string) {
		b, err := os.ReadFile(src)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(dst, b, 0o600))
	}
	cp(first.CertFile, cert)
	cp(first.KeyFile, key)
	kp := &keyPair{cert: cert, key: key}
	name := func() string {
		c, err := kp.get()
		require.NoError(t, err)
		x, err := x509.ParseCertificate(c.Certificate[0])
		require.NoError(t, err)
		return x.DNSNames[0]
	}
	require.Equal(t, "a.test", name())
	cp(second.CertFile, cert) // the key is not there yet
	later := time.Now().Add(2 * time.Second)
	require.NoError(t, os.Chtimes(cert, later, later))
	time.Sleep(1100 * time.Millisecond)
	require.Equal(t, "a.test", name(), "a mismatched pair keeps the last good one")
	cp(second.KeyFile, key)
	require.NoError(t, os.Chtimes(key, later, later))
	time.Sleep(1100 * time.Millisecond)
	require.Equal(t, "b.test", name())
}

// TestServeHTTPTLS serves over the ingress's own certificate.
func TestServeHTTPTLS(t *testing.T) {
	t.Parallel()
	ca := tlstest.NewCA(t, "test CA")
	server := ca.Server(t, "ingress", "127.0.0.1")
	tests := []struct {
		name    string
		in      listenTLS
		wantErr string
	}{
		{"cert without key", listenTLS{Cert: server.CertFile}, "go together"},
		{"missing files", listenTLS{Cert: "/nonexistent/c", Key: "/nonexistent/k"}, "--tls-cert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.in.config()
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
	conf, err := listenTLS{Cert: server.CertFile, Key: server.KeyFile}.config()
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- serveHTTPTLS(ctx, "127.0.0.1:0", conf, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, r.Proto)
		}), slog.New(slog.NewTextHandler(io.Discard, nil)), func(a net.Addr) { addr <- a })
	}()
	url := "https://" + (<-addr).String() + "/healthz"
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}, ForceAttemptHTTP2: true}}
	resp, err := c.Get(url)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "HTTP/2.0", string(b))
	_, err = http.Get(url) // the system roots do not know the test CA
	require.Error(t, err)
	cancel()
	require.NoError(t, <-done)
}
