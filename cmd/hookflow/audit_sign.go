package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/connectors/tokens"
)

// auditKeyName is where the token store keeps the audit signing key (the
// base64 of an ed25519 seed).
var auditKeyName = tokens.Key{System: "hookflow-audit", Installation: "ed25519"}

// auditSignatureMarker starts the signature line of a signed export.
const auditSignatureMarker = "hookflow-audit-signature"

// auditSignedPrefix is prepended to an export before it is signed, so
// that the signature cannot be taken for one over anything else.
const auditSignedPrefix = "hookflow-audit-v1\n"

// auditSigningKey reads the signing key from the token store of the data
// directory (or Vault), creating it there when create is set and there is
// none.
func auditSigningKey(ctx context.Context, g *globals, create bool) (ed25519.PrivateKey, error) {
	store, err := openTokenBackend(g.dataDir, g.env)
	if err != nil {
		return nil, fmt.Errorf("audit signing key: %w", err)
	}
	seed, err := store.Token(ctx, auditKeyName)
	if errors.Is(err, tokens.ErrNotFound) && create {
		buf := make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(buf); err != nil {
			return nil, err
		}
		seed = base64.StdEncoding.EncodeToString(buf)
		if err := store.Put(ctx, auditKeyName, seed); err != nil {
			return nil, fmt.Errorf("audit signing key: store %s: %w", auditKeyName, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("audit signing key %s: %w", auditKeyName, err)
	}
	raw, err := base64.StdEncoding.DecodeString(seed)
	if err != nil || len(raw) != ed25519.SeedSize {
		return nil, fmt.Errorf("audit signing key %s: not the base64 of a %d-byte ed25519 seed", auditKeyName, ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(raw), nil
}

// formatPublicKey is how a public key is published and printed.
func formatPublicKey(pub ed25519.PublicKey) string {
	return "ed25519:" + base64.StdEncoding.EncodeToString(pub)
}

func parsePublicKey(s string) (ed25519.PublicKey, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(strings.TrimSpace(s), "ed25519:"))
	if err != nil || len(raw) != ed25519.PublicKeySize || !strings.HasPrefix(strings.TrimSpace(s), "ed25519:") {
		return nil, fmt.Errorf("%q is not an ed25519 public key (ed25519:<base64 of 32 bytes>)", s)
	}
	return ed25519.PublicKey(raw), nil
}

// signExport returns body followed by its signature: in Markdown a
// visible note and an HTML comment, in CSV a comment line. The signature
// covers every byte before its line.
func signExport(body []byte, format string, key ed25519.PrivateKey) []byte {
	pub := formatPublicKey(key.Public().(ed25519.PublicKey))
	var out bytes.Buffer
	out.Write(body)
	if format == "md" {
		fmt.Fprintf(&out, "\n## Signature\n\nSigned with the ed25519 key `%s`. Check it with `hookflow audit verify FILE --public-key %s`: any change to this file breaks it.\n\n", pub, pub)
	}
	sig := ed25519.Sign(key, append([]byte(auditSignedPrefix), out.Bytes()...))
	line := fmt.Sprintf("%s %s %s", auditSignatureMarker, pub, base64.StdEncoding.EncodeToString(sig))
	if format == "md" {
		fmt.Fprintf(&out, "<!-- %s -->\n", line)
	} else {
		fmt.Fprintf(&out, "# %s\n", line)
	}
	return out.Bytes()
}

// verifyExport checks a signed export and returns the key that signed it.
func verifyExport(data []byte) (ed25519.PublicKey, error) {
	idx := bytes.LastIndex(data, []byte(auditSignatureMarker))
	if idx < 0 {
		return nil, errors.New("no hookflow audit signature in it (only --output md and csv exports are signed)")
	}
	start := bytes.LastIndexByte(data[:idx], '\n') + 1
	body, line := data[:start], strings.TrimSpace(string(data[start:]))
	line = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(line, "<!--"), "#"), "-->"))
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != auditSignatureMarker {
		return nil, errors.New("the signature line is malformed (or text follows it)")
	}
	pub, err := parsePublicKey(f[1])
	if err != nil {
		return nil, err
	}
	sig, err := base64.StdEncoding.DecodeString(f[2])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, errors.New("the signature is malformed")
	}
	if !ed25519.Verify(pub, append([]byte(auditSignedPrefix), body...), sig) {
		return nil, errors.New("the signature does not match: the export was altered after it was signed")
	}
	return pub, nil
}

func newAuditPublicKeyCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "public-key",
		Short: "Print the public key audit exports are signed with (creating the key pair on first use)",
		Long: `Print the ed25519 public key that signs "audit --output md|csv" exports. The private key is
kept in the token store (the data directory's encrypted tokens.enc, or Vault) under
hookflow-audit/ed25519 and never printed. Publish the public key where reviewers find it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, err := auditSigningKey(cmd.Context(), g, true)
			if err != nil {
				return err
			}
			pub := formatPublicKey(key.Public().(ed25519.PublicKey))
			if g.output == "json" {
				return printJSON(cmd, map[string]string{"public_key": pub})
			}
			fmt.Fprintln(cmd.OutOrStdout(), pub)
			return nil
		},
	}
}

func newAuditVerifyCmd(g *globals) *cobra.Command {
	var publicKey string
	cmd := &cobra.Command{
		Use:   "verify FILE [--public-key ed25519:...]",
		Short: "Check that a signed audit export was not altered, and who signed it",
		Long: `Check the signature of an "audit --output md|csv" export (FILE, or - for standard input).
With --public-key the signer must be that key (the one Hookflow published); without it the
key in the token store is compared when this machine can read it, otherwise only the
integrity is checked and the signer's key is printed for you to compare.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var data []byte
			var err error
			if args[0] == "-" {
				data, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<30))
			} else {
				data, err = os.ReadFile(args[0])
			}
			if err != nil {
				return err
			}
			signer, err := verifyExport(data)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			got := formatPublicKey(signer)
			want, source := publicKey, "--public-key"
			if want == "" {
				if key, err := auditSigningKey(cmd.Context(), g, false); err == nil {
					want, source = formatPublicKey(key.Public().(ed25519.PublicKey)), "the token store's key"
				}
			}
			if want != "" {
				wantKey, err := parsePublicKey(want)
				if err != nil {
					return fmt.Errorf("--public-key: %w", err)
				}
				if !wantKey.Equal(signer) {
					return fmt.Errorf("%s: the signature is intact but was made with %s, not %s", args[0], got, source)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: signature valid, made with %s (%s)\n", args[0], got, source)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: signature valid, made with %s; compare it with the published key (--public-key)\n", args[0], got)
			return nil
		},
	}
	cmd.Flags().StringVar(&publicKey, "public-key", "", "the published public key the export must be signed with")
	return cmd
}
