package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/tokens"
	"github.com/hookflow/hookflow/connectors/vault"
)

// runTokens runs "hookflow tokens ARGS" against dataDir with env as the
// whole environment.
func runTokens(t *testing.T, dataDir string, env map[string]string, stdin string, args ...string) (string, error) {
	t.Helper()
	g := &globals{dataDir: dataDir, output: "table"}
	if i := indexOf(args, "--output"); i >= 0 {
		g.output = args[i+1]
		args = append(args[:i:i], args[i+2:]...)
	}
	cmd := newTokensCmdEnv(g, func(k string) string { return env[k] })
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func TestTokensCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{}
	const tok1, tok2 = "ghs_firstTokenValue0123456789", "jira-api-token-value-abcdef"
	tokFile := filepath.Join(t.TempDir(), "tok")
	require.NoError(t, os.WriteFile(tokFile, []byte(tok2+"\n"), 0o600))

	steps := []struct {
		name    string
		stdin   string
		args    []string
		want    []string
		wantErr string
	}{
		{name: "list empty", args: []string{"list"}, want: []string{"SYSTEM", "INSTALLATION"}},
		{name: "put stdin", stdin: tok1 + "\n", args: []string{"put", "--system", "github", "--installation", "4242", "--stdin"}, want: []string{"stored the token for github/4242", "tokens.enc"}},
		{name: "put file", args: []string{"put", "--system", "jira", "--installation", "acme.atlassian.net", "--from-file", tokFile}, want: []string{"jira/acme.atlassian.net"}},
		{name: "put system-wide", stdin: "splunk-hec", args: []string{"put", "--system", "splunk", "--stdin"}, want: []string{"splunk"}},
		{name: "list table", args: []string{"list"}, want: []string{"github  4242", "jira    acme.atlassian.net", "splunk  (all)"}},
		{name: "list json", args: []string{"list", "--output", "json"}, want: []string{`"system": "github"`, `"installation": "4242"`}},
		{name: "bad output", args: []string{"list", "--output", "yaml"}, wantErr: "--output"},
		{name: "rm", args: []string{"rm", "--system", "github", "--installation", "4242"}, want: []string{"removed the token for github/4242"}},
		{name: "rm again", args: []string{"rm", "--system", "github", "--installation", "4242"}, wantErr: "no token stored"},
		{name: "no source", args: []string{"put", "--system", "github"}, wantErr: "exactly one of --from-file or --stdin"},
		{name: "two sources", stdin: "x", args: []string{"put", "--system", "github", "--stdin", "--from-file", tokFile}, wantErr: "exactly one"},
		{name: "empty token", stdin: "\n", args: []string{"put", "--system", "github", "--stdin"}, wantErr: "empty"},
		{name: "no system", stdin: "x", args: []string{"put", "--stdin"}, wantErr: "system"},
		{name: "token on command line is not a flag", args: []string{"put", "--system", "github", "--token", "x"}, wantErr: "unknown flag"},
	}
	// Steps share one data directory, so they run in order.
	for _, st := range steps {
		out, err := runTokens(t, dir, env, st.stdin, st.args...)
		if st.wantErr != "" {
			require.ErrorContains(t, err, st.wantErr, st.name)
		} else {
			require.NoError(t, err, st.name)
		}
		for _, w := range st.want {
			require.Contains(t, out, w, st.name)
		}
		for _, secret := range []string{tok1, tok2, "splunk-hec"} {
			require.NotContains(t, out, secret, st.name)
			if err != nil {
				require.NotContains(t, err.Error(), secret, st.name)
			}
		}
	}

	// What the CLI wrote is what a worker reads, newline trimmed.
	store, err := openTokenStoreEnv(dir, func(string) string { return "" })
	require.NoError(t, err)
	got, err := store.Token(context.Background(), tokens.Key{System: "jira", Installation: "acme.atlassian.net"})
	require.NoError(t, err)
	require.Equal(t, tok2, got)
	out, err := runTokens(t, dir, env, "", "list", "--output", "json")
	require.NoError(t, err)
	var list []tokenKeyView
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	require.Equal(t, []tokenKeyView{{System: "jira", Installation: "acme.atlassian.net"}, {System: "splunk"}}, list)
}

func TestOpenTokenStoreFallsBackToEnvPAT(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	env := map[string]string{"GITHUB_TOKEN": "env-pat", "HOOKFLOW_RELAY_SECRET": "relay", "HOOKFLOW_TOKEN_CACHE_TTL": "1ms"}
	getenv := func(k string) string { return env[k] }
	store, err := openTokenStoreEnv(dir, getenv)
	require.NoError(t, err)
	tests := []struct {
		name    string
		key     tokens.Key
		want    string
		wantErr error
	}{
		{name: "env PAT for any GitHub installation", key: tokens.Key{System: "github", Installation: "1"}, want: "env-pat"},
		{name: "stored token wins", key: tokens.Key{System: "github", Installation: "2"}, want: "stored"},
		{name: "relay secret for functions", key: tokens.Key{System: "httpfunc", Installation: "f"}, want: "relay"},
		{name: "other systems have no fallback", key: tokens.Key{System: "jira", Installation: "1"}, wantErr: tokens.ErrNotFound},
	}
	_, err = runTokens(t, dir, env, "stored", "put", "--system", "github", "--installation", "2", "--stdin")
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := store.Token(ctx, tt.key)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestOpenTokenBackendChoosesVault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		env      map[string]string
		wantAuth string
		wantErr  string
	}{
		{name: "file store by default", env: map[string]string{}},
		{name: "vault token", env: map[string]string{"VAULT_ADDR": "http://127.0.0.1:1", "VAULT_TOKEN": "hvs.x"}, wantAuth: "token auth"},
		{name: "hookflow address wins", env: map[string]string{"HOOKFLOW_VAULT_ADDR": "http://127.0.0.1:2", "VAULT_TOKEN": "hvs.x"}, wantAuth: "127.0.0.1:2"},
		{name: "approle", env: map[string]string{"VAULT_ADDR": "http://127.0.0.1:1", "HOOKFLOW_VAULT_ROLE_ID": "r", "HOOKFLOW_VAULT_SECRET_ID": "s", "VAULT_TOKEN": "ignored"}, wantAuth: "approle auth"},
		{name: "kubernetes", env: map[string]string{"VAULT_ADDR": "http://127.0.0.1:1", "HOOKFLOW_VAULT_K8S_ROLE": "hookflow"}, wantAuth: "kubernetes auth"},
		{name: "custom mount", env: map[string]string{"VAULT_ADDR": "http://127.0.0.1:1", "VAULT_TOKEN": "t", "HOOKFLOW_VAULT_MOUNT": "kv-prod"}, wantAuth: "mount kv-prod"},
		{name: "no auth", env: map[string]string{"VAULT_ADDR": "http://127.0.0.1:1"}, wantErr: "no way to log in"},
		{name: "bad template", env: map[string]string{"VAULT_ADDR": "http://127.0.0.1:1", "VAULT_TOKEN": "t", "HOOKFLOW_VAULT_PATH": "x/{system}"}, wantErr: "template"},
		{name: "bad cache ttl", env: map[string]string{"HOOKFLOW_TOKEN_CACHE_TTL": "soon"}, wantErr: "HOOKFLOW_TOKEN_CACHE_TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			getenv := func(k string) string { return tt.env[k] }
			_, err := openTokenStoreEnv(t.TempDir(), getenv)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			s, err := openTokenBackend(t.TempDir(), getenv)
			require.NoError(t, err)
			if tt.wantAuth == "" {
				require.IsType(t, &tokens.File{}, s)
				return
			}
			require.IsType(t, &vault.Store{}, s)
			require.Contains(t, s.(*vault.Store).String(), tt.wantAuth)
			require.NotContains(t, s.(*vault.Store).String(), "hvs.x")
		})
	}
}
