// Package tokenstest is the conformance suite every tokens.ReadWriteStore
// implementation passes: the file store here, the Vault store against a
// real in-process Vault.
package tokenstest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/tokens"
)

// NewStore returns an empty store for one subtest. Subtests run in
// parallel: stores they get must not share keys (use a fresh file or a
// fresh Vault path prefix for each call).
type NewStore func(t *testing.T) tokens.ReadWriteStore

// OddKeys are keys whose characters a store must keep apart and give back
// unchanged: slashes, dots, percent signs, spaces, non-ASCII, an empty
// installation.
var OddKeys = []tokens.Key{
	{System: "github", Installation: "12345"},
	{System: "github", Installation: ""},
	{System: "github", Installation: "org/repo"},
	{System: "github/org", Installation: "repo"},
	{System: "github", Installation: "a//b/"},
	{System: "github", Installation: "/leading"},
	{System: "jira", Installation: "acme.atlassian.net"},
	{System: "jira", Installation: "."},
	{System: "jira", Installation: ".."},
	{System: "jira", Installation: "../escape"},
	{System: "servicenow", Installation: "_"},
	{System: "servicenow", Installation: "_default"},
	{System: "servicenow", Installation: "%2F"},
	{System: "splunk", Installation: "a b?c#d&e=f+g"},
	{System: "splunk", Installation: "üñíçødé-日本"},
	{System: "generic", Installation: "{installation}"},
	{System: "generic", Installation: `quote"back\slash`},
}

// secret returns a distinctive token value for key, so that a leak of it
// can be searched for.
func secret(key tokens.Key, n int) string {
	return fmt.Sprintf("s3cr3t-%d-%x-value", n, key.String())
}

// Run runs the suite. Each subtest calls newStore for its own store.
func Run(t *testing.T, newStore NewStore) {
	t.Helper()
	ctx := context.Background()

	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for _, k := range []tokens.Key{{System: "github", Installation: "1"}, {System: "github"}} {
			_, err := s.Token(ctx, k)
			require.ErrorIs(t, err, tokens.ErrNotFound)
			require.Contains(t, err.Error(), k.String(), "the error names the key")
		}
		keys, err := s.List(ctx)
		require.NoError(t, err)
		require.Empty(t, keys)
	})

	t.Run("PutGetOddKeys", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for i, k := range OddKeys {
			require.NoError(t, s.Put(ctx, k, secret(k, i)), "put %q", k)
		}
		for i, k := range OddKeys {
			got, err := s.Token(ctx, k)
			require.NoError(t, err, "get %q", k)
			require.Equal(t, secret(k, i), got, "key %q", k)
		}
		keys, err := s.List(ctx)
		require.NoError(t, err)
		want := append([]tokens.Key(nil), OddKeys...)
		tokens.SortKeys(want)
		require.Equal(t, want, keys, "List returns every key once, sorted")
	})

	t.Run("Values", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		tests := []struct {
			name  string
			value string
		}{
			{"pat", "ghp_0123456789abcdefABCDEF0123456789abcd"},
			{"multiline", "-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----\n"},
			{"unicode", "pässwörd-🔑"},
			{"json", `{"user":"bot","password":"p\"w"}`},
			{"long", strings.Repeat("x", 16<<10)},
		}
		for _, tt := range tests {
			k := tokens.Key{System: "values", Installation: tt.name}
			require.NoError(t, s.Put(ctx, k, tt.value))
			got, err := s.Token(ctx, k)
			require.NoError(t, err)
			require.Equal(t, tt.value, got, tt.name)
		}
	})

	t.Run("Overwrite", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		k := tokens.Key{System: "github", Installation: "7"}
		other := tokens.Key{System: "github", Installation: "8"}
		require.NoError(t, s.Put(ctx, other, "other-value"))
		for i := range 3 {
			require.NoError(t, s.Put(ctx, k, secret(k, i)))
			got, err := s.Token(ctx, k)
			require.NoError(t, err)
			require.Equal(t, secret(k, i), got)
		}
		got, err := s.Token(ctx, other)
		require.NoError(t, err)
		require.Equal(t, "other-value", got, "writing one key leaves the others")
		keys, err := s.List(ctx)
		require.NoError(t, err)
		require.Equal(t, []tokens.Key{k, other}, keys)
	})

	t.Run("Delete", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		for i, k := range OddKeys {
			require.NoError(t, s.Put(ctx, k, secret(k, i)))
		}
		for i, k := range OddKeys {
			require.NoError(t, s.Delete(ctx, k), "delete %q", k)
			_, err := s.Token(ctx, k)
			require.ErrorIs(t, err, tokens.ErrNotFound, "deleted %q", k)
			err = s.Delete(ctx, k)
			require.ErrorIs(t, err, tokens.ErrNotFound, "deleting %q twice", k)
			require.Contains(t, err.Error(), k.String())
			require.NotContains(t, err.Error(), secret(k, i))
			keys, err := s.List(ctx)
			require.NoError(t, err)
			require.Len(t, keys, len(OddKeys)-i-1)
			require.NotContains(t, keys, k)
		}
		// A deleted key can be put again.
		k := OddKeys[0]
		require.NoError(t, s.Put(ctx, k, "again"))
		got, err := s.Token(ctx, k)
		require.NoError(t, err)
		require.Equal(t, "again", got)
	})

	t.Run("InvalidInput", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		const value = "invalid-input-s3cr3t-value"
		tests := []struct {
			name string
			key  tokens.Key
			tok  string
		}{
			{"no system", tokens.Key{Installation: "1"}, value},
			{"control character", tokens.Key{System: "github", Installation: "a\nb"}, value},
			{"NUL", tokens.Key{System: "git\x00hub", Installation: "1"}, value},
			{"invalid UTF-8", tokens.Key{System: "github", Installation: "\xff"}, value},
			{"empty token", tokens.Key{System: "github", Installation: "1"}, ""},
		}
		for _, tt := range tests {
			err := s.Put(ctx, tt.key, tt.tok)
			require.Error(t, err, tt.name)
			require.NotContains(t, err.Error(), value, tt.name)
			if tt.tok != "" {
				_, err = s.Token(ctx, tt.key)
				require.Error(t, err, tt.name)
				require.Error(t, s.Delete(ctx, tt.key), tt.name)
			}
		}
		keys, err := s.List(ctx)
		require.NoError(t, err)
		require.Empty(t, keys, "nothing invalid was stored")
	})

	t.Run("ErrorsAndPrintingNeverShowSecrets", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		var values []string
		for i, k := range OddKeys[:4] {
			v := secret(k, i)
			values = append(values, v)
			require.NoError(t, s.Put(ctx, k, v))
		}
		var texts []string
		for _, k := range []tokens.Key{{System: "github", Installation: "missing"}, {System: "nosuch"}} {
			_, err := s.Token(ctx, k)
			require.Error(t, err)
			texts = append(texts, err.Error(), fmt.Sprintf("%+v", err))
			err = s.Delete(ctx, k)
			require.Error(t, err)
			texts = append(texts, err.Error())
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Token(cancelled, OddKeys[0]); err != nil {
			texts = append(texts, err.Error())
		}
		if err := s.Put(cancelled, OddKeys[1], "cancelled-s3cr3t-value"); err != nil {
			texts = append(texts, err.Error())
			values = append(values, "cancelled-s3cr3t-value")
		}
		texts = append(texts, fmt.Sprintf("%v", s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s))
		for _, text := range texts {
			for _, v := range values {
				require.NotContains(t, text, v)
			}
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		const writers, rounds = 4, 5
		var wg sync.WaitGroup
		errs := make(chan error, writers*rounds*3)
		for w := range writers {
			wg.Go(func() {
				k := tokens.Key{System: "concurrent", Installation: fmt.Sprint(w)}
				for r := range rounds {
					if err := s.Put(ctx, k, secret(k, r)); err != nil {
						errs <- err
						return
					}
					got, err := s.Token(ctx, k)
					if err != nil {
						errs <- err
						return
					}
					if got != secret(k, r) {
						errs <- fmt.Errorf("%s: read back another value", k)
					}
					if _, err := s.List(ctx); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		keys, err := s.List(ctx)
		require.NoError(t, err)
		require.Len(t, keys, writers, "no write was lost")
		for _, k := range keys {
			got, err := s.Token(ctx, k)
			require.NoError(t, err)
			require.Equal(t, secret(k, rounds-1), got)
		}
	})
}
