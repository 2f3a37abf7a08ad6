package tokens_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/tokens"
	"github.com/hookflow/hookflow/connectors/tokens/tokenstest"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func newFile(t *testing.T) *tokens.File {
	t.Helper()
	f, err := tokens.NewFile(filepath.Join(t.TempDir(), "sub", "tokens.enc"), testKey(1))
	require.NoError(t, err)
	return f
}

func TestFileConformance(t *testing.T) {
	t.Parallel()
	tokenstest.Run(t, func(t *testing.T) tokens.ReadWriteStore { return newFile(t) })
}

// Two File values on one path stand for two processes (the CLI and a
// worker): each sees the other's writes, and concurrent writers lose
// nothing.
func TestFileSharedBetweenProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tokens.enc")
	a, err := tokens.NewFile(path, testKey(2))
	require.NoError(t, err)
	b, err := tokens.NewFile(path, testKey(2))
	require.NoError(t, err)

	k := tokens.Key{System: "github", Installation: "1"}
	_, err = b.Token(ctx, k)
	require.ErrorIs(t, err, tokens.ErrNotFound)
	require.NoError(t, a.Put(ctx, k, "v1"))
	got, err := b.Token(ctx, k)
	require.NoError(t, err)
	require.Equal(t, "v1", got, "b re-reads the file a changed")
	require.NoError(t, b.Put(ctx, k, "v2"))
	got, err = a.Token(ctx, k)
	require.NoError(t, err)
	require.Equal(t, "v2", got)

	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			require.NoError(t, s.Put(ctx, tokens.Key{System: "many", Installation: fmt.Sprint(i)}, fmt.Sprint("t", i)))
		})
	}
	wg.Wait()
	for _, s := range []*tokens.File{a, b} {
		keys, err := s.List(ctx)
		require.NoError(t, err)
		require.Len(t, keys, n+1, "no writer overwrote another's token")
	}
}

func TestFileOnDisk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := tokens.OpenDir(dir)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, tokens.DefaultFileName), s.Path())
	_, err = os.Stat(s.Path())
	require.ErrorIs(t, err, os.ErrNotExist, "nothing is written before the first Put")

	const value = "ghp_plaintextMustNotAppearOnDisk"
	k := tokens.Key{System: "github", Installation: "installation-name-on-disk"}
	require.NoError(t, s.Put(ctx, k, value))

	st, err := os.Stat(s.Path())
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	raw, err := os.ReadFile(s.Path())
	require.NoError(t, err)
	require.NotContains(t, string(raw), value)
	require.NotContains(t, string(raw), k.Installation, "key names are encrypted too")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.ElementsMatch(t, []string{"secret.key", "tokens.enc", "tokens.enc.lock"}, names, "no temporary file is left")

	// The same directory opened again (a restart) reads the same tokens.
	again, err := tokens.OpenDir(dir)
	require.NoError(t, err)
	got, err := again.Token(ctx, k)
	require.NoError(t, err)
	require.Equal(t, value, got)
}

func TestFileBadContent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := tokens.Key{System: "github", Installation: "1"}
	tests := []struct {
		name    string
		mutate  func(t *testing.T, path string)
		key     []byte
		wantErr string
	}{
		{
			name:    "wrong key",
			mutate:  func(*testing.T, string) {},
			key:     testKey(9),
			wantErr: "cannot decrypt",
		},
		{
			name: "flipped byte",
			mutate: func(t *testing.T, path string) {
				raw, err := os.ReadFile(path)
				require.NoError(t, err)
				raw[len(raw)-1] ^= 1
				require.NoError(t, os.WriteFile(path, raw, 0o600))
			},
			key:     testKey(3),
			wantErr: "cannot decrypt",
		},
		{
			name: "not a token file",
			mutate: func(t *testing.T, path string) {
				require.NoError(t, os.WriteFile(path, []byte("hello"), 0o600))
			},
			key:     testKey(3),
			wantErr: "not a hookflow token file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "tokens.enc")
			w, err := tokens.NewFile(path, testKey(3))
			require.NoError(t, err)
			require.NoError(t, w.Put(ctx, k, "bad-content-s3cr3t"))
			tt.mutate(t, path)
			r, err := tokens.NewFile(path, tt.key)
			require.NoError(t, err)
			_, err = r.Token(ctx, k)
			require.ErrorContains(t, err, tt.wantErr)
			require.NotContains(t, err.Error(), "bad-content-s3cr3t")
			require.ErrorContains(t, r.Put(ctx, k, "x"), tt.wantErr, "a write never replaces a file it cannot read")
		})
	}
}

func TestNewFileRejectsShortKey(t *testing.T) {
	t.Parallel()
	_, err := tokens.NewFile(filepath.Join(t.TempDir(), "t"), []byte("short"))
	require.Error(t, err)
}
