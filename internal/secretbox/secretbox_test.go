package secretbox

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	key, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "k", "secret.key"))
	require.NoError(t, err)
	box, err := New(key)
	require.NoError(t, err)

	secret := []byte("s3cr3t-value")
	sealed := box.Seal(secret, []byte("int_1"))
	require.False(t, bytes.Contains(sealed, secret), "ciphertext must not contain the plaintext")
	got, err := box.Open(sealed, []byte("int_1"))
	require.NoError(t, err)
	require.Equal(t, secret, got)

	_, err = box.Open(sealed, []byte("int_2"))
	require.Error(t, err, "a ciphertext moved to another record must not open")
	sealed[len(sealed)-1] ^= 1
	_, err = box.Open(sealed, []byte("int_1"))
	require.Error(t, err)
	_, err = box.Open([]byte("short"), nil)
	require.Error(t, err)

	other, err := New(bytes.Repeat([]byte{1}, KeySize))
	require.NoError(t, err)
	_, err = other.Open(box.Seal(secret, nil), nil)
	require.Error(t, err)
	require.NotContains(t, err.Error(), string(secret))
}

func TestLoadOrCreateKeyIsStable(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secret.key")
	k1, err := LoadOrCreateKey(path)
	require.NoError(t, err)
	k2, err := LoadOrCreateKey(path)
	require.NoError(t, err)
	require.Equal(t, k1, k2)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	_, err = New([]byte("short"))
	require.Error(t, err)
	require.NoError(t, os.WriteFile(path, []byte("not base64!"), 0o600))
	_, err = LoadOrCreateKey(path)
	require.Error(t, err)
}
