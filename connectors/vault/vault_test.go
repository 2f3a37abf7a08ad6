package vault_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/vault/api"
	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/tokens"
	"github.com/hookflow/hookflow/connectors/vault"
)

// These tests pin what the store sends for each login method against a
// scripted server; the behaviour against a real Vault is tested in the
// vaulttest module.

type fakeVault struct {
	t        *testing.T
	logins   atomic.Int32
	loginReq atomic.Value // map[string]any
	token    string       // issued at login
	status   int          // for reads; 0 means 200
	body     string       // for reads when status is set
}

func (f *fakeVault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/v1/auth/kubernetes/login", "/v1/auth/approle/login", "/v1/auth/k8s-prod/login":
		var body map[string]any
		require.NoError(f.t, json.NewDecoder(r.Body).Decode(&body))
		require.Empty(f.t, r.Header.Get("X-Vault-Token"), "logins carry no token")
		f.loginReq.Store(body)
		f.logins.Add(1)
		fmt.Fprintf(w, `{"auth":{"client_token":%q,"renewable":false,"lease_duration":3600}}`, f.token)
	case "/v1/secret/data/hookflow/github/1":
		if r.Header.Get("X-Vault-Token") != f.token {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"errors":["permission denied"]}`)
			return
		}
		if f.status != 0 {
			w.WriteHeader(f.status)
			fmt.Fprint(w, f.body)
			return
		}
		fmt.Fprint(w, `{"data":{"data":{"token":"the-installation-token"},"metadata":{"version":1,"created_time":"2026-01-01T00:00:00Z"}}}`)
	default:
		http.NotFound(w, r)
	}
}

func newFake(t *testing.T, f *fakeVault, auth api.AuthMethod) *vault.Store {
	t.Helper()
	f.t = t
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := api.DefaultConfig()
	cfg.MaxRetries = 0
	s, err := vault.New(vault.Options{Address: srv.URL, Auth: auth, Config: cfg})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestLoginMethods(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	jwt := filepath.Join(dir, "jwt")
	require.NoError(t, os.WriteFile(jwt, []byte("service-account-jwt\n"), 0o600))
	sidFile := filepath.Join(dir, "sid")
	require.NoError(t, os.WriteFile(sidFile, []byte("secret-id-from-file\n"), 0o600))
	tests := []struct {
		name string
		auth api.AuthMethod
		want map[string]any
	}{
		{name: "kubernetes", auth: vault.KubernetesAuth{Role: "hookflow", JWTPath: jwt}, want: map[string]any{"role": "hookflow", "jwt": "service-account-jwt"}},
		{name: "kubernetes other mount", auth: vault.KubernetesAuth{Role: "r", JWTPath: jwt, Mount: "k8s-prod"}, want: map[string]any{"role": "r", "jwt": "service-account-jwt"}},
		{name: "approle", auth: vault.AppRoleAuth{RoleID: "role", SecretID: "sid"}, want: map[string]any{"role_id": "role", "secret_id": "sid"}},
		{name: "approle secret ID file", auth: vault.AppRoleAuth{RoleID: "role", SecretIDFile: sidFile}, want: map[string]any{"role_id": "role", "secret_id": "secret-id-from-file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := &fakeVault{token: "issued-vault-token-" + tt.name}
			s := newFake(t, f, tt.auth)
			for range 3 {
				got, err := s.Token(context.Background(), tokens.Key{System: "github", Installation: "1"})
				require.NoError(t, err)
				require.Equal(t, "the-installation-token", got)
			}
			require.Equal(t, tt.want, f.loginReq.Load())
			require.EqualValues(t, 1, f.logins.Load(), "one login serves many reads")
		})
	}
}

func TestLoginErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		auth    api.AuthMethod
		wantErr string
	}{
		{name: "kubernetes without token file", auth: vault.KubernetesAuth{Role: "r", JWTPath: filepath.Join(t.TempDir(), "none")}, wantErr: "read service account token"},
		{name: "kubernetes without role", auth: vault.KubernetesAuth{}, wantErr: "no role"},
		{name: "approle without role ID", auth: vault.AppRoleAuth{SecretID: "s"}, wantErr: "no role ID"},
		{name: "empty token", auth: vault.TokenAuth{}, wantErr: "no Vault token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFake(t, &fakeVault{token: "x"}, tt.auth)
			_, err := s.Token(context.Background(), tokens.Key{System: "github", Installation: "1"})
			require.ErrorContains(t, err, tt.wantErr)
			require.ErrorContains(t, err, "github/1")
		})
	}
}

func TestErrorsAreRedacted(t *testing.T) {
	t.Parallel()
	const vaultToken = "hvs.issuedTokenThatMustNotLeak"
	f := &fakeVault{token: vaultToken, status: http.StatusBadRequest, body: `{"errors":["bad request for token hvs.issuedTokenThatMustNotLeak and secret-id-xyz"]}`}
	s := newFake(t, f, vault.AppRoleAuth{RoleID: "r", SecretID: "secret-id-xyz"})
	_, err := s.Token(context.Background(), tokens.Key{System: "github", Installation: "1"})
	require.Error(t, err)
	require.ErrorContains(t, err, "github/1")
	require.ErrorContains(t, err, "HTTP 400")
	require.NotContains(t, err.Error(), vaultToken)
	require.NotContains(t, err.Error(), "secret-id-xyz")
	var ve *vault.Error
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "read", ve.Op)
	require.Equal(t, 400, ve.StatusCode)
	for _, s := range []string{fmt.Sprintf("%v", s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s), fmt.Sprintf("%#v", vault.AppRoleAuth{SecretID: "secret-id-xyz"})} {
		require.NotContains(t, s, "secret-id-xyz")
		require.NotContains(t, s, vaultToken)
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	_, err := vault.New(vault.Options{Address: "http://127.0.0.1:1"})
	require.ErrorContains(t, err, "no auth method")
	_, err = vault.New(vault.Options{Address: "http://127.0.0.1:1", Auth: vault.TokenAuth{Token: "t"}, PathTemplate: "{installation}"})
	require.ErrorContains(t, err, "template")
}
