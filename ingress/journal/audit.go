package journal

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// AuditRecord is one state-changing action of an operator, recorded in
// the admin audit log: who did what to what, when, and through which
// door. It never holds a secret: Detail names what changed (an overlap,
// a count), not the values.
type AuditRecord struct {
	// Seq is the record's number, assigned by RecordAudit.
	Seq int64 `json:"seq"`
	// At is when the action was taken; zero means now.
	At time.Time `json:"at"`
	// Actor is who acted: "admin-token" for the admin token (API, CLI or
	// a console session it opened), or an OIDC user's subject or email.
	Actor string `json:"actor"`
	// Role is the actor's console role (viewer, operator, admin).
	Role string `json:"role,omitempty"`
	// Via is the door: "console", "api" or "cli".
	Via string `json:"via"`
	// Action names what was done ("integration.create", "delivery.replay").
	Action string `json:"action"`
	// Target is what it was done to (an integration, key, delivery or
	// workflow ID); empty when the action has none.
	Target string `json:"target,omitempty"`
	// Detail says more, without secrets ("overlap 24h", "held 3").
	Detail string `json:"detail,omitempty"`
}

// AuditFilter selects audit records. Zero fields select everything.
type AuditFilter struct {
	Since time.Time
	// Limit caps the result; zero means 200.
	Limit int
}

// Audit is implemented by journals that keep the admin audit log.
type Audit interface {
	// RecordAudit appends r to the log.
	RecordAudit(ctx context.Context, r AuditRecord) error
	// AuditLog lists records matching f, newest first.
	AuditLog(ctx context.Context, f AuditFilter) ([]AuditRecord, error)
}

var (
	_ Audit = (*SQLite)(nil)
	_ Audit = (*Postgres)(nil)
)

// maxAuditField bounds each text field of a record: an audit log must not
// be a way to store megabytes.
const maxAuditField = 1000

// auditMigration is the step both journals append: the admin audit log.
// id is the dialect's auto-increment primary key; ts its time type.
func auditMigration(id, ts string) string {
	return `CREATE TABLE admin_audit (
		seq    ` + id + `,
		at     ` + ts + ` NOT NULL,
		actor  TEXT NOT NULL,
		role   TEXT NOT NULL DEFAULT '',
		via    TEXT NOT NULL,
		action TEXT NOT NULL,
		target TEXT NOT NULL DEFAULT '',
		detail TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX admin_audit_at ON admin_audit (at);`
}

func clip(s string) string {
	if len(s) <= maxAuditField {
		return s
	}
	return strings.ToValidUTF8(s[:maxAuditField], "")
}

// RecordAudit implements Audit.
func (s *routeStore) RecordAudit(ctx context.Context, r AuditRecord) error {
	if r.Actor == "" || r.Action == "" || r.Via == "" {
		return fmt.Errorf("journal: audit record needs actor, via and action")
	}
	if r.At.IsZero() {
		r.At = s.now()
	}
	_, err := s.db.ExecContext(ctx, s.d.q(`INSERT INTO admin_audit (at, actor, role, via, action, target, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		s.d.ts(r.At.UTC()), clip(r.Actor), clip(r.Role), clip(r.Via), clip(r.Action), clip(r.Target), clip(r.Detail))
	if err != nil {
		return fmt.Errorf("journal: record audit: %w", err)
	}
	return nil
}

// AuditLog implements Audit.
func (s *routeStore) AuditLog(ctx context.Context, f AuditFilter) ([]AuditRecord, error) {
	q := `SELECT seq, at, actor, role, via, action, target, detail FROM admin_audit`
	var args []any
	if !f.Since.IsZero() {
		q += ` WHERE at >= ?`
		args = append(args, s.d.ts(f.Since.UTC()))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 200
	}
	rows, err := s.db.QueryContext(ctx, s.d.q(q+` ORDER BY seq DESC LIMIT ?`), append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("journal: audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditRecord
	for rows.Next() {
		var r AuditRecord
		var at dbTime
		if err := rows.Scan(&r.Seq, &at, &r.Actor, &r.Role, &r.Via, &r.Action, &r.Target, &r.Detail); err != nil {
			return nil, fmt.Errorf("journal: audit log: %w", err)
		}
		r.At = at.t
		out = append(out, r)
	}
	return out, rows.Err()
}
