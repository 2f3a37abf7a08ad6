package ingress

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow/ingress/apikeys"
	"github.com/hookflow/hookflow/ingress/dorametrics"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/journal"
)

// The operations below are what an operator can do to a running ingress.
// The admin API's handlers (admin.go, pause.go) and the delivery console
// (ingress/console, through its Backend interface) both call them, so a
// rule (a secret's length, a pause needing a known integration) is
// written once. A refusal the caller can fix is a *hook.Error with its
// HTTP status; any other error is internal.

var errNotFound = func(what string) *hook.Error {
	return &hook.Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such " + what}
}

// CheckAdminToken reports whether token is the admin token, comparing in
// constant time. A wrong one waits as a refused admin API request does
// (badTokens, shared with the API: guesses through either door slow both)
// and is logged without what was sent.
func (s *Server) CheckAdminToken(ctx context.Context, token string) bool {
	if s.cfg.AdminToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.AdminToken)) == 1 {
		return true
	}
	s.refuseToken(ctx, "console login", token != "")
	return false
}

// refuseToken records a refused admin token, logs it (at most once a
// second) and waits the refusal's delay.
func (s *Server) refuseToken(ctx context.Context, where string, sent bool) {
	delay, refusals := s.bad.refuse(s.cfg.Now())
	if refusals > 0 {
		s.log.WarnContext(ctx, "admin token refused", "path", where, "token_sent", sent, "refusals", refusals, "delay", delay.String())
	}
	wait(ctx, delay)
}

// Deliveries lists journal entries matching f, newest first, without
// payloads.
func (s *Server) Deliveries(ctx context.Context, f journal.Filter) ([]journal.Entry, error) {
	if f.Status != "" && !f.Status.Valid() {
		return nil, hook.BadRequest("invalid_status", "unknown status "+strconv.Quote(string(f.Status)), "one of accepted, held, forwarded, ignored, duplicate, rejected, failed")
	}
	return s.cfg.Journal.List(ctx, f)
}

// Delivery returns one journal entry with its whole payload.
func (s *Server) Delivery(ctx context.Context, seq int64) (journal.Entry, error) {
	e, err := s.cfg.Journal.Get(ctx, seq)
	if errors.Is(err, journal.ErrNotFound) {
		return e, errNotFound("delivery")
	}
	return e, err
}

// Replay journals entry seq again as a new accepted entry (with a new
// delivery ID when asNew, so workflows apply it again) and wakes the
// forwarder.
func (s *Server) Replay(ctx context.Context, seq int64, asNew bool) (journal.Entry, error) {
	m, ok := s.cfg.Journal.(journal.Maintenance)
	if !ok {
		return journal.Entry{}, &hook.Error{Status: http.StatusNotImplemented, Code: "not_supported", Message: "this journal cannot replay or prune"}
	}
	e, err := m.Replay(ctx, seq, asNew)
	switch {
	case errors.Is(err, journal.ErrNotFound):
		return e, &hook.Error{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf("no delivery %d", seq)}
	case errors.Is(err, journal.ErrNotReplayable):
		return e, hook.BadRequest("not_replayable", fmt.Sprintf("delivery %d has no payload (rejected deliveries and duplicate records keep none)", seq), "replay the original entry")
	case err != nil:
		return e, err
	}
	if s.cfg.Accepted != nil {
		s.cfg.Accepted()
	}
	return e, nil
}

// Integrations lists every integration, oldest first, with their secrets
// (for the caller to leave out).
func (s *Server) Integrations(ctx context.Context) ([]integrations.Integration, error) {
	return s.cfg.Integrations.List(ctx)
}

// IntegrationURL is where in's sender delivers.
func (s *Server) IntegrationURL(in integrations.Integration) string {
	return s.cfg.PublicURL + "/hooks/" + in.Path
}

// SourceNames lists the senders integrations may be created for.
func (s *Server) SourceNames() []string { return s.sourceNames() }

// CreateIntegration creates an integration for source; an empty secret
// asks for a generated one. The answer carries the secret, to be shown
// once.
func (s *Server) CreateIntegration(ctx context.Context, name, source, secret string, options map[string]string) (integrations.Integration, error) {
	if _, ok := s.cfg.Sources[source]; !ok {
		return integrations.Integration{}, hook.BadRequest("unknown_source", "unknown source "+strconv.Quote(source), "one of: "+strings.Join(s.sourceNames(), ", "))
	}
	if err := checkSecret(secret); err != nil {
		return integrations.Integration{}, err
	}
	in := integrations.Integration{Name: name, Source: source, Options: options}
	if secret != "" {
		in.Secrets = []integrations.Secret{{Value: []byte(secret)}}
	}
	created, err := s.cfg.Integrations.Create(ctx, in)
	if err != nil {
		return created, hook.BadRequest("invalid_integration", err.Error(), "")
	}
	s.cache.invalidate()
	s.log.InfoContext(ctx, "integration created", "integration", created.ID, "source", created.Source, "name", created.Name)
	return created, nil
}

// RotateIntegration makes secret (generated when empty) integration id's
// newest secret; the older ones keep verifying for overlap.
func (s *Server) RotateIntegration(ctx context.Context, id, secret string, overlap time.Duration) (integrations.Integration, error) {
	if err := checkSecret(secret); err != nil {
		return integrations.Integration{}, err
	}
	if overlap < 0 {
		return integrations.Integration{}, hook.BadRequest("invalid_overlap", "overlap must be a duration such as 24h", "")
	}
	in, err := s.cfg.Integrations.Rotate(ctx, id, []byte(secret), overlap)
	if errors.Is(err, integrations.ErrNotFound) {
		return in, errNotFound("integration")
	}
	if err != nil {
		return in, err
	}
	s.cache.invalidate()
	s.log.InfoContext(ctx, "integration secret rotated", "integration", in.ID, "overlap", overlap.String())
	return in, nil
}

// DeleteIntegration deletes integration id: its URL stops resolving; its
// journal entries stay.
func (s *Server) DeleteIntegration(ctx context.Context, id string) error {
	err := s.cfg.Integrations.Delete(ctx, id)
	if errors.Is(err, integrations.ErrNotFound) {
		return errNotFound("integration")
	}
	if err != nil {
		return err
	}
	s.cache.invalidate()
	s.log.InfoContext(ctx, "integration deleted", "integration", id)
	return nil
}

func (s *Server) keys() (*apikeys.Store, error) {
	if s.cfg.APIKeys == nil {
		return nil, &hook.Error{Status: http.StatusNotImplemented, Code: "not_supported", Message: "this server issues no API keys"}
	}
	return s.cfg.APIKeys, nil
}

// Keys lists the API keys of integration ("" for every one).
func (s *Server) Keys(ctx context.Context, integration string) ([]apikeys.Key, error) {
	ks, err := s.keys()
	if err != nil {
		return nil, err
	}
	return ks.List(ctx, integration)
}

// CreateKey issues an API key for integration; the answer's string is the
// key, to be shown once. A zero ttl never expires; no scopes is every
// scope.
func (s *Server) CreateKey(ctx context.Context, integration, name string, ttl time.Duration, scopes []string) (apikeys.Key, string, error) {
	ks, err := s.keys()
	if err != nil {
		return apikeys.Key{}, "", err
	}
	if _, err := s.cfg.Integrations.Get(ctx, integration); err != nil {
		return apikeys.Key{}, "", errNotFound("integration")
	}
	k, secret, err := ks.CreateScoped(ctx, integration, name, ttl, scopes)
	if err != nil {
		return k, "", hook.BadRequest("invalid_key", err.Error(), "")
	}
	s.log.InfoContext(ctx, "api key created", "key_id", k.ID, "integration", k.Integration, "prefix", k.Prefix, "scopes", strings.Join(k.Scopes, ","))
	return k, secret, nil
}

// RevokeKey revokes API key id.
func (s *Server) RevokeKey(ctx context.Context, id string) error {
	ks, err := s.keys()
	if err != nil {
		return err
	}
	err = ks.Revoke(ctx, id)
	if errors.Is(err, apikeys.ErrNotFound) {
		return errNotFound("key")
	}
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "api key revoked", "key_id", id)
	return nil
}

func (s *Server) pauser() (journal.Pauses, error) {
	p, ok := s.cfg.Journal.(journal.Pauses)
	if !ok {
		return nil, &hook.Error{Status: http.StatusNotImplemented, Code: "not_supported", Message: "this journal cannot pause"}
	}
	return p, nil
}

// Pause holds forwarding to a workflow or from an integration; it returns
// how many pending routes it held.
func (s *Server) Pause(ctx context.Context, kind journal.PauseKind, id, reason string) (int, error) {
	if err := checkPause(kind, id, reason); err != nil {
		return 0, err
	}
	p, err := s.pauser()
	if err != nil {
		return 0, err
	}
	if kind == journal.PauseIntegration {
		// A mistyped integration would pause nothing, silently.
		if _, err := s.cfg.Integrations.Get(ctx, id); errors.Is(err, integrations.ErrNotFound) {
			return 0, &hook.Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such integration", Hint: "see `hookflow integrations list`"}
		} else if err != nil {
			return 0, err
		}
	}
	held, err := p.Pause(ctx, journal.Pause{Kind: kind, ID: id, Reason: reason})
	if err != nil {
		return 0, err
	}
	s.log.InfoContext(ctx, "deliveries paused", pauseLogKey(kind), id, "held", held)
	return held, nil
}

// Resume ends a pause; it returns how many routes it released to be
// forwarded, in acceptance order.
func (s *Server) Resume(ctx context.Context, kind journal.PauseKind, id string) (int, error) {
	if err := checkPause(kind, id, ""); err != nil {
		return 0, err
	}
	p, err := s.pauser()
	if err != nil {
		return 0, err
	}
	released, err := p.Resume(ctx, kind, id)
	if errors.Is(err, journal.ErrNotPaused) {
		return 0, &hook.Error{Status: http.StatusNotFound, Code: "not_paused", Message: "this " + string(kind) + " is not paused", Hint: "see `hookflow deliveries paused`"}
	}
	if err != nil {
		return 0, err
	}
	if released > 0 && s.cfg.Accepted != nil {
		s.cfg.Accepted()
	}
	s.log.InfoContext(ctx, "deliveries resumed", pauseLogKey(kind), id, "released", released)
	return released, nil
}

func checkPause(kind journal.PauseKind, id, reason string) *hook.Error {
	switch {
	case !kind.Valid() || id == "":
		return hook.BadRequest("nothing_selected", "give exactly one of workflow and integration", "")
	case len(id) > maxPauseIDBytes || len(reason) > maxPauseIDBytes:
		return hook.BadRequest("too_long", "the ID and the reason have at most 1000 bytes each", "")
	}
	return nil
}

// Paused lists what is paused, oldest first, with the routes each pause
// holds.
func (s *Server) Paused(ctx context.Context) ([]journal.Pause, error) {
	p, err := s.pauser()
	if err != nil {
		return nil, err
	}
	return p.Paused(ctx)
}

// Stuck reports what is not moving (see GET /admin/v1/stuck).
func (s *Server) Stuck(ctx context.Context, q journal.StuckQuery) (journal.StuckReport, error) {
	st, ok := s.cfg.Journal.(journal.Stuckness)
	if !ok {
		return journal.StuckReport{}, &hook.Error{Status: http.StatusNotImplemented, Code: "not_supported", Message: "this journal cannot report what is stuck"}
	}
	if q.Since.IsZero() {
		q.Since = s.cfg.Now().Add(-time.Hour)
	}
	return st.Stuck(ctx, q)
}

// RecordAudit appends r to the admin audit log, when the journal keeps
// one. A failure is logged, not returned: the action it records is done.
func (s *Server) RecordAudit(ctx context.Context, r journal.AuditRecord) {
	a, ok := s.cfg.Journal.(journal.Audit)
	if !ok {
		return
	}
	if r.At.IsZero() {
		r.At = s.cfg.Now()
	}
	if err := a.RecordAudit(ctx, r); err != nil {
		s.log.ErrorContext(ctx, "admin audit record failed", "action", r.Action, "target", r.Target, "error", err)
	}
}

// AuditLog lists the admin audit log, newest first.
func (s *Server) AuditLog(ctx context.Context, f journal.AuditFilter) ([]journal.AuditRecord, error) {
	a, ok := s.cfg.Journal.(journal.Audit)
	if !ok {
		return nil, &hook.Error{Status: http.StatusNotImplemented, Code: "not_supported", Message: "this journal keeps no audit log"}
	}
	return a.AuditLog(ctx, f)
}

// DORAReport computes the DORA metrics of q's window (GET
// /admin/v1/dora/report and the console's trends page).
func (s *Server) DORAReport(ctx context.Context, q dorametrics.Query) (dorametrics.Report, error) {
	if s.cfg.DORA == nil {
		return dorametrics.Report{}, &hook.Error{Status: http.StatusNotImplemented, Code: "not_supported", Message: "this ingress keeps no DORA tables"}
	}
	return s.cfg.DORA.Report(ctx, q)
}

// CLIUserAgent starts the User-Agent of hookflow's own CLI: the audit log
// records its requests as via "cli" rather than "api".
const CLIUserAgent = "hookflow-cli"

// audit records an admin API action: the admin token acted, through the
// CLI or the API.
func (s *Server) audit(r *http.Request, action, target, detail string) {
	via := "api"
	if strings.HasPrefix(r.UserAgent(), CLIUserAgent) {
		via = "cli"
	}
	s.RecordAudit(r.Context(), journal.AuditRecord{Actor: "admin-token", Role: "admin", Via: via, Action: action, Target: target, Detail: detail})
}

// fail answers err: its own status for a *hook.Error, 500 otherwise.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *hook.Error
	if errors.As(err, &he) {
		writeError(w, he)
		return
	}
	s.internal(w, r, err)
}
