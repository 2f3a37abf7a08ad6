// Package apikeys issues and checks API keys for generic senders and CI
// systems. A key is shown once, when it is created; the store keeps only its
// SHA-256 (keys are 256 random bits, so a plain hash is enough) and an
// 8-character prefix to recognise it by.
package apikeys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookflow/hookflow/ingress/postgres"
	"github.com/hookflow/hookflow/ingress/sqlite"
)

// ErrNotFound is returned for an unknown key ID.
var ErrNotFound = errors.New("apikeys: not found")

// keyPrefix starts every key, so that a leaked key is easy to recognise in
// secret scanners.
const keyPrefix = "hfk_"

// Key is an API key's record; the key itself is not kept.
type Key struct {
	ID          string    `json:"id"`
	Integration string    `json:"integration"`
	Name        string    `json:"name"`
	Prefix      string    `json:"prefix"`
	CreatedAt   time.Time `json:"created_at"`
	// LastUsedAt is zero until the key verifies a delivery.
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	// ExpiresAt is zero for a key that does not expire.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// RevokedAt is zero for a key in use.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
}

var sqliteMigrations = []string{
	`CREATE TABLE api_keys (
		id             TEXT PRIMARY KEY,
		integration_id TEXT NOT NULL,
		name           TEXT NOT NULL,
		prefix         TEXT NOT NULL,
		hash           TEXT NOT NULL UNIQUE,
		created_at     INTEGER NOT NULL,
		last_used_at   INTEGER NOT NULL DEFAULT 0,
		expires_at     INTEGER NOT NULL DEFAULT 0,
		revoked_at     INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX api_keys_integration ON api_keys (integration_id);`,
}

var postgresMigrations = []string{
	`CREATE TABLE api_keys (
		id             TEXT PRIMARY KEY,
		integration_id TEXT NOT NULL,
		name           TEXT NOT NULL,
		prefix         TEXT NOT NULL,
		hash           TEXT NOT NULL UNIQUE,
		created_at     BIGINT NOT NULL,
		last_used_at   BIGINT NOT NULL DEFAULT 0,
		expires_at     BIGINT NOT NULL DEFAULT 0,
		revoked_at     BIGINT NOT NULL DEFAULT 0
	);
	CREATE INDEX api_keys_integration ON api_keys (integration_id);`,
}

// Store keeps API keys in SQLite or PostgreSQL.
type Store struct {
	db  *sql.DB
	now func() time.Time
	pg  bool
}

// OpenStore runs the store's migrations in the SQLite database db and
// returns it.
func OpenStore(ctx context.Context, db *sql.DB) (*Store, error) {
	if err := sqlite.Migrate(ctx, db, "apikeys", sqliteMigrations); err != nil {
		return nil, err
	}
	return &Store{db: db, now: time.Now}, nil
}

// OpenPostgresStore is OpenStore for a PostgreSQL database that ingress
// replicas share.
func OpenPostgresStore(ctx context.Context, db *sql.DB) (*Store, error) {
	if err := postgres.Migrate(ctx, db, "apikeys", postgresMigrations); err != nil {
		return nil, err
	}
	return &Store{db: db, now: time.Now, pg: true}, nil
}

func (s *Store) sql(q string) string {
	if s.pg {
		return postgres.Rebind(q)
	}
	return q
}

// Create issues a key for integration. ttl zero means no expiry. It returns
// the record and the key, which is never available again.
func (s *Store) Create(ctx context.Context, integration, name string, ttl time.Duration) (Key, string, error) {
	if integration == "" || strings.TrimSpace(name) == "" {
		return Key{}, "", errors.New("apikeys: integration and name are required")
	}
	if ttl < 0 {
		return Key{}, "", errors.New("apikeys: expiry must be in the future")
	}
	secret := keyPrefix + random(32)
	now := s.now().UTC().Truncate(time.Second)
	k := Key{ID: "key_" + random(9), Integration: integration, Name: name, Prefix: secret[:len(keyPrefix)+8], CreatedAt: now}
	if ttl > 0 {
		k.ExpiresAt = now.Add(ttl)
	}
	_, err := s.db.ExecContext(ctx, s.sql(`INSERT INTO api_keys (id, integration_id, name, prefix, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		k.ID, k.Integration, k.Name, k.Prefix, hash(secret), k.CreatedAt.Unix(), unix(k.ExpiresAt))
	if err != nil {
		return Key{}, "", fmt.Errorf("apikeys: create: %w", err)
	}
	return k, secret, nil
}

// Verify reports whether key is a live key of integration (not revoked,
// not expired) and records its use.
func (s *Store) Verify(ctx context.Context, integration, key string) bool {
	if !strings.HasPrefix(key, keyPrefix) {
		return false
	}
	var id, owner string
	var expires, revoked int64
	err := s.db.QueryRowContext(ctx, s.sql(`SELECT id, integration_id, expires_at, revoked_at FROM api_keys WHERE hash = ?`), hash(key)).
		Scan(&id, &owner, &expires, &revoked)
	if err != nil {
		return false
	}
	now := s.now()
	if subtle.ConstantTimeCompare([]byte(owner), []byte(integration)) != 1 || revoked != 0 || (expires != 0 && now.Unix() >= expires) {
		return false
	}
	// Last use is informational: at most one write per key per minute.
	_, _ = s.db.ExecContext(ctx, s.sql(`UPDATE api_keys SET last_used_at = ? WHERE id = ? AND last_used_at < ?`), now.Unix(), id, now.Unix()-60)
	return true
}

// List returns the keys of integration ("" for all), oldest first.
func (s *Store) List(ctx context.Context, integration string) ([]Key, error) {
	q := `SELECT id, integration_id, name, prefix, created_at, last_used_at, expires_at, revoked_at FROM api_keys`
	var args []any
	if integration != "" {
		q += ` WHERE integration_id = ?`
		args = append(args, integration)
	}
	rows, err := s.db.QueryContext(ctx, s.sql(q+` ORDER BY created_at, id`), args...)
	if err != nil {
		return nil, fmt.Errorf("apikeys: list: %w", err)
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		var k Key
		var created, used, expires, revoked int64
		if err := rows.Scan(&k.ID, &k.Integration, &k.Name, &k.Prefix, &created, &used, &expires, &revoked); err != nil {
			return nil, fmt.Errorf("apikeys: list: %w", err)
		}
		k.CreatedAt, k.LastUsedAt, k.ExpiresAt, k.RevokedAt = fromUnix(created), fromUnix(used), fromUnix(expires), fromUnix(revoked)
		out = append(out, k)
	}
	return out, rows.Err()
}

// Revoke stops key id from verifying, at once.
func (s *Store) Revoke(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, s.sql(`UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at = 0`), s.now().Unix(), id)
	if err != nil {
		return fmt.Errorf("apikeys: revoke: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var exists int
		if s.db.QueryRowContext(ctx, s.sql(`SELECT 1 FROM api_keys WHERE id = ?`), id).Scan(&exists) != nil {
			return ErrNotFound
		}
	}
	return nil
}

func hash(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

func random(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("apikeys: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func fromUnix(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(v, 0).UTC()
}
