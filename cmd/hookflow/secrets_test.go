package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress"
)

const testAdminToken = "0123456789abcdef0123456789abcdef0123"

// fakeAdmin answers integrations create and rotate, recording the secret
// each request carried.
type fakeAdmin struct {
	mu      sync.Mutex
	secrets []string
}

func (f *fakeAdmin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+testAdminToken {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var req struct{ Secret string }
	_ = json.NewDecoder(r.Body).Decode(&req)
	f.mu.Lock()
	f.secrets = append(f.secrets, req.Secret)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ingress.IntegrationView{ID: "int_1", Name: "n", Source: "github", URL: "http://x/hooks/p", Secret: req.Secret})
}

func runCmd(t *testing.T, cmd *cobra.Command, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// Webhook secrets can come from a file, standard input or the environment
// instead of the command line, and one shorter than ingress.MinSecretBytes
// is refused before it is sent, with an error naming where it came from
// and never the secret.
func TestIntegrationSecretSources(t *testing.T) {
	t.Parallel()
	const good, short = "a-webhook-secret-of-32-bytes-abc", "short-secret"
	dir := t.TempDir()
	goodFile, shortFile := filepath.Join(dir, "good"), filepath.Join(dir, "short")
	require.NoError(t, os.WriteFile(goodFile, []byte(good+"\n"), 0o600))
	require.NoError(t, os.WriteFile(shortFile, []byte(short+"\n"), 0o600))

	tests := []struct {
		name    string
		env     string
		stdin   string
		args    []string
		want    string // the secret sent; "" asks the server for a random one
		wantErr string
	}{
		{name: "file", args: []string{"--secret-file", goodFile}, want: good},
		{name: "stdin", stdin: good + "\r\n", args: []string{"--secret-stdin"}, want: good},
		{name: "environment", env: good, want: good},
		{name: "flag, for development", args: []string{"--secret", good}, want: good},
		{name: "a flag wins over the environment", env: "environment-secret-long", args: []string{"--secret-file", goodFile}, want: good},
		{name: "none: random", want: ""},
		{name: "short file", args: []string{"--secret-file", shortFile}, wantErr: "--secret-file " + shortFile + ": the secret is 12 bytes; a webhook secret needs at least 16"},
		{name: "short stdin", stdin: short, args: []string{"--secret-stdin"}, wantErr: "--secret-stdin: the secret is 12 bytes"},
		{name: "short environment", env: short, wantErr: "HOOKFLOW_WEBHOOK_SECRET: the secret is 12 bytes"},
		{name: "short flag", args: []string{"--secret", short}, wantErr: "--secret: the secret is 12 bytes"},
		{name: "two flags", stdin: good, args: []string{"--secret-stdin", "--secret-file", goodFile}, wantErr: "at most one of"},
		{name: "empty stdin", stdin: "\n", args: []string{"--secret-stdin"}, wantErr: "--secret-stdin: the secret is empty"},
		{name: "missing file", args: []string{"--secret-file", filepath.Join(dir, "nope")}, wantErr: "no such file"},
	}
	for _, tt := range tests {
		for _, sub := range [][]string{{"create", "--source", "github", "--name", "n"}, {"rotate", "int_1"}} {
			t.Run(tt.name+"/"+sub[0], func(t *testing.T) {
				t.Parallel()
				admin := &fakeAdmin{}
				srv := httptest.NewServer(admin)
				t.Cleanup(srv.Close)
				g := &globals{server: srv.URL, output: "json", getenv: func(k string) string {
					return map[string]string{"HOOKFLOW_ADMIN_TOKEN": testAdminToken, webhookSecretEnv: tt.env}[k]
				}}
				out, err := runCmd(t, newIntegrationsCmd(g), tt.stdin, append(sub, tt.args...)...)
				if tt.wantErr != "" {
					require.ErrorContains(t, err, tt.wantErr)
					require.NotContains(t, err.Error(), short+"\n", "the secret itself is never in the error")
					require.NotContains(t, strings.ReplaceAll(err.Error(), shortFile, ""), short)
					require.Empty(t, admin.secrets, "nothing was sent")
					return
				}
				require.NoError(t, err, out)
				require.Equal(t, []string{tt.want}, admin.secrets)
			})
		}
	}
}

// hookflow send signs with a secret from a file, standard input or the
// environment; with the payload on standard input the secret cannot be.
func TestSendSecretSources(t *testing.T) {
	t.Parallel()
	const secret = "send-secret-0123456789"
	dir := t.TempDir()
	payload, secretFile := filepath.Join(dir, "p.json"), filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(payload, []byte(`{"zen":"x"}`), 0o600))
	require.NoError(t, os.WriteFile(secretFile, []byte(secret+"\n"), 0o600))
	tests := []struct {
		name, env, stdin string
		args             []string
		wantErr          string
	}{
		{name: "file", args: []string{"--secret-file", secretFile, payload}},
		{name: "stdin", stdin: secret, args: []string{"--secret-stdin", payload}},
		{name: "environment", env: secret, args: []string{payload}},
		{name: "environment, payload on stdin", env: secret, stdin: `{"zen":"x"}`, args: []string{"-"}},
		{name: "flag", args: []string{"--secret", secret, payload}},
		{name: "none", args: []string{payload}, wantErr: "no secret: give --secret-file, --secret-stdin or HOOKFLOW_WEBHOOK_SECRET"},
		{name: "both on stdin", stdin: secret, args: []string{"--secret-stdin", "-"}, wantErr: "cannot both be read from standard input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				m := hmac.New(sha256.New, []byte(secret))
				m.Write(body)
				if r.Header.Get("X-Hub-Signature-256") != "sha256="+hex.EncodeToString(m.Sum(nil)) {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				w.WriteHeader(http.StatusAccepted)
			}))
			t.Cleanup(srv.Close)
			g := &globals{getenv: func(k string) string { return map[string]string{webhookSecretEnv: tt.env}[k] }}
			out, err := runCmd(t, newSendCmd(g), tt.stdin, append([]string{"--url", srv.URL, "--event", "ping"}, tt.args...)...)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err, out)
			require.Contains(t, out, "202 Accepted")
		})
	}
}

// The admin token a server starts with has at least
// ingress.MinAdminTokenLength characters; a generated one is used as is.
func TestAdminTokenMinimum(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, env, file, wantErr string
	}{
		{name: "generated"},
		{name: "environment", env: testAdminToken},
		{name: "short environment", env: "s3cr3t", wantErr: "HOOKFLOW_ADMIN_TOKEN: the admin token is 6 characters; it needs at least 32"},
		{name: "file", file: testAdminToken + "\n"},
		{name: "short file", file: "0123456789\n", wantErr: "admin-token: the admin token is 10 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tt.file != "" {
				require.NoError(t, os.WriteFile(filepath.Join(dir, adminTokenFile), []byte(tt.file), 0o600))
			}
			token, _, err := ensureAdminToken(dir, func(k string) string { return map[string]string{"HOOKFLOW_ADMIN_TOKEN": tt.env}[k] })
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.NotContains(t, err.Error(), strings.TrimSpace(tt.env+tt.file))
				return
			}
			require.NoError(t, err)
			require.GreaterOrEqual(t, len(token), ingress.MinAdminTokenLength)
		})
	}
}
