package dorametrics

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Where a deployment's commits came from (dora_deployments.commits_from).
// A deployment whose record lists no commits has none of these until the
// dora blueprint resolves its range through the git provider's compare API
// and records the outcome with RecordCommits.
const (
	// CommitsListed: the record listed them (commits: [...], even empty).
	CommitsListed = "record"
	// CommitsCompared: the range from the previous successful deployment
	// of the repository and environment, through the compare API.
	CommitsCompared = "compare"
	// CommitsFirst: there was no previous successful deployment, so no
	// range: the deployment counts for frequency and change failure rate,
	// not lead time.
	CommitsFirst = "first"
	// CommitsUnresolvable: the provider refused the comparison (a SHA it
	// does not know, no common history): recorded so that it is not asked
	// again.
	CommitsUnresolvable = "unresolvable"
)

// Unresolved is a successful deployment whose commits are not known, and
// the range that would resolve them.
type Unresolved struct {
	DeploymentID string `json:"deployment_id"`
	Repo         string `json:"repo"`
	Environment  string `json:"environment"`
	// SHA is the deployed commit, the head of the range.
	SHA string `json:"sha"`
	// Source is the sender of the record ("dora", "github", "gitlab").
	Source string `json:"source,omitempty"`
	// BaseSHA is the SHA of the previous successful deployment of the
	// same repository and environment (by finished_at); empty when there
	// is none, the first deployment. BaseDeploymentID is that deployment.
	BaseSHA          string `json:"base_sha,omitempty"`
	BaseDeploymentID string `json:"base_deployment_id,omitempty"`
}

// Unresolved lists the deployments batch last wrote that finished
// successfully, name a SHA, and have no commits from any origin yet, each
// with its base: what the blueprint resolves after applying a batch.
func (s *Store) Unresolved(ctx context.Context, batch string) ([]Unresolved, error) {
	rows, err := s.db.QueryContext(ctx, s.sql(`SELECT deployment_id, repo, environment, sha, source, finished_at FROM dora_deployments
		WHERE batch_id = ? AND commits_from = '' AND status = 'success' AND sha <> '' AND finished_at <> 0
		ORDER BY finished_at, deployment_id`), batch)
	if err != nil {
		return nil, fmt.Errorf("dorametrics: unresolved: %w", err)
	}
	type row struct {
		u        Unresolved
		finished int64
	}
	var list []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.u.DeploymentID, &r.u.Repo, &r.u.Environment, &r.u.SHA, &r.u.Source, &r.finished); err != nil {
			rows.Close()
			return nil, fmt.Errorf("dorametrics: unresolved: %w", err)
		}
		list = append(list, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dorametrics: unresolved: %w", err)
	}
	// The previous successful deployment: finished earlier, or at the same
	// time with a smaller ID, so that two deployments finished in the same
	// nanosecond still form a line.
	prev := s.sql(`SELECT deployment_id, sha FROM dora_deployments
		WHERE repo = ? AND environment = ? AND status = 'success' AND sha <> '' AND finished_at <> 0
			AND (finished_at < ? OR (finished_at = ? AND deployment_id < ?))
		ORDER BY finished_at DESC, deployment_id DESC LIMIT 1`)
	out := make([]Unresolved, 0, len(list))
	for _, r := range list {
		err := s.db.QueryRowContext(ctx, prev, r.u.Repo, r.u.Environment, r.finished, r.finished, r.u.DeploymentID).
			Scan(&r.u.BaseDeploymentID, &r.u.BaseSHA)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("dorametrics: base of %s: %w", r.u.DeploymentID, err)
		}
		out = append(out, r.u)
	}
	return out, nil
}

// Resolution is the outcome of resolving one deployment's commits.
type Resolution struct {
	DeploymentID string `json:"deployment_id"`
	// SHA is the head the range was resolved for: a deployment whose SHA
	// changed since is left alone.
	SHA string `json:"sha"`
	// From is CommitsCompared, CommitsFirst or CommitsUnresolvable.
	From string `json:"from"`
	// Commits are the range's commits (CommitsCompared only).
	Commits []Commit `json:"commits,omitempty"`
}

// Recorded counts what RecordCommits wrote and left alone.
type Recorded struct {
	// Deployments whose commits (or outcome) were written.
	Deployments int `json:"deployments"`
	// Commits written, over those deployments.
	Commits int `json:"commits"`
	// Skipped are resolutions for a deployment that is gone, has another
	// SHA now, or lists its commits in its record (which wins).
	Skipped int `json:"skipped"`
}

// RecordCommits stores resolutions in one transaction. It is idempotent:
// recording the same resolution again writes the same rows.
func (s *Store) RecordCommits(ctx context.Context, rs []Resolution) (Recorded, error) {
	for _, r := range rs {
		switch {
		case strings.TrimSpace(r.DeploymentID) == "" || r.SHA == "":
			return Recorded{}, fmt.Errorf("%w: a resolution without deployment_id or sha", ErrInvalid)
		case r.From != CommitsCompared && r.From != CommitsFirst && r.From != CommitsUnresolvable:
			return Recorded{}, fmt.Errorf("%w: resolution of %s has from %q", ErrInvalid, r.DeploymentID, r.From)
		case r.From != CommitsCompared && len(r.Commits) > 0:
			return Recorded{}, fmt.Errorf("%w: resolution of %s is %s and lists commits", ErrInvalid, r.DeploymentID, r.From)
		}
		for _, c := range r.Commits {
			if c.SHA == "" || c.CommittedAt.IsZero() {
				return Recorded{}, fmt.Errorf("%w: resolution of %s has a commit without sha or committed_at", ErrInvalid, r.DeploymentID)
			}
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Recorded{}, fmt.Errorf("dorametrics: record commits: %w", err)
	}
	defer tx.Rollback()
	now := s.now().UnixNano()
	var out Recorded
	for _, r := range rs {
		res, err := tx.ExecContext(ctx, s.sql(`UPDATE dora_deployments SET commits_from = ?, updated_at = ?
			WHERE deployment_id = ? AND sha = ? AND commits_from <> 'record'`), r.From, now, r.DeploymentID, r.SHA)
		if err != nil {
			return Recorded{}, fmt.Errorf("dorametrics: record commits of %s: %w", r.DeploymentID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			out.Skipped++
			continue
		}
		if _, err := tx.ExecContext(ctx, s.sql(`DELETE FROM dora_commits WHERE deployment_id = ?`), r.DeploymentID); err != nil {
			return Recorded{}, fmt.Errorf("dorametrics: commits of %s: %w", r.DeploymentID, err)
		}
		for _, c := range r.Commits {
			if _, err := tx.ExecContext(ctx, s.sql(`INSERT INTO dora_commits (deployment_id, sha, committed_at) VALUES (?, ?, ?)
				ON CONFLICT (deployment_id, sha) DO UPDATE SET committed_at = excluded.committed_at`),
				r.DeploymentID, c.SHA, nanos(c.CommittedAt)); err != nil {
				return Recorded{}, fmt.Errorf("dorametrics: commit %s of %s: %w", c.SHA, r.DeploymentID, err)
			}
		}
		out.Deployments++
		out.Commits += len(r.Commits)
	}
	if err := tx.Commit(); err != nil {
		return Recorded{}, fmt.Errorf("dorametrics: record commits: %w", err)
	}
	return out, nil
}
