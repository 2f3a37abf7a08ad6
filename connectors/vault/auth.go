package vault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/vault/api"
)

// DefaultKubernetesJWTPath is where Kubernetes mounts a pod's service
// account token.
const DefaultKubernetesJWTPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// TokenAuth uses a Vault token as given (VAULT_TOKEN): for development, or
// when an agent (Vault Agent, a CSI driver) writes the token. If the token
// is renewable the store renews it; when it expires or is revoked, calls
// fail with ErrPermissionDenied until a new token is configured.
type TokenAuth struct {
	// Token is the Vault token. Required.
	Token string
}

var _ api.AuthMethod = TokenAuth{}

// Login implements api.AuthMethod: it only hands back the token.
func (a TokenAuth) Login(context.Context, *api.Client) (*api.Secret, error) {
	if a.Token == "" {
		return nil, errors.New("no Vault token given")
	}
	return &api.Secret{Auth: &api.SecretAuth{ClientToken: a.Token}}, nil
}

// String names the method without its token.
func (a TokenAuth) String() string { return "token" }

// GoString is String, for %#v.
func (a TokenAuth) GoString() string { return "vault.TokenAuth{…}" }

// AppRoleAuth logs in with an AppRole role ID and secret ID, for machines
// outside Kubernetes.
type AppRoleAuth struct {
	// RoleID is the role's ID. Required.
	RoleID string
	// SecretID is a secret ID of the role. Either it or SecretIDFile is
	// required (both empty is allowed only for roles with bind_secret_id
	// off).
	SecretID string
	// SecretIDFile, when set, is read at each login, so that a rotated
	// secret ID written there is picked up.
	SecretIDFile string
	// Mount is where the AppRole method is enabled; "" means "approle".
	Mount string
}

var _ api.AuthMethod = AppRoleAuth{}

// Login implements api.AuthMethod.
func (a AppRoleAuth) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	if a.RoleID == "" {
		return nil, errors.New("AppRole login: no role ID")
	}
	secretID := a.SecretID
	if a.SecretIDFile != "" {
		b, err := os.ReadFile(a.SecretIDFile)
		if err != nil {
			return nil, fmt.Errorf("AppRole login: read secret ID file: %w", err)
		}
		secretID = strings.TrimSpace(string(b))
	}
	data := map[string]any{"role_id": a.RoleID}
	if secretID != "" {
		data["secret_id"] = secretID
	}
	return c.Logical().WriteWithContext(ctx, "auth/"+mountOr(a.Mount, "approle")+"/login", data)
}

// String names the method without its secret ID.
func (a AppRoleAuth) String() string { return "approle" }

// GoString is String, for %#v.
func (a AppRoleAuth) GoString() string { return "vault.AppRoleAuth{…}" }

// secrets returns what must never appear in an error.
func (a AppRoleAuth) secrets() []string { return []string{a.SecretID} }

// KubernetesAuth logs in with the pod's service account token, for
// Hookflow running in Kubernetes.
type KubernetesAuth struct {
	// Role is the Vault role bound to the service account. Required.
	Role string
	// JWTPath is the service account token file, read at each login (the
	// kubelet rotates it); "" means DefaultKubernetesJWTPath.
	JWTPath string
	// Mount is where the Kubernetes method is enabled; "" means
	// "kubernetes".
	Mount string
}

var _ api.AuthMethod = KubernetesAuth{}

// Login implements api.AuthMethod.
func (a KubernetesAuth) Login(ctx context.Context, c *api.Client) (*api.Secret, error) {
	if a.Role == "" {
		return nil, errors.New("Kubernetes login: no role")
	}
	path := a.JWTPath
	if path == "" {
		path = DefaultKubernetesJWTPath
	}
	jwt, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("Kubernetes login: read service account token: %w", err)
	}
	return c.Logical().WriteWithContext(ctx, "auth/"+mountOr(a.Mount, "kubernetes")+"/login", map[string]any{
		"role": a.Role,
		"jwt":  strings.TrimSpace(string(jwt)),
	})
}

// String names the method.
func (a KubernetesAuth) String() string { return "kubernetes" }

func mountOr(m, def string) string {
	if m = strings.Trim(m, "/"); m != "" {
		return m
	}
	return def
}
