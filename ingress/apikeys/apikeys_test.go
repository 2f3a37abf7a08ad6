package apikeys

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/postgres"
	"github.com/hookflow/hookflow/ingress/postgres/pgtest"
	"github.com/hookflow/hookflow/ingress/sqlite"
)

func TestKeysSQLite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "k.db")
	db, err := sqlite.Open(path)
	require.NoError(t, err)
	defer db.Close()
	s, err := OpenStore(context.Background(), db)
	require.NoError(t, err)
	secret := testKeys(t, s)
	raw, _ := os.ReadFile(path)
	wal, _ := os.ReadFile(path + "-wal")
	require.False(t, bytes.Contains(append(raw, wal...), []byte(secret)), "keys are stored hashed")
}

func TestKeysPostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t)
	db, err := postgres.Open(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	s, err := OpenPostgresStore(context.Background(), db)
	require.NoError(t, err)
	testKeys(t, s)
}

// testKeys runs the store's behaviour and returns one issued key.
func testKeys(t *testing.T, s *Store) string {
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }

	k, secret, err := s.Create(ctx, "int_a", "ci", 90*24*time.Hour)
	require.NoError(t, err)
	require.True(t, len(secret) > 40)
	require.Equal(t, secret[:12], k.Prefix)
	require.True(t, s.Verify(ctx, "int_a", secret))
	require.False(t, s.Verify(ctx, "int_b", secret), "a key belongs to one integration")
	require.False(t, s.Verify(ctx, "int_a", secret+"x"))
	require.False(t, s.Verify(ctx, "int_a", "not-a-key"))

	list, err := s.List(ctx, "int_a")
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, now, list[0].LastUsedAt)
	require.Equal(t, now.Add(90*24*time.Hour), list[0].ExpiresAt)

	now = now.Add(91 * 24 * time.Hour)
	require.False(t, s.Verify(ctx, "int_a", secret), "expired")

	k2, secret2, err := s.Create(ctx, "int_a", "deploy", 0)
	require.NoError(t, err)
	require.True(t, s.Verify(ctx, "int_a", secret2))
	require.NoError(t, s.Revoke(ctx, k2.ID))
	require.False(t, s.Verify(ctx, "int_a", secret2), "revocation takes effect at once")
	require.NoError(t, s.Revoke(ctx, k2.ID), "revoking twice is fine")
	require.ErrorIs(t, s.Revoke(ctx, "key_missing"), ErrNotFound)
	_, _, err = s.Create(ctx, "int_a", " ", 0)
	require.Error(t, err)
	_ = k
	return secret
}
