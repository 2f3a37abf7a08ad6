package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/connectors/tokens"
	"github.com/hookflow/hookflow/connectors/vault"
	"github.com/hookflow/hookflow/internal/secretbox"
)

// defaultTokenCacheTTL is how long a worker keeps a token it read: a token
// put or removed is seen at the latest this much later.
const defaultTokenCacheTTL = 30 * time.Second

// maxTokenSize bounds what "tokens put" and the --secret-file and
// --secret-stdin flags read: a private key in PEM is a few KiB.
const maxTokenSize = 64 << 10

// openTokenStore is the store activities read tokens from: Vault when a
// Vault address is configured, otherwise the encrypted file in dataDir;
// wrapped in a short cache; with the environment's credentials as the last
// fallback: HOOKFLOW_GITHUB_TOKEN (or GITHUB_TOKEN) for GitHub and
// HOOKFLOW_RELAY_SECRET for signing calls to functions.
func openTokenStore(dataDir string) (tokens.Store, error) {
	return openTokenStoreEnv(dataDir, os.Getenv)
}

func openTokenStoreEnv(dataDir string, getenv func(string) string) (tokens.Store, error) {
	backend, err := openTokenBackend(dataDir, getenv)
	if err != nil {
		return nil, err
	}
	ttl := defaultTokenCacheTTL
	if v := getenv("HOOKFLOW_TOKEN_CACHE_TTL"); v != "" {
		if ttl, err = time.ParseDuration(v); err != nil {
			return nil, fmt.Errorf("HOOKFLOW_TOKEN_CACHE_TTL: %w", err)
		}
	}
	// The environment's credentials, as envTokens serves them, come last.
	env := tokens.Static{}
	if pat := cmp.Or(getenv("HOOKFLOW_GITHUB_TOKEN"), getenv("GITHUB_TOKEN")); pat != "" {
		env["github"] = pat
	}
	if relay := getenv("HOOKFLOW_RELAY_SECRET"); relay != "" {
		env["httpfunc"] = relay
	}
	return tokens.Chain{tokens.Cached(backend, ttl), env}, nil
}

// openTokenBackend opens the store "hookflow tokens" writes to: a Vault
// KV v2 mount when HOOKFLOW_VAULT_ADDR or VAULT_ADDR is set, otherwise
// <dataDir>/tokens.enc encrypted with the data directory's key.
func openTokenBackend(dataDir string, getenv func(string) string) (tokens.ReadWriteStore, error) {
	addr := getenv("HOOKFLOW_VAULT_ADDR")
	if addr == "" {
		addr = getenv("VAULT_ADDR")
	}
	if addr == "" {
		key, err := secretKeyEnv(dataDir, getenv)
		if err != nil {
			return nil, err
		}
		return tokens.NewFile(filepath.Join(dataDir, tokens.DefaultFileName), key)
	}
	auth, err := vaultAuth(getenv)
	if err != nil {
		return nil, err
	}
	return vault.New(vault.Options{
		Address:      addr,
		Namespace:    getenv("HOOKFLOW_VAULT_NAMESPACE"),
		Mount:        getenv("HOOKFLOW_VAULT_MOUNT"),
		PathTemplate: getenv("HOOKFLOW_VAULT_PATH"),
		Field:        getenv("HOOKFLOW_VAULT_FIELD"),
		Auth:         auth,
	})
}

// secretKeyEnv is secretKey with the environment passed in: the same key
// encrypts integration secrets and the token file.
func secretKeyEnv(dataDir string, getenv func(string) string) ([]byte, error) {
	if v := getenv("HOOKFLOW_SECRET_KEY"); v != "" {
		return secretbox.DecodeKey(v)
	}
	return secretbox.LoadOrCreateKey(filepath.Join(dataDir, "secret.key"))
}

// vaultAuth picks the login from the environment: AppRole, then
// Kubernetes, then a token.
func vaultAuth(getenv func(string) string) (api.AuthMethod, error) {
	mount := getenv("HOOKFLOW_VAULT_AUTH_MOUNT")
	switch {
	case getenv("HOOKFLOW_VAULT_ROLE_ID") != "":
		a := vault.AppRoleAuth{
			RoleID:       getenv("HOOKFLOW_VAULT_ROLE_ID"),
			SecretID:     getenv("HOOKFLOW_VAULT_SECRET_ID"),
			SecretIDFile: getenv("HOOKFLOW_VAULT_SECRET_ID_FILE"),
			Mount:        mount,
		}
		return a, nil
	case getenv("HOOKFLOW_VAULT_K8S_ROLE") != "":
		return vault.KubernetesAuth{
			Role:    getenv("HOOKFLOW_VAULT_K8S_ROLE"),
			JWTPath: getenv("HOOKFLOW_VAULT_K8S_JWT_PATH"),
			Mount:   mount,
		}, nil
	case getenv("HOOKFLOW_VAULT_TOKEN") != "":
		return vault.TokenAuth{Token: getenv("HOOKFLOW_VAULT_TOKEN")}, nil
	case getenv("VAULT_TOKEN") != "":
		return vault.TokenAuth{Token: getenv("VAULT_TOKEN")}, nil
	}
	return nil, errors.New("a Vault address is set but no way to log in: set VAULT_TOKEN, HOOKFLOW_VAULT_ROLE_ID and HOOKFLOW_VAULT_SECRET_ID, or HOOKFLOW_VAULT_K8S_ROLE")
}

func newTokensCmd(g *globals) *cobra.Command {
	return newTokensCmdEnv(g, os.Getenv)
}

func newTokensCmdEnv(g *globals, getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "tokens",
		Aliases: []string{"token"},
		Short:   "Store, list and remove per-installation credentials (Vault, or the encrypted file in the data directory)",
		Long: `Activities read credentials from the token store at the moment of use, keyed by
system and installation. The store is Vault (or OpenBao) when HOOKFLOW_VAULT_ADDR or
VAULT_ADDR is set, otherwise <data-dir>/tokens.enc. See docs/configuration.md.
No command prints a token.`,
	}
	open := func() (tokens.ReadWriteStore, error) { return openTokenBackend(g.dataDir, getenv) }
	cmd.AddCommand(newTokensPutCmd(open), newTokensListCmd(g, open), newTokensRmCmd(open))
	return cmd
}

func newTokensPutCmd(open func() (tokens.ReadWriteStore, error)) *cobra.Command {
	var key tokens.Key
	var fromFile string
	var stdin bool
	cmd := &cobra.Command{
		Use:   "put --system SYSTEM [--installation ID] (--from-file FILE | --stdin)",
		Short: "Store a credential (read from a file or standard input, never from the command line)",
		Example: `  hookflow tokens put --system github --installation 4242 --from-file app-token.txt
  printf %s "$JIRA_TOKEN" | hookflow tokens put --system jira --installation acme.atlassian.net --stdin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (fromFile == "") == !stdin {
				return errors.New("give exactly one of --from-file or --stdin")
			}
			tok, err := readSecret(cmd, "token", fromFile, stdin)
			if err != nil {
				return err
			}
			s, err := open()
			if err != nil {
				return err
			}
			if err := s.Put(cmd.Context(), key, tok); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "stored the token for %s in %v\n", key, s)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&key.System, "system", "", "system: github, jira, servicenow, splunk, ...")
	f.StringVar(&key.Installation, "installation", "", "installation, instance or tenant ID (empty: the system-wide credential)")
	f.StringVar(&fromFile, "from-file", "", "read the token from this file")
	f.BoolVar(&stdin, "stdin", false, "read the token from standard input")
	_ = cmd.MarkFlagRequired("system")
	return cmd
}

// tokenKeyView is a listed key, without its token.
type tokenKeyView struct {
	System       string `json:"system"`
	Installation string `json:"installation"`
}

func newTokensListCmd(g *globals, open func() (tokens.ReadWriteStore, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List stored credentials by system and installation (never the tokens)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkOutput(); err != nil {
				return err
			}
			s, err := open()
			if err != nil {
				return err
			}
			keys, err := s.List(cmd.Context())
			if err != nil {
				return err
			}
			views := make([]tokenKeyView, 0, len(keys))
			for _, k := range keys {
				views = append(views, tokenKeyView{System: k.System, Installation: k.Installation})
			}
			if g.output == "json" {
				return printJSON(cmd, views)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SYSTEM\tINSTALLATION")
			for _, v := range views {
				inst := v.Installation
				if inst == "" {
					inst = "(all)"
				}
				fmt.Fprintf(tw, "%s\t%s\n", v.System, inst)
			}
			return tw.Flush()
		},
	}
}

func newTokensRmCmd(open func() (tokens.ReadWriteStore, error)) *cobra.Command {
	var key tokens.Key
	cmd := &cobra.Command{
		Use:     "rm --system SYSTEM [--installation ID]",
		Aliases: []string{"remove", "delete"},
		Short:   "Remove a stored credential",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := open()
			if err != nil {
				return err
			}
			if err := s.Delete(cmd.Context(), key); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed the token for %s from %v\n", key, s)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&key.System, "system", "", "system: github, jira, servicenow, splunk, ...")
	f.StringVar(&key.Installation, "installation", "", "installation, instance or tenant ID (empty: the system-wide credential)")
	_ = cmd.MarkFlagRequired("system")
	return cmd
}
