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

func TestScopes(t *testing.T) {
	t.Parallel()
	open := map[string]func(t *testing.T) (*Store, func(ctx context.Context) error){
		"sqlite": func(t *testing.T) (*Store, func(context.Context) error) {
			db, err := sqlite.Open(filepath.Join(t.TempDir(), "k.db"))
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			require.NoError(t, sqlite.Migrate(context.Background(), db, "apikeys", sqliteMigrations[:1]))
			s := &Store{db: db, now: time.Now}
			return s, func(ctx context.Context) error { _, err := OpenStore(ctx, db); return err }
		},
		"postgres": func(t *testing.T) (*Store, func(context.Context) error) {
			db, err := postgres.Open(context.Background(), pgtest.Schema(t))
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			require.NoError(t, postgres.Migrate(context.Background(), db, "apikeys", postgresMigrations[:1]))
			s := &Store{db: db, now: time.Now, pg: true}
			return s, func(ctx context.Context) error { _, err := OpenPostgresStore(ctx, db); return err }
		},
	}
	for name, o := range open {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, upgrade := o(t)
			// A key issued by a binary that knew no scopes (schema version 1).
			_, err := s.db.ExecContext(ctx, s.sql(`INSERT INTO api_keys (id, integration_id, name, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
				"key_old", "int_a", "old", "hfk_oldkey", hash("hfk_oldkey-secret"), time.Now().Unix())
			require.NoError(t, err)
			require.NoError(t, upgrade(ctx))

			old, ok := s.Check(ctx, "int_a", "hfk_oldkey-secret")
			require.True(t, ok)
			require.Empty(t, old.Scopes)
			require.True(t, old.Allows("deployments"))
			require.True(t, old.Allows("incidents"), "keys created before scopes keep every scope")

			k, secret, err := s.CreateScoped(ctx, "int_a", "pager", 0, []string{"incidents"})
			require.NoError(t, err)
			require.Equal(t, []string{"incidents"}, k.Scopes)
			got, ok := s.Check(ctx, "int_a", secret)
			require.True(t, ok)
			require.Equal(t, k.ID, got.ID)
			require.True(t, got.Allows("incidents"))
			require.False(t, got.Allows("deployments"))
			_, ok = s.Check(ctx, "int_b", secret)
			require.False(t, ok)

			_, all, err := s.CreateScoped(ctx, "int_a", "ci", 0, []string{"deployments", "incidents"})
			require.NoError(t, err)
			got, ok = s.Check(ctx, "int_a", all)
			require.True(t, ok)
			require.Equal(t, []string{"deployments", "incidents"}, got.Scopes)

			list, err := s.List(ctx, "int_a")
			require.NoError(t, err)
			require.Len(t, list, 3)
			for _, l := range list {
				if l.ID == "key_old" {
					require.Empty(t, l.Scopes)
				}
			}

			for _, bad := range [][]string{{""}, {"Deployments"}, {"a,b"}, {"x", "x"}, {"deploy ments"}} {
				_, _, err := s.CreateScoped(ctx, "int_a", "bad", 0, bad)
				require.Error(t, err, "%q", bad)
			}
		})
	}
}
