package vaulttest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/builtin/credential/approle"
	vaulthttp "github.com/hashicorp/vault/http"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/vault"
	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/tokens"
	"github.com/hookflow/hookflow/connectors/tokens/tokenstest"
	hvault "github.com/hookflow/hookflow/connectors/vault"
)

// mount is where the tests enable KV v2: the test core already has a KV v1
// engine at secret/.
const mount = "kv-hookflow"

// policy is the one docs/configuration.md shows, for mount kv-hookflow.
const policy = `
path "kv-hookflow/data/hookflow/*" {
  capabilities = ["create", "read", "update"]
}
path "kv-hookflow/metadata/hookflow/*" {
  capabilities = ["list", "read", "delete"]
}
path "kv-hookflow/metadata/hookflow" {
  capabilities = ["list"]
}
`

// server is one in-process Vault: initialised, unsealed, KV v2 at mount,
// AppRole enabled, the hookflow policy written.
type server struct {
	addr string
	root *api.Client
}

var prefixes atomic.Int64

func startVault(t *testing.T) *server {
	t.Helper()
	core, _, rootToken := vault.TestCoreUnsealedWithConfig(t, &vault.CoreConfig{
		CredentialBackends: map[string]logical.Factory{"approle": approle.Factory},
	})
	ln, addr := vaulthttp.TestServer(t, core)
	t.Cleanup(func() { ln.Close() })

	cfg := api.DefaultConfig()
	cfg.Address = addr
	root, err := api.NewClient(cfg)
	require.NoError(t, err)
	root.SetToken(rootToken)
	require.NoError(t, root.Sys().Mount(mount, &api.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}))
	require.NoError(t, root.Sys().EnableAuthWithOptions("approle", &api.EnableAuthOptions{Type: "approle"}))
	require.NoError(t, root.Sys().PutPolicy("hookflow", policy))
	// A new KV v2 mount answers "upgrading" for a moment.
	require.Eventually(t, func() bool {
		_, err := root.KVv2(mount).Put(context.Background(), "hookflow-probe", map[string]any{"x": "y"})
		return err == nil
	}, 10*time.Second, 50*time.Millisecond)
	return &server{addr: addr, root: root}
}

// newStore returns a store under a prefix no other store uses.
func (s *server) newStore(t *testing.T, auth api.AuthMethod, prefix string) *hvault.Store {
	t.Helper()
	cfg := api.DefaultConfig()
	st, err := hvault.New(hvault.Options{
		Address:      s.addr,
		Mount:        mount,
		PathTemplate: fmt.Sprintf("%s/t%d/{system}/{installation}", prefix, prefixes.Add(1)),
		Auth:         auth,
		Config:       cfg,
	})
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

// appRole creates an AppRole role with the hookflow policy and returns its
// credentials.
func (s *server) appRole(t *testing.T, name string, params map[string]any) hvault.AppRoleAuth {
	t.Helper()
	p := map[string]any{"token_policies": "hookflow", "token_ttl": "1h"}
	for k, v := range params {
		p[k] = v
	}
	_, err := s.root.Logical().Write("auth/approle/role/"+name, p)
	require.NoError(t, err)
	rid, err := s.root.Logical().Read("auth/approle/role/" + name + "/role-id")
	require.NoError(t, err)
	sid, err := s.root.Logical().Write("auth/approle/role/"+name+"/secret-id", nil)
	require.NoError(t, err)
	return hvault.AppRoleAuth{RoleID: rid.Data["role_id"].(string), SecretID: sid.Data["secret_id"].(string)}
}

// policyToken returns a child token holding only the hookflow policy.
func (s *server) policyToken(t *testing.T) string {
	t.Helper()
	sec, err := s.root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"hookflow"}, TTL: "1h", NoParent: true})
	require.NoError(t, err)
	return sec.Auth.ClientToken
}

func TestVault(t *testing.T) {
	t.Parallel()
	srv := startVault(t)
	ctx := context.Background()

	t.Run("ConformanceRootToken", func(t *testing.T) {
		t.Parallel()
		tokenstest.Run(t, func(t *testing.T) tokens.ReadWriteStore {
			return srv.newStore(t, hvault.TokenAuth{Token: srv.root.Token()}, "root")
		})
	})

	t.Run("ConformancePolicyToken", func(t *testing.T) {
		t.Parallel()
		tok := srv.policyToken(t)
		tokenstest.Run(t, func(t *testing.T) tokens.ReadWriteStore {
			return srv.newStore(t, hvault.TokenAuth{Token: tok}, "hookflow")
		})
	})

	t.Run("ConformanceAppRole", func(t *testing.T) {
		t.Parallel()
		auth := srv.appRole(t, "conformance", nil)
		tokenstest.Run(t, func(t *testing.T) tokens.ReadWriteStore {
			return srv.newStore(t, auth, "hookflow")
		})
	})

	t.Run("DefaultPathTemplate", func(t *testing.T) {
		t.Parallel()
		st, err := hvault.New(hvault.Options{Address: srv.addr, Mount: mount, Auth: hvault.TokenAuth{Token: srv.root.Token()}})
		require.NoError(t, err)
		defer st.Close()
		k := tokens.Key{System: "github", Installation: "4242"}
		require.NoError(t, st.Put(ctx, k, "default-path-value"))
		sec, err := srv.root.KVv2(mount).Get(ctx, "hookflow/github/4242")
		require.NoError(t, err)
		require.Equal(t, "default-path-value", sec.Data["token"], "the secret is where the docs say")
		require.NoError(t, st.Delete(ctx, k))
	})

	t.Run("AppRoleReloginAfterRevocation", func(t *testing.T) {
		t.Parallel()
		st := srv.newStore(t, srv.appRole(t, "revoked", nil), "hookflow")
		k := tokens.Key{System: "github", Installation: "77"}
		require.NoError(t, st.Put(ctx, k, "before-revocation"))
		// Revoke every token AppRole ever issued: the store's login is gone.
		_, err := srv.root.Logical().Write("sys/leases/revoke-prefix/auth/approle/login", nil)
		require.NoError(t, err)
		got, err := st.Token(ctx, k)
		require.NoError(t, err, "the store logs in again with its secret ID")
		require.Equal(t, "before-revocation", got)
	})

	t.Run("AppRoleReloginAfterMaxTTL", func(t *testing.T) {
		t.Parallel()
		st := srv.newStore(t, srv.appRole(t, "short", map[string]any{"token_ttl": "2s", "token_max_ttl": "3s"}), "hookflow")
		k := tokens.Key{System: "github", Installation: "78"}
		require.NoError(t, st.Put(ctx, k, "short-lived-login"))
		time.Sleep(4 * time.Second) // past the login's max TTL
		got, err := st.Token(ctx, k)
		require.NoError(t, err)
		require.Equal(t, "short-lived-login", got)
	})

	t.Run("AppRoleBadSecretID", func(t *testing.T) {
		t.Parallel()
		auth := srv.appRole(t, "bad", nil)
		auth.SecretID = "wrong-secret-id-0123456789"
		st := srv.newStore(t, auth, "hookflow")
		k := tokens.Key{System: "github", Installation: "79"}
		_, err := st.Token(ctx, k)
		require.ErrorIs(t, err, hvault.ErrPermissionDenied)
		require.ErrorContains(t, err, "github/79")
		require.ErrorContains(t, err, "approle login refused")
		require.NotErrorIs(t, err, tokens.ErrNotFound)
		require.NotContains(t, err.Error(), auth.SecretID)
	})

	t.Run("RevokedToken", func(t *testing.T) {
		t.Parallel()
		tok := srv.policyToken(t)
		st := srv.newStore(t, hvault.TokenAuth{Token: tok}, "hookflow")
		k := tokens.Key{System: "github", Installation: "80"}
		const value = "ghs_valueWrittenBeforeRevocation"
		require.NoError(t, st.Put(ctx, k, value))
		require.NoError(t, srv.root.Auth().Token().RevokeTree(tok))

		_, err := st.Token(ctx, k)
		require.ErrorIs(t, err, hvault.ErrPermissionDenied)
		require.ErrorIs(t, err, tokens.ErrDenied, "activities see it without importing vault")
		require.NotErrorIs(t, err, tokens.ErrNotFound)
		msg := err.Error()
		t.Log(msg)
		require.Contains(t, msg, "github/80", "the error names the key")
		require.Contains(t, msg, "revoked")
		require.NotContains(t, msg, "\n", "one line, for logs")
		require.NotContains(t, msg, tok)
		require.NotContains(t, msg, value)

		err = st.Put(ctx, k, "ghs_newValueAfterRevocation")
		require.ErrorIs(t, err, hvault.ErrPermissionDenied)
		require.NotContains(t, err.Error(), "ghs_newValueAfterRevocation")
		require.NotContains(t, err.Error(), tok)
	})

	t.Run("PolicyDeniesOtherPaths", func(t *testing.T) {
		t.Parallel()
		tok := srv.policyToken(t)
		st := srv.newStore(t, hvault.TokenAuth{Token: tok}, "elsewhere")
		_, err := st.Token(ctx, tokens.Key{System: "github", Installation: "81"})
		require.ErrorIs(t, err, hvault.ErrPermissionDenied)
		var ve *hvault.Error
		require.ErrorAs(t, err, &ve)
		require.Equal(t, 403, ve.StatusCode)
	})
}
