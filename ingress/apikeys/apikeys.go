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
	// Scopes are what the key may send ("deployments", "incidents", as
	// the source defines them). Empty means every scope: keys created
	// before scopes existed keep every scope.
	Scopes []string `json:"scopes,omitempty"`
}

// Allows reports whether the key carries scope (a key without scopes
// carries every one).
func (k Key) Allows(scope string) bool {
	if len(k.Scopes) == 0 {
		return true
	}
	for _, s := range k.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// CheckScopes reports a scope that is not a lower-case word (letters,
// digits, '_' and '-'), or a repeated one.
func CheckScopes(scopes []string) error {
	seen := map[string]bool{}
	for _, s := range scopes {
		ok := s != "" && len(s) <= 40
		for _, r := range s {
			ok = ok && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-')
		}
		if !ok {
			return fmt.Errorf("apikeys: scope %q must be a lower-case word", s)
		}
		if seen[s] {
			return fmt.Errorf("apikeys: scope %q given twice", s)
		}
		seen[s] = true
	}
	return nil
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
	// Version 2: scopes, comma separated; '' (every key before) is every
	// scope.
	`ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT ''`,
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
	`ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT ''`,
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

// Create issues a key for integration with every scope. ttl zero means no
// expiry. It returns the record and the key, which is never available
// again.
func (s *Store) Create(ctx context.Context, integration, name string, ttl time.Duration) (Key, string, error) {
	return s.CreateScoped(ctx, integration, name, ttl, nil)
}

// CreateScoped is Create for a key limited to scopes (nil or empty: every
// scope).
func (s *Store) CreateScoped(ctx context.Context, integration, name string, ttl time.Duration, scopes []string) (Key, string, error) {
	if integration == "" || strings.TrimSpace(name) == "" {
		return Key{}, "", errors.New("apikeys: integration and name are required")
	}
	if ttl < 0 {
		return Key{}, "", errors.New("apikeys: expiry must be in the future")
	}
	if err := CheckScopes(scopes); err != nil {
		return Key{}, "", err
	}
	secret := keyPrefix + random(32)
	now := s.now().UTC().Truncate(time.Second)
	k := Key{ID: "key_" + random(9), Integration: integration, Name: name, Prefix: secret[:len(keyPrefix)+8], CreatedAt: now}
	if len(scopes) > 0 {
		k.Scopes = append([]string(nil), scopes...)
	}
	if ttl > 0 {
		k.ExpiresAt = now.Add(ttl)
	}
	_, err := s.db.ExecContext(ctx, s.sql(`INSERT INTO api_keys (id, integration_id, name, prefix, hash, created_at, expires_at, scopes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		k.ID, k.Integration, k.Name, k.Prefix, hash(secret), k.CreatedAt.Unix(), unix(k.ExpiresAt), strings.Join(k.Scopes, ","))
	if err != nil {
		return Key{}, "", fmt.Errorf("apikeys: create: %w", err)
	}
	return k, secret, nil
}

// Verify reports whether key is a live key of integration (not revoked,
// not expired) and records its use.
func (s *Store) Verify(ctx context.Context, integration, key string) bool {
	_, ok := s.Check(ctx, integration, key)
	return ok
}

// Check is Verify returning the key's record (ID, name, prefix and
// scopes; never the key), for callers that check scopes.
func (s *Store) Check(ctx context.Context, integration, key string) (Key, bool) {
	if !strings.HasPrefix(key, keyPrefix) {
		return Key{}, false
	}
	var k Key
	var expires, revoked int64
	var scopes string
	err := s.db.QueryRowContext(ctx, s.sql(`SELECT id, integration_id, name, prefix, expires_at, revoked_at, scopes FROM api_keys WHERE hash = ?`), hash(key)).
		Scan(&k.ID, &k.Integration, &k.Name, &k.Prefix, &expires, &revoked, &scopes)
	if err != nil {
		return Key{}, false
	}
	now := s.now()
	if subtle.ConstantTimeCompare([]byte(k.Integration), []byte(integration)) != 1 || revoked != 0 || (expires != 0 && now.Unix() >= expires) {
		return Key{}, false
	}
	k.ExpiresAt, k.Scopes = fromUnix(expires), splitScopes(scopes)
	// Last use is informational: at most one write per key per minute.
	_, _ = s.db.ExecContext(ctx, s.sql(`UPDATE api_keys SET last_used_at = ? WHERE id = ? AND last_used_at < ?`), now.Unix(), k.ID, now.Unix()-60)
	return k, true
}

func splitScopes(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// List returns the keys of integration ("" for all), oldest first.
func (s *Store) List(ctx context.Context, integration string) ([]Key, error) {
	q := `SELECT id, integration_id, name, prefix, created_at, last_used_at, expires_at, revoked_at, scopes FROM api_keys`
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
		var scopes string
		if err := rows.Scan(&k.ID, &k.Integration, &k.Name, &k.Prefix, &created, &used, &expires, &revoked, &scopes); err != nil {
			return nil, fmt.Errorf("apikeys: list: %w", err)
		}
		k.CreatedAt, k.LastUsedAt, k.ExpiresAt, k.RevokedAt = fromUnix(created), fromUnix(used), fromUnix(expires), fromUnix(revoked)
		k.Scopes = splitScopes(scopes)
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
