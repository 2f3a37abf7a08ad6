// Package tokens is the small interface activities use to fetch credentials
// at the moment of use, keyed by (system, installation), and the simplest
// implementations of it. A token is fetched on every call and never passed
// through a workflow: inputs, signals, results and memos are stored in
// histories.
package tokens

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrNotFound is returned (wrapped) when no token is stored for a key.
var ErrNotFound = errors.New("no token stored")

// ErrDenied is wrapped when the store itself refuses access (a revoked or
// expired Vault login, a policy without the path). Retrying does not help:
// activities should fail such an error as non-retryable.
var ErrDenied = errors.New("permission denied")

// Key names one installation's credential: System is "github", "jira",
// "servicenow", ...; Installation is the system's own installation,
// instance or tenant identifier ("" for a system-wide credential).
type Key struct {
	System       string
	Installation string
}

// String returns "system/installation", or "system" when Installation is
// empty. It names the key in errors and listings; it is not a storage path.
func (k Key) String() string {
	if k.Installation == "" {
		return k.System
	}
	return k.System + "/" + k.Installation
}

// Validate reports whether k can be stored: System must be set, and
// neither field may hold control characters or invalid UTF-8, so that a
// key printed in a log line or a table is what it looks like.
func (k Key) Validate() error {
	if k.System == "" {
		return errors.New("tokens: key has no system")
	}
	for _, f := range []string{k.System, k.Installation} {
		if !utf8.ValidString(f) {
			return fmt.Errorf("tokens: key %q is not valid UTF-8", k.String())
		}
		for _, r := range f {
			if unicode.IsControl(r) {
				return fmt.Errorf("tokens: key %q holds a control character", k.String())
			}
		}
	}
	return nil
}

// Store returns the credential for a key.
type Store interface {
	// Token returns the secret for key, or an error wrapping ErrNotFound.
	// Errors name the key, never the secret.
	Token(ctx context.Context, key Key) (string, error)
}

// Static serves one credential per system for every installation: a
// personal access token from configuration, for development and for
// single-tenant setups.
type Static map[string]string

var _ Store = Static(nil)

// Token implements Store.
func (s Static) Token(_ context.Context, key Key) (string, error) {
	if t := s[key.System]; t != "" {
		return t, nil
	}
	return "", fmt.Errorf("tokens: %s: %w", key, ErrNotFound)
}

// Writer stores and removes credentials: the CLI's side of a store.
type Writer interface {
	// Put stores token under key, replacing any previous one.
	Put(ctx context.Context, key Key, token string) error
	// Delete removes key's token, or returns an error wrapping ErrNotFound.
	Delete(ctx context.Context, key Key) error
}

// Lister lists the keys a store holds, never their secrets.
type Lister interface {
	// List returns every stored key, sorted by system then installation.
	List(ctx context.Context) ([]Key, error)
}

// ReadWriteStore is a store that can also be written and listed: the
// file store and the Vault store.
type ReadWriteStore interface {
	Store
	Writer
	Lister
}

// SortKeys sorts keys by system, then installation.
func SortKeys(keys []Key) {
	slices.SortFunc(keys, func(a, b Key) int {
		if c := strings.Compare(a.System, b.System); c != 0 {
			return c
		}
		return strings.Compare(a.Installation, b.Installation)
	})
}

// String names the systems without their tokens, so that printing a Static
// (%v, %+v) never shows one.
func (s Static) String() string {
	systems := make([]string, 0, len(s))
	for k := range s {
		systems = append(systems, k)
	}
	slices.Sort(systems)
	return "tokens.Static(" + strings.Join(systems, ", ") + ")"
}

// GoString is String, for %#v.
func (s Static) GoString() string { return s.String() }
