package tokens

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Chain asks each store in turn and returns the first token found: a
// per-installation store first, then a fallback such as Static. A store
// that fails with anything but ErrNotFound stops the chain: an unreachable
// Vault must surface as an error, not silently fall back to another
// credential.
type Chain []Store

var _ Store = Chain(nil)

// Token implements Store.
func (c Chain) Token(ctx context.Context, key Key) (string, error) {
	for _, s := range c {
		tok, err := s.Token(ctx, key)
		if err == nil {
			return tok, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return "", err
		}
	}
	return "", notFound(key)
}

// String describes each store in turn, through their own String methods,
// which never show a token.
func (c Chain) String() string {
	parts := make([]string, len(c))
	for i, s := range c {
		parts[i] = fmt.Sprint(s)
	}
	return "tokens.Chain(" + strings.Join(parts, " → ") + ")"
}

// GoString is String, for %#v.
func (c Chain) GoString() string { return c.String() }
