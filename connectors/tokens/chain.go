package tokens

import (
	"context"
	"errors"
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
