// Package integrations stores the ingress's integrations: one per sender
// configuration, each with its own secret URL path and secrets. Secrets and
// paths are encrypted at rest; paths are looked up by their SHA-256. The
// store lives in SQLite (one process) or PostgreSQL (replicas share it).
package integrations

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookflow/hookflow/ingress/postgres"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/internal/secretbox"
)

// ErrNotFound is returned for an unknown integration ID or path.
var ErrNotFound = errors.New("integrations: not found")

// Integration is one sender configuration.
type Integration struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Source string `json:"source"`
	// Path is the secret last segment of the integration's URL
	// (/hooks/<Path>); 192 random bits.
	Path string `json:"-"`
	// Secrets verify deliveries, newest first. During a rotation the old
	// secret stays until its ExpiresAt.
	Secrets []Secret `json:"-"`
	// Options are source-specific settings (see each ingress/<source>).
	Options   map[string]string `json:"options,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
}

// Secret is one webhook secret.
type Secret struct {
	Value []byte `json:"v"`
	// ExpiresAt is when the secret stops verifying; zero means never.
	ExpiresAt time.Time `json:"e,omitzero"`
}

// ValidSecrets returns the secret values that verify at now, newest first.
func (i Integration) ValidSecrets(now time.Time) [][]byte {
	out := make([][]byte, 0, len(i.Secrets))
	for _, s := range i.Secrets {
		if s.ExpiresAt.IsZero() || now.Before(s.ExpiresAt) {
			out = append(out, s.Value)
		}
	}
	return out
}

var sqliteMigrations = []string{
	`CREATE TABLE integrations (
		id          TEXT PRIMARY KEY,
		name        TEXT NOT NULL UNIQUE,
		source      TEXT NOT NULL,
		path_hash   TEXT NOT NULL UNIQUE,
		path_enc    BLOB NOT NULL,
		secrets_enc BLOB NOT NULL,
		options     TEXT NOT NULL DEFAULT '{}',
		created_at  INTEGER NOT NULL
	)`,
}

var postgresMigrations = []string{
	`CREATE TABLE integrations (
		id          TEXT   PRIMARY KEY,
		name        TEXT   NOT NULL UNIQUE,
		source      TEXT   NOT NULL,
		path_hash   TEXT   NOT NULL UNIQUE,
		path_enc    BYTEA  NOT NULL,
		secrets_enc BYTEA  NOT NULL,
		options     TEXT   NOT NULL DEFAULT '{}',
		created_at  BIGINT NOT NULL
	)`,
}

// Store keeps integrations in SQLite or PostgreSQL.
type Store struct {
	db  *sql.DB
	box *secretbox.Box
	now func() time.Time
	// pg: PostgreSQL's placeholders ($1) and row locks.
	pg bool
}

// OpenStore runs the store's migrations in the SQLite database db (see
// ingress/sqlite.Open) and returns the store; box encrypts secrets and
// paths.
func OpenStore(ctx context.Context, db *sql.DB, box *secretbox.Box) (*Store, error) {
	if err := sqlite.Migrate(ctx, db, "integrations", sqliteMigrations); err != nil {
		return nil, err
	}
	return &Store{db: db, box: box, now: time.Now}, nil
}

// OpenPostgresStore is OpenStore for the PostgreSQL database db (see
// ingress/postgres.Open), which ingress replicas share. Every replica
// needs the same box key.
func OpenPostgresStore(ctx context.Context, db *sql.DB, box *secretbox.Box) (*Store, error) {
	if err := postgres.Migrate(ctx, db, "integrations", postgresMigrations); err != nil {
		return nil, err
	}
	return &Store{db: db, box: box, now: time.Now, pg: true}, nil
}

// sql rewrites q's ? placeholders for the store's database; the queries
// hold no other question marks.
func (s *Store) sql(q string) string {
	if !s.pg {
		return q
	}
	return postgres.Rebind(q)
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// Create stores a new integration. ID, Path and CreatedAt are generated; a
// secret is generated when in.Secrets is empty, in the sender's own format
// (whsec_ for Standard Webhooks senders: see newSecret). The returned
// integration carries the secret so that it can be shown once.
func (s *Store) Create(ctx context.Context, in Integration) (Integration, error) {
	if !nameRE.MatchString(in.Name) {
		return Integration{}, fmt.Errorf("integrations: name %q: use 1-100 letters, digits, '.', '_' or '-'", in.Name)
	}
	if in.Source == "" {
		return Integration{}, errors.New("integrations: source is required")
	}
	in.ID = "int_" + randomToken(12)
	in.Path = randomToken(24)
	in.CreatedAt = s.now().UTC().Truncate(time.Second)
	if len(in.Secrets) == 0 {
		in.Secrets = []Secret{{Value: newSecret(in.Source, in.Options)}}
	}
	for _, sec := range in.Secrets {
		if len(sec.Value) == 0 {
			return Integration{}, errors.New("integrations: empty secret")
		}
	}
	secrets, _ := json.Marshal(in.Secrets)
	opts, _ := json.Marshal(nonNil(in.Options))
	_, err := s.db.ExecContext(ctx, s.sql(`INSERT INTO integrations (id, name, source, path_hash, path_enc, secrets_enc, options, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), in.ID, in.Name, in.Source, pathHash(in.Path),
		s.box.Seal([]byte(in.Path), []byte(in.ID+"/path")), s.box.Seal(secrets, []byte(in.ID+"/secrets")),
		string(opts), in.CreatedAt.Unix())
	if err != nil {
		if nameTaken(err) {
			return Integration{}, fmt.Errorf("integrations: an integration named %q exists", in.Name)
		}
		return Integration{}, fmt.Errorf("integrations: create: %w", err)
	}
	return in, nil
}

// ByPath returns the integration whose URL ends in path.
func (s *Store) ByPath(ctx context.Context, path string) (Integration, error) {
	return s.one(ctx, s.db, `WHERE path_hash = ?`, pathHash(path))
}

// Get returns the integration with id.
func (s *Store) Get(ctx context.Context, id string) (Integration, error) {
	return s.one(ctx, s.db, `WHERE id = ?`, id)
}

// List returns every integration, oldest first.
func (s *Store) List(ctx context.Context) ([]Integration, error) {
	return s.query(ctx, s.db, `ORDER BY created_at, id`)
}

// Rotate makes secret the newest secret of integration id (generating one
// when empty); the secrets it had stay valid for overlap, then expire.
// It returns the integration with the new secret. Concurrent rotations,
// from this process or another replica, apply one after the other: none
// loses the secret another added.
func (s *Store) Rotate(ctx context.Context, id string, secret []byte, overlap time.Duration) (Integration, error) {
	// SQLite transactions take the write lock at BEGIN (see
	// ingress/sqlite.Open); PostgreSQL locks the row.
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Integration{}, fmt.Errorf("integrations: rotate: %w", err)
	}
	defer tx.Rollback()
	forUpdate := ""
	if s.pg {
		forUpdate = " FOR UPDATE"
	}
	in, err := s.one(ctx, tx, `WHERE id = ?`+forUpdate, id)
	if err != nil {
		return Integration{}, err
	}
	if len(secret) == 0 {
		secret = newSecret(in.Source, in.Options)
	}
	now := s.now()
	expires := now.Add(overlap)
	kept := []Secret{{Value: secret}}
	for _, old := range in.Secrets {
		if overlap <= 0 || (!old.ExpiresAt.IsZero() && !now.Before(old.ExpiresAt)) {
			continue
		}
		if old.ExpiresAt.IsZero() || old.ExpiresAt.After(expires) {
			old.ExpiresAt = expires
		}
		kept = append(kept, old)
	}
	in.Secrets = kept
	enc, _ := json.Marshal(kept)
	if _, err := tx.ExecContext(ctx, s.sql(`UPDATE integrations SET secrets_enc = ? WHERE id = ?`),
		s.box.Seal(enc, []byte(id+"/secrets")), id); err != nil {
		return Integration{}, fmt.Errorf("integrations: rotate: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Integration{}, fmt.Errorf("integrations: rotate: %w", err)
	}
	return in, nil
}

// Delete removes integration id: its URL stops resolving at once (in
// this process after the ingress's cache is invalidated, in others within
// its TTL) and its secrets are gone. Journal entries it received stay.
func (s *Store) Delete(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, s.sql(`DELETE FROM integrations WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("integrations: delete: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrNotFound
	}
	return nil
}

// queryer is a *sql.DB or *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Store) one(ctx context.Context, q queryer, where string, args ...any) (Integration, error) {
	list, err := s.query(ctx, q, where, args...)
	if err != nil {
		return Integration{}, err
	}
	if len(list) == 0 {
		return Integration{}, ErrNotFound
	}
	return list[0], nil
}

func (s *Store) query(ctx context.Context, q queryer, tail string, args ...any) ([]Integration, error) {
	rows, err := q.QueryContext(ctx, s.sql(`SELECT id, name, source, path_enc, secrets_enc, options, created_at FROM integrations `+tail), args...)
	if err != nil {
		return nil, fmt.Errorf("integrations: query: %w", err)
	}
	defer rows.Close()
	var out []Integration
	for rows.Next() {
		var in Integration
		var pathEnc, secretsEnc []byte
		var opts string
		var created int64
		if err := rows.Scan(&in.ID, &in.Name, &in.Source, &pathEnc, &secretsEnc, &opts, &created); err != nil {
			return nil, fmt.Errorf("integrations: scan: %w", err)
		}
		path, err := s.box.Open(pathEnc, []byte(in.ID+"/path"))
		if err != nil {
			return nil, fmt.Errorf("integrations: %s: %w", in.ID, err)
		}
		secrets, err := s.box.Open(secretsEnc, []byte(in.ID+"/secrets"))
		if err != nil {
			return nil, fmt.Errorf("integrations: %s: %w", in.ID, err)
		}
		in.Path = string(path)
		if err := json.Unmarshal(secrets, &in.Secrets); err != nil {
			return nil, fmt.Errorf("integrations: %s: decode secrets: %w", in.ID, err)
		}
		if err := json.Unmarshal([]byte(opts), &in.Options); err != nil {
			return nil, fmt.Errorf("integrations: %s: decode options: %w", in.ID, err)
		}
		in.CreatedAt = time.Unix(created, 0).UTC()
		out = append(out, in)
	}
	return out, rows.Err()
}

// nameTaken reports whether err is the unique name constraint failing.
func nameTaken(err error) bool {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgErr.Code == "23505" && pgErr.ConstraintName == "integrations_name_key"
	}
	return strings.Contains(err.Error(), "UNIQUE") && strings.Contains(err.Error(), "integrations.name")
}

func pathHash(path string) string {
	h := sha256.Sum256([]byte(path))
	return hex.EncodeToString(h[:])
}

// randomToken returns n random bytes, base64url-encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("integrations: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// MaybePath reports whether p has the form of an integration's URL path
// (the base64url of 24 random bytes), so that the ingress neither looks up
// nor caches paths that cannot be one.
func MaybePath(p string) bool {
	if len(p) != base64.RawURLEncoding.EncodedLen(24) {
		return false
	}
	for _, c := range []byte(p) {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
