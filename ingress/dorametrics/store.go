// Package dorametrics keeps the records the DORA metrics are computed from
// (deployments, the commits they ship, incidents) in Hookflow's own
// database, SQLite under `hookflow dev` and PostgreSQL in production, and
// computes the four metrics over a window.
//
// Every write is an idempotent upsert keyed by the record's own identity
// (deployment_id, incident_key): a resend, a forwarder retry or a replayed
// activity updates the record and never doubles it. The definitions of the
// metrics are in Report's comment and in blueprints/dora/README.md.
package dorametrics

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookflow/hookflow/ingress/postgres"
	"github.com/hookflow/hookflow/ingress/sqlite"
)

// Deployment statuses. Only StatusSuccess and StatusFailure are finished
// deployments that the metrics count.
const (
	StatusSuccess    = "success"
	StatusFailure    = "failure"
	StatusInProgress = "in_progress"
	StatusCancelled  = "cancelled"
)

// DefaultEnvironment is the environment of an incident that names none.
const DefaultEnvironment = "production"

// Deployment is one deployment of a repository to an environment.
type Deployment struct {
	// ID identifies the deployment across resends (deployment_id). Native
	// sources prefix theirs ("github:<host>/<id>") so that they never
	// collide with IDs a CI chose.
	ID          string
	Repo        string
	Environment string
	SHA         string
	// Status is one of the Status constants.
	Status string
	// StartedAt and FinishedAt are zero when unknown; an upsert with a
	// zero time keeps the time already stored.
	StartedAt  time.Time
	FinishedAt time.Time
	// Commits are the commits the deployment ships. Nil keeps the commits
	// already stored; an empty non-nil slice clears them.
	Commits []Commit
	// URL is the deployment's page; "" keeps the stored one.
	URL string
	// Source is the sender the record came from ("dora", "github", ...).
	Source string
	// Batch is the batch_id of the upload that last wrote the record, for
	// prune --batch.
	Batch string
}

// Commit is one commit a deployment ships.
type Commit struct {
	SHA         string    `json:"sha"`
	CommittedAt time.Time `json:"committed_at"`
}

// Incident is one incident in a repository's environment.
type Incident struct {
	// Key identifies the incident across resends (incident_key).
	Key      string
	Provider string
	Status   string
	Title    string
	Repo     string
	// Environment defaults to DefaultEnvironment.
	Environment string
	CreatedAt   time.Time
	// AcknowledgedAt and ResolvedAt are zero while not (yet) known; an
	// upsert with a zero time keeps the time already stored.
	AcknowledgedAt time.Time
	ResolvedAt     time.Time
	URL            string
	// CauseDeploymentID or CauseSHA name the deployment that caused the
	// incident; both empty for an incident without a known cause.
	CauseDeploymentID string
	CauseSHA          string
	Source            string
	Batch             string
}

// Times are stored as Unix nanoseconds in a 64-bit integer on both engines
// (0 for unknown), which keeps the fractions of a second RFC 3339 allows
// and one set of queries for both.
const schemaV1 = `
CREATE TABLE dora_deployments (
	deployment_id TEXT PRIMARY KEY,
	repo          TEXT NOT NULL,
	environment   TEXT NOT NULL,
	sha           TEXT NOT NULL,
	status        TEXT NOT NULL,
	started_at    %[1]s NOT NULL DEFAULT 0,
	finished_at   %[1]s NOT NULL DEFAULT 0,
	url           TEXT NOT NULL DEFAULT '',
	source        TEXT NOT NULL DEFAULT '',
	batch_id      TEXT NOT NULL DEFAULT '',
	updated_at    %[1]s NOT NULL
);
CREATE INDEX dora_deployments_window ON dora_deployments (repo, environment, finished_at);
CREATE INDEX dora_deployments_sha ON dora_deployments (repo, environment, sha);
CREATE INDEX dora_deployments_batch ON dora_deployments (batch_id);
CREATE TABLE dora_commits (
	deployment_id TEXT NOT NULL REFERENCES dora_deployments (deployment_id) ON DELETE CASCADE,
	sha           TEXT NOT NULL,
	committed_at  %[1]s NOT NULL,
	PRIMARY KEY (deployment_id, sha)
);
CREATE TABLE dora_incidents (
	incident_key        TEXT PRIMARY KEY,
	provider            TEXT NOT NULL DEFAULT '',
	status              TEXT NOT NULL DEFAULT '',
	title               TEXT NOT NULL DEFAULT '',
	repo                TEXT NOT NULL,
	environment         TEXT NOT NULL,
	created_at          %[1]s NOT NULL,
	acknowledged_at     %[1]s NOT NULL DEFAULT 0,
	resolved_at         %[1]s NOT NULL DEFAULT 0,
	url                 TEXT NOT NULL DEFAULT '',
	cause_deployment_id TEXT NOT NULL DEFAULT '',
	cause_sha           TEXT NOT NULL DEFAULT '',
	source              TEXT NOT NULL DEFAULT '',
	batch_id            TEXT NOT NULL DEFAULT '',
	updated_at          %[1]s NOT NULL
);
CREATE INDEX dora_incidents_repo ON dora_incidents (repo, environment);
CREATE INDEX dora_incidents_batch ON dora_incidents (batch_id);
`

// schemaV2 records where a deployment's commits came from (the
// Commits* constants), empty while unknown, so that the dora blueprint can
// resolve them through the git provider's compare API. Deployments stored
// with commits listed them in their record.
const schemaV2 = `
ALTER TABLE dora_deployments ADD COLUMN commits_from TEXT NOT NULL DEFAULT '';
UPDATE dora_deployments SET commits_from = 'record' WHERE deployment_id IN (SELECT deployment_id FROM dora_commits);
CREATE INDEX dora_deployments_unresolved ON dora_deployments (batch_id, commits_from);
`

var (
	sqliteMigrations   = []string{fmt.Sprintf(schemaV1, "INTEGER"), schemaV2}
	postgresMigrations = []string{fmt.Sprintf(schemaV1, "BIGINT"), schemaV2}
)

// Store keeps DORA records in SQLite or PostgreSQL.
type Store struct {
	db  *sql.DB
	pg  bool
	now func() time.Time
}

// OpenStore runs the store's migrations in the SQLite database db (opened
// with ingress/sqlite.Open, which turns foreign keys on) and returns it.
func OpenStore(ctx context.Context, db *sql.DB) (*Store, error) {
	if err := sqlite.Migrate(ctx, db, "dorametrics", sqliteMigrations); err != nil {
		return nil, err
	}
	return &Store{db: db, now: time.Now}, nil
}

// OpenPostgresStore is OpenStore for PostgreSQL.
func OpenPostgresStore(ctx context.Context, db *sql.DB) (*Store, error) {
	if err := postgres.Migrate(ctx, db, "dorametrics", postgresMigrations); err != nil {
		return nil, err
	}
	return &Store{db: db, pg: true, now: time.Now}, nil
}

func (s *Store) sql(q string) string {
	if s.pg {
		return postgres.Rebind(q)
	}
	return q
}

// ErrInvalid wraps the reason a record cannot be stored.
var ErrInvalid = errors.New("dorametrics: invalid record")

// Check reports what makes d unstorable: a missing identity, repository,
// environment or status, or a status that is not one of the constants.
func (d Deployment) Check() error {
	switch {
	case strings.TrimSpace(d.ID) == "":
		return fmt.Errorf("%w: deployment without deployment_id", ErrInvalid)
	case d.Repo == "" || d.Environment == "":
		return fmt.Errorf("%w: deployment %s without repo or environment", ErrInvalid, d.ID)
	}
	switch d.Status {
	case StatusSuccess, StatusFailure, StatusInProgress, StatusCancelled:
	default:
		return fmt.Errorf("%w: deployment %s has status %q", ErrInvalid, d.ID, d.Status)
	}
	return nil
}

// Check reports what makes i unstorable.
func (i Incident) Check() error {
	switch {
	case strings.TrimSpace(i.Key) == "":
		return fmt.Errorf("%w: incident without incident_key", ErrInvalid)
	case i.Repo == "":
		return fmt.Errorf("%w: incident %s without repo", ErrInvalid, i.Key)
	case i.CreatedAt.IsZero():
		return fmt.Errorf("%w: incident %s without creation_date", ErrInvalid, i.Key)
	}
	return nil
}

// UpsertDeployments stores ds in one transaction: a deployment_id already
// stored is updated (times, commits and URL that are unknown in the new
// record are kept), never doubled. Commits a record lists replace any
// resolved before; a record without commits whose SHA differs from the
// stored one drops the commits resolved for the old SHA (they were the
// old range's), so that they are resolved again.
func (s *Store) UpsertDeployments(ctx context.Context, ds []Deployment) error {
	for _, d := range ds {
		if err := d.Check(); err != nil {
			return err
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("dorametrics: upsert deployments: %w", err)
	}
	defer tx.Rollback()
	now := s.now().UnixNano()
	upsert := s.sql(`INSERT INTO dora_deployments
		(deployment_id, repo, environment, sha, status, started_at, finished_at, url, source, batch_id, updated_at, commits_from)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (deployment_id) DO UPDATE SET
			repo = excluded.repo, environment = excluded.environment, sha = excluded.sha, status = excluded.status,
			started_at = CASE WHEN excluded.started_at = 0 THEN dora_deployments.started_at ELSE excluded.started_at END,
			finished_at = CASE WHEN excluded.finished_at = 0 THEN dora_deployments.finished_at ELSE excluded.finished_at END,
			url = CASE WHEN excluded.url = '' THEN dora_deployments.url ELSE excluded.url END,
			source = excluded.source, batch_id = excluded.batch_id, updated_at = excluded.updated_at,
			commits_from = CASE
				WHEN excluded.commits_from <> '' THEN excluded.commits_from
				WHEN dora_deployments.sha <> excluded.sha AND dora_deployments.commits_from <> 'record' THEN ''
				ELSE dora_deployments.commits_from END`)
	// Before the upsert changes the SHA: the commits resolved for the
	// old one.
	stale := s.sql(`DELETE FROM dora_commits WHERE deployment_id = ? AND EXISTS (SELECT 1 FROM dora_deployments d
		WHERE d.deployment_id = ? AND d.sha <> ? AND d.commits_from NOT IN ('', 'record'))`)
	for _, d := range ds {
		from := ""
		if d.Commits != nil {
			from = CommitsListed
		} else if _, err := tx.ExecContext(ctx, stale, d.ID, d.ID, d.SHA); err != nil {
			return fmt.Errorf("dorametrics: commits of %s: %w", d.ID, err)
		}
		if _, err := tx.ExecContext(ctx, upsert, d.ID, d.Repo, d.Environment, d.SHA, d.Status,
			nanos(d.StartedAt), nanos(d.FinishedAt), d.URL, d.Source, d.Batch, now, from); err != nil {
			return fmt.Errorf("dorametrics: upsert deployment %s: %w", d.ID, err)
		}
		if d.Commits == nil {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.sql(`DELETE FROM dora_commits WHERE deployment_id = ?`), d.ID); err != nil {
			return fmt.Errorf("dorametrics: commits of %s: %w", d.ID, err)
		}
		for _, c := range d.Commits {
			if _, err := tx.ExecContext(ctx, s.sql(`INSERT INTO dora_commits (deployment_id, sha, committed_at) VALUES (?, ?, ?)
				ON CONFLICT (deployment_id, sha) DO UPDATE SET committed_at = excluded.committed_at`),
				d.ID, c.SHA, nanos(c.CommittedAt)); err != nil {
				return fmt.Errorf("dorametrics: commit %s of %s: %w", c.SHA, d.ID, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("dorametrics: upsert deployments: %w", err)
	}
	return nil
}

// UpsertIncidents stores is in one transaction, keyed by incident_key.
func (s *Store) UpsertIncidents(ctx context.Context, is []Incident) error {
	for _, i := range is {
		if err := i.Check(); err != nil {
			return err
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("dorametrics: upsert incidents: %w", err)
	}
	defer tx.Rollback()
	now := s.now().UnixNano()
	upsert := s.sql(`INSERT INTO dora_incidents
		(incident_key, provider, status, title, repo, environment, created_at, acknowledged_at, resolved_at, url,
		 cause_deployment_id, cause_sha, source, batch_id, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (incident_key) DO UPDATE SET
			provider = excluded.provider, status = excluded.status, title = excluded.title, repo = excluded.repo,
			environment = excluded.environment, created_at = excluded.created_at,
			acknowledged_at = CASE WHEN excluded.acknowledged_at = 0 THEN dora_incidents.acknowledged_at ELSE excluded.acknowledged_at END,
			resolved_at = CASE WHEN excluded.resolved_at = 0 THEN dora_incidents.resolved_at ELSE excluded.resolved_at END,
			url = CASE WHEN excluded.url = '' THEN dora_incidents.url ELSE excluded.url END,
			cause_deployment_id = CASE WHEN excluded.cause_deployment_id = '' THEN dora_incidents.cause_deployment_id ELSE excluded.cause_deployment_id END,
			cause_sha = CASE WHEN excluded.cause_sha = '' THEN dora_incidents.cause_sha ELSE excluded.cause_sha END,
			source = excluded.source, batch_id = excluded.batch_id, updated_at = excluded.updated_at`)
	for _, i := range is {
		env := i.Environment
		if env == "" {
			env = DefaultEnvironment
		}
		if _, err := tx.ExecContext(ctx, upsert, i.Key, i.Provider, i.Status, i.Title, i.Repo, env,
			nanos(i.CreatedAt), nanos(i.AcknowledgedAt), nanos(i.ResolvedAt), i.URL,
			i.CauseDeploymentID, i.CauseSHA, i.Source, i.Batch, now); err != nil {
			return fmt.Errorf("dorametrics: upsert incident %s: %w", i.Key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("dorametrics: upsert incidents: %w", err)
	}
	return nil
}

// PruneQuery selects the records to prune: those last written by Batch, or
// those of Repo (finished, for deployments, or created, for incidents, at
// or after Since when it is set). Exactly one of Batch and Repo is set.
type PruneQuery struct {
	Batch  string
	Repo   string
	Since  time.Time
	DryRun bool
}

// Pruned counts what a prune removed (or would remove, in a dry run).
type Pruned struct {
	Deployments int  `json:"deployments"`
	Incidents   int  `json:"incidents"`
	DryRun      bool `json:"dry_run,omitempty"`
}

// Prune removes the records q selects, with their commits.
func (s *Store) Prune(ctx context.Context, q PruneQuery) (Pruned, error) {
	if (q.Batch == "") == (q.Repo == "") {
		return Pruned{}, errors.New("dorametrics: prune needs exactly one of a batch or a repository")
	}
	dWhere, iWhere, args := `batch_id = ?`, `batch_id = ?`, []any{q.Batch}
	if q.Repo != "" {
		dWhere, iWhere, args = `repo = ?`, `repo = ?`, []any{q.Repo}
		if !q.Since.IsZero() {
			dWhere += ` AND finished_at >= ?`
			iWhere += ` AND created_at >= ?`
			args = append(args, q.Since.UnixNano())
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Pruned{}, fmt.Errorf("dorametrics: prune: %w", err)
	}
	defer tx.Rollback()
	out := Pruned{DryRun: q.DryRun}
	count := func(table, where string, n *int) error {
		return tx.QueryRowContext(ctx, s.sql(`SELECT COUNT(*) FROM `+table+` WHERE `+where), args...).Scan(n)
	}
	if err := count("dora_deployments", dWhere, &out.Deployments); err != nil {
		return Pruned{}, fmt.Errorf("dorametrics: prune: %w", err)
	}
	if err := count("dora_incidents", iWhere, &out.Incidents); err != nil {
		return Pruned{}, fmt.Errorf("dorametrics: prune: %w", err)
	}
	if q.DryRun {
		return out, nil
	}
	// Commits go explicitly: a PostgreSQL schema or SQLite connection
	// without foreign keys would otherwise keep them.
	if _, err := tx.ExecContext(ctx, s.sql(`DELETE FROM dora_commits WHERE deployment_id IN (SELECT deployment_id FROM dora_deployments WHERE `+dWhere+`)`), args...); err != nil {
		return Pruned{}, fmt.Errorf("dorametrics: prune commits: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.sql(`DELETE FROM dora_deployments WHERE `+dWhere), args...); err != nil {
		return Pruned{}, fmt.Errorf("dorametrics: prune deployments: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.sql(`DELETE FROM dora_incidents WHERE `+iWhere), args...); err != nil {
		return Pruned{}, fmt.Errorf("dorametrics: prune incidents: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Pruned{}, fmt.Errorf("dorametrics: prune: %w", err)
	}
	return out, nil
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}
