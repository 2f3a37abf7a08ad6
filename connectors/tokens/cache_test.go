package tokens_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/tokens"
)

// countingStore answers from a map and counts calls.
type countingStore struct {
	tokens map[string]string
	err    error
	calls  atomic.Int32
}

func (s *countingStore) Token(ctx context.Context, key tokens.Key) (string, error) {
	s.calls.Add(1)
	if s.err != nil {
		return "", s.err
	}
	return tokens.Static(s.tokens).Token(ctx, key)
}

func TestCached(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	gh := tokens.Key{System: "github", Installation: "1"}
	missing := tokens.Key{System: "jira", Installation: "1"}
	tests := []struct {
		name      string
		ttl       time.Duration
		key       tokens.Key
		backErr   error
		wait      time.Duration
		wantCalls int32
		wantErr   error
	}{
		{name: "hit is cached", ttl: time.Minute, key: gh, wantCalls: 1},
		{name: "not found is cached", ttl: time.Minute, key: missing, wantCalls: 1, wantErr: tokens.ErrNotFound},
		{name: "other errors are not cached", ttl: time.Minute, key: gh, backErr: errors.New("vault down"), wantCalls: 3},
		{name: "expiry", ttl: 20 * time.Millisecond, key: gh, wait: 30 * time.Millisecond, wantCalls: 3},
		{name: "zero ttl keeps nothing", ttl: 0, key: gh, wantCalls: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			back := &countingStore{tokens: map[string]string{"github": "gh-token"}, err: tt.backErr}
			c := tokens.Cached(back, tt.ttl)
			for range 3 {
				tok, err := c.Token(ctx, tt.key)
				switch {
				case tt.backErr != nil:
					require.ErrorIs(t, err, tt.backErr)
				case tt.wantErr != nil:
					require.ErrorIs(t, err, tt.wantErr)
					require.ErrorContains(t, err, tt.key.String())
				default:
					require.NoError(t, err)
					require.Equal(t, "gh-token", tok)
				}
				time.Sleep(tt.wait)
			}
			require.Equal(t, tt.wantCalls, back.calls.Load())
		})
	}
}

func TestCachedInvalidate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	back := &countingStore{tokens: map[string]string{"github": "old"}}
	c := tokens.Cached(back, time.Hour)
	k := tokens.Key{System: "github"}
	tok, err := c.Token(ctx, k)
	require.NoError(t, err)
	require.Equal(t, "old", tok)
	back.tokens["github"] = "new"
	tok, _ = c.Token(ctx, k)
	require.Equal(t, "old", tok)
	c.Invalidate(k)
	tok, _ = c.Token(ctx, k)
	require.Equal(t, "new", tok)
	back.tokens["github"] = "newer"
	c.Purge()
	tok, _ = c.Token(ctx, k)
	require.Equal(t, "newer", tok)
	for _, s := range []string{c.String(), c.GoString()} {
		require.NotContains(t, s, "newer")
	}
}

func TestChain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	perInstallation := tokens.Static{"jira": "jira-token"}
	fallback := tokens.Static{"github": "env-pat"}
	broken := &countingStore{err: errors.New("vault: permission denied")}
	tests := []struct {
		name    string
		chain   tokens.Chain
		key     tokens.Key
		want    string
		wantErr error
	}{
		{name: "first wins", chain: tokens.Chain{perInstallation, tokens.Static{"jira": "other"}}, key: tokens.Key{System: "jira", Installation: "x"}, want: "jira-token"},
		{name: "falls through not found", chain: tokens.Chain{perInstallation, fallback}, key: tokens.Key{System: "github", Installation: "9"}, want: "env-pat"},
		{name: "none has it", chain: tokens.Chain{perInstallation, fallback}, key: tokens.Key{System: "splunk", Installation: "9"}, wantErr: tokens.ErrNotFound},
		{name: "empty chain", chain: nil, key: tokens.Key{System: "github"}, wantErr: tokens.ErrNotFound},
		{name: "other errors stop the chain", chain: tokens.Chain{broken, fallback}, key: tokens.Key{System: "github"}, wantErr: broken.err},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.chain.Token(ctx, tt.key)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				require.Empty(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestKeyValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key tokens.Key
		ok  bool
	}{
		{tokens.Key{System: "github", Installation: "1"}, true},
		{tokens.Key{System: "github"}, true},
		{tokens.Key{System: "github", Installation: "a/b c.ü"}, true},
		{tokens.Key{Installation: "1"}, false},
		{tokens.Key{System: "github", Installation: "a\tb"}, false},
		{tokens.Key{System: "git\x7fhub"}, false},
		{tokens.Key{System: "github", Installation: "\xc3"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.key.String(), func(t *testing.T) {
			t.Parallel()
			if tt.ok {
				require.NoError(t, tt.key.Validate())
			} else {
				require.Error(t, tt.key.Validate())
			}
		})
	}
}

func TestPrintingNeverShowsTokens(t *testing.T) {
	t.Parallel()
	static := tokens.Static{"github": "pat-value-123", "jira": "jira-value-456"}
	chain := tokens.Chain{tokens.Cached(static, time.Minute), static}
	tests := []struct {
		name string
		v    any
	}{
		{"static", static},
		{"chain", chain},
		{"cache", tokens.Cached(static, time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
				out := fmt.Sprintf(f, tt.v)
				require.NotContains(t, out, "pat-value-123", f)
				require.NotContains(t, out, "jira-value-456", f)
			}
		})
	}
	require.Equal(t, "tokens.Static(github, jira)", static.String())
}
