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
)

// ErrNotFound is returned (wrapped) when no token is stored for a key.
var ErrNotFound = errors.New("no token stored")

// Key names one installation's credential: System is "github", "jira",
// "servicenow", ...; Installation is the system's own installation,
// instance or tenant identifier ("" for a system-wide credential).
type Key struct {
	System       string
	Installation string
}

func (k Key) String() string {
	if k.Installation == "" {
		return k.System
	}
	return k.System + "/" + k.Installation
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
