package tokens

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Cache keeps a store's answers in memory for a short time, so that an
// activity burst does not turn into a burst of Vault reads. It caches
// tokens and "not found" answers; other errors (Vault unreachable, access
// denied) are never cached. Build one with Cached.
type Cache struct {
	next Store
	ttl  time.Duration
	now  func() time.Time

	mu      sync.Mutex
	entries map[Key]cacheEntry
}

type cacheEntry struct {
	token   string // "" for a cached ErrNotFound
	expires time.Time
}

// sweepAt is the entry count above which an insert first drops expired
// entries, so that a cache over many installations stays bounded by what
// was used within one ttl.
const sweepAt = 1024

var _ Store = (*Cache)(nil)

// Cached wraps next in a cache that keeps each answer for ttl. A ttl of
// zero or less returns a cache that keeps nothing (every call reaches next).
// A token changed in next is seen at the latest ttl later, unless the
// writer calls Invalidate on this cache.
func Cached(next Store, ttl time.Duration) *Cache {
	return &Cache{next: next, ttl: ttl, now: time.Now, entries: map[Key]cacheEntry{}}
}

// Token implements Store.
func (c *Cache) Token(ctx context.Context, key Key) (string, error) {
	if c.ttl <= 0 {
		return c.next.Token(ctx, key)
	}
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		if e.token == "" {
			return "", notFound(key)
		}
		return e.token, nil
	}
	tok, err := c.next.Token(ctx, key)
	switch {
	case err == nil:
		c.store(key, tok, now)
	case errors.Is(err, ErrNotFound):
		c.store(key, "", now)
	}
	return tok, err
}

func (c *Cache) store(key Key, token string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= sweepAt {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
	}
	c.entries[key] = cacheEntry{token: token, expires: now.Add(c.ttl)}
}

// Invalidate forgets key, so that the next Token call reaches the store.
func (c *Cache) Invalidate(key Key) {
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
}

// Purge forgets every cached answer.
func (c *Cache) Purge() {
	c.mu.Lock()
	clear(c.entries)
	c.mu.Unlock()
}

// String describes the cache without its contents, so that printing it
// (%v, %+v) never shows a token.
func (c *Cache) String() string { return "tokens.Cache(" + c.ttl.String() + ")" }

// GoString is String, for %#v.
func (c *Cache) GoString() string { return c.String() }

func notFound(key Key) error {
	return &keyError{key: key, err: ErrNotFound}
}

// keyError names a key and wraps a cause.
type keyError struct {
	key Key
	err error
}

func (e *keyError) Error() string { return "tokens: " + e.key.String() + ": " + e.err.Error() }
func (e *keyError) Unwrap() error { return e.err }
