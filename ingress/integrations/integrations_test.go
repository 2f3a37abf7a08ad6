package integrations

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/postgres"
	"github.com/hookflow/hookflow/ingress/postgres/pgtest"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/internal/secretbox"
)

// backend opens stores on one database: every call a new connection pool,
// as another replica would (SQLite: another process on the same file).
// raw returns every byte the database holds for the store.
type backend struct {
	name string
	open func(t *testing.T) (open func() *Store, raw func() []byte)
}

var backends = []backend{
	{"sqlite", func(t *testing.T) (func() *Store, func() []byte) {
		path := filepath.Join(t.TempDir(), "hookflow.db")
		open := func() *Store {
			db, err := sqlite.Open(path)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			s, err := OpenStore(context.Background(), db, testBox(t))
			require.NoError(t, err)
			return s
		}
		return open, func() []byte {
			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			wal, _ := os.ReadFile(path + "-wal")
			return append(raw, wal...)
		}
	}},
	{"postgres", func(t *testing.T) (func() *Store, func() []byte) {
		dsn := pgtest.Schema(t)
		var db *sql.DB
		open := func() *Store {
			var err error
			db, err = postgres.Open(context.Background(), dsn)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			s, err := OpenPostgresStore(context.Background(), db, testBox(t))
			require.NoError(t, err)
			return s
		}
		return open, func() []byte {
			rows, err := db.Query(`SELECT id, name, source, path_hash, path_enc, secrets_enc, options, created_at::text FROM integrations`)
			require.NoError(t, err)
			defer rows.Close()
			var all []byte
			for rows.Next() {
				cols := make([][]byte, 8)
				dest := make([]any, len(cols))
				for i := range cols {
					dest[i] = &cols[i]
				}
				require.NoError(t, rows.Scan(dest...))
				all = append(all, bytes.Join(cols, nil)...)
			}
			require.NoError(t, rows.Err())
			require.NotEmpty(t, all)
			return all
		}
	}},
}

func testBox(t *testing.T) *secretbox.Box {
	box, err := secretbox.New(bytes.Repeat([]byte{7}, secretbox.KeySize))
	require.NoError(t, err)
	return box
}

// eachBackend runs test against every backend, in parallel.
func eachBackend(t *testing.T, test func(t *testing.T, open func() *Store, raw func() []byte)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			open, raw := b.open(t)
			test(t, open, raw)
		})
	}
}

func TestCreateAndLookUp(t *testing.T) {
	t.Parallel()
	eachBackend(t, createAndLookUp)
}

func createAndLookUp(t *testing.T, open func() *Store, raw func() []byte) {
	ctx := context.Background()
	s := open()
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

	// Another replica sees them.
	other := open()
	got, err = other.ByPath(ctx, given.Path)
	require.NoError(t, err)
	require.Equal(t, given.ID, got.ID)

	// Secrets and paths are not stored in the clear.
	stored := raw()
	require.True(t, bytes.Contains(stored, []byte("acme-github")), "raw reads the store")
	require.False(t, bytes.Contains(stored, in.Secrets[0].Value))
	require.False(t, bytes.Contains(stored, []byte("my-own-secret-value")))
	require.False(t, bytes.Contains(stored, []byte(in.Path)))
}

func TestRotate(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, open func() *Store, _ func() []byte) { rotate(t, open()) })
}

func rotate(t *testing.T, s *Store) {
	ctx := context.Background()
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

// TestConcurrentRotations rotates one integration from two replicas at
// once: no rotation may lose a secret another one added.
func TestConcurrentRotations(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, open func() *Store, _ func() []byte) {
		ctx := context.Background()
		replicas := []*Store{open(), open()}
		in, err := replicas[0].Create(ctx, Integration{Name: "busy", Source: "github", Secrets: []Secret{{Value: []byte("first")}}})
		require.NoError(t, err)
		const n = 10
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, err := replicas[i%2].Rotate(ctx, in.ID, []byte(fmt.Sprint("secret-", i)), time.Hour)
				require.NoError(t, err)
			})
		}
		wg.Wait()
		got, err := replicas[1].Get(ctx, in.ID)
		require.NoError(t, err)
		require.Len(t, got.ValidSecrets(time.Now()), n+1)
	})
}

func TestDelete(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, open func() *Store, _ func() []byte) {
		ctx := context.Background()
		s := open()
		in, err := s.Create(ctx, Integration{Name: "gone", Source: "github"})
		require.NoError(t, err)
		require.NoError(t, s.Delete(ctx, in.ID))
		_, err = s.ByPath(ctx, in.Path)
		require.ErrorIs(t, err, ErrNotFound, "the URL stops resolving")
		require.ErrorIs(t, s.Delete(ctx, in.ID), ErrNotFound)
		again, err := s.Create(ctx, Integration{Name: "gone", Source: "github"})
		require.NoError(t, err, "the name is free again")
		require.NotEqual(t, in.ID, again.ID)
	})
}
