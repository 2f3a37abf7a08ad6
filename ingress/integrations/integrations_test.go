package integrations

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/internal/secretbox"
)

func newStore(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hookflow.db")
	db, err := sqlite.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	box, err := secretbox.New(bytes.Repeat([]byte{7}, secretbox.KeySize))
	require.NoError(t, err)
	s, err := OpenStore(context.Background(), db, box)
	require.NoError(t, err)
	return s, path
}

func TestCreateAndLookUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, dbPath := newStore(t)
	in, err := s.Create(ctx, Integration{Name: "acme-github", Source: "github"})
	require.NoError(t, err)
	require.Len(t, in.Path, 32, "24 random bytes, base64url")
	require.Len(t, in.Secrets, 1)
	require.GreaterOrEqual(t, len(in.Secrets[0].Value), 32)

	got, err := s.ByPath(ctx, in.Path)
	require.NoError(t, err)
	require.Equal(t, in.ID, got.ID)
	require.Equal(t, in.Secrets[0].Value, got.Secrets[0].Value)
	_, err = s.ByPath(ctx, in.Path+"x")
	require.ErrorIs(t, err, ErrNotFound)

	_, err = s.Create(ctx, Integration{Name: "acme-github", Source: "github"})
	require.ErrorContains(t, err, "exists")
	_, err = s.Create(ctx, Integration{Name: "bad name/", Source: "github"})
	require.Error(t, err)

	given, err := s.Create(ctx, Integration{Name: "given", Source: "github", Secrets: []Secret{{Value: []byte("my-own-secret-value")}}})
	require.NoError(t, err)
	require.Equal(t, "my-own-secret-value", string(given.Secrets[0].Value))

	list, err := s.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 2)

	// Secrets and paths are not stored in the clear.
	raw, err := os.ReadFile(dbPath)
	require.NoError(t, err)
	wal, _ := os.ReadFile(dbPath + "-wal")
	raw = append(raw, wal...)
	require.False(t, bytes.Contains(raw, in.Secrets[0].Value))
	require.False(t, bytes.Contains(raw, []byte("my-own-secret-value")))
	require.False(t, bytes.Contains(raw, []byte(in.Path)))
}

func TestRotate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	in, err := s.Create(ctx, Integration{Name: "r", Source: "github", Secrets: []Secret{{Value: []byte("old")}}})
	require.NoError(t, err)

	rot, err := s.Rotate(ctx, in.ID, []byte("new"), 24*time.Hour)
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("new"), []byte("old")}, rot.ValidSecrets(now.Add(time.Hour)))
	require.Equal(t, [][]byte{[]byte("new")}, rot.ValidSecrets(now.Add(25*time.Hour)))

	got, err := s.Get(ctx, in.ID)
	require.NoError(t, err)
	require.Equal(t, rot.Secrets, got.Secrets)

	now = now.Add(2 * time.Hour)
	rot, err = s.Rotate(ctx, in.ID, nil, 0)
	require.NoError(t, err)
	require.Len(t, rot.Secrets, 1, "no overlap drops old secrets at once")
	require.NotEqual(t, "new", string(rot.Secrets[0].Value))
	_, err = s.Rotate(ctx, "int_missing", nil, 0)
	require.ErrorIs(t, err, ErrNotFound)
}
