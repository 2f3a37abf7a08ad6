package ingress

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hookflow/hookflow/ingress/dorametrics"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/workflows/dorabatch"
)

// ApplyDORARequest is the body of POST /admin/v1/dora/apply: the dora
// blueprint's activity asks the ingress, which owns the database, to write
// a batch's valid records. Payload is the batch's body when it travelled
// inline; otherwise PayloadRef names it in the journal.
type ApplyDORARequest struct {
	BatchID    string          `json:"batch_id"`
	Source     string          `json:"source,omitempty"`
	Payload    json.RawMessage `json:"payload,omitempty"`
	PayloadRef string          `json:"payload_ref,omitempty"`
	// DeploymentWorkflows are the workflow names whose runs count as
	// production deployments; empty means every run.
	DeploymentWorkflows []string `json:"deployment_workflows,omitempty"`
}

// ApplyDORAResult counts what an apply wrote (upserts: a batch applied
// twice writes the same rows).
type ApplyDORAResult struct {
	Deployments int `json:"deployments"`
	Incidents   int `json:"incidents"`
	Rejected    int `json:"rejected"`
}

func (s *Server) applyDORA(w http.ResponseWriter, r *http.Request) {
	var req ApplyDORARequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	body := []byte(req.Payload)
	if req.PayloadRef != "" {
		seq, err := journal.ParsePayloadRef(req.PayloadRef)
		if err != nil {
			writeError(w, hook.BadRequest("invalid_payload_ref", err.Error(), ""))
			return
		}
		if body, err = s.cfg.Journal.Payload(r.Context(), seq); err != nil {
			if errors.Is(err, journal.ErrNotFound) || errors.Is(err, journal.ErrNotReplayable) {
				writeError(w, &hook.Error{Status: http.StatusNotFound, Code: "not_found", Message: "no payload for " + req.PayloadRef})
				return
			}
			s.internal(w, r, err)
			return
		}
	}
	if req.BatchID == "" || len(body) == 0 {
		writeError(w, hook.BadRequest("invalid_batch", "batch_id and a payload or payload_ref are required", ""))
		return
	}
	source := req.Source
	if source == "" {
		source = "dora"
	}
	b := dorabatch.Parse(body)
	ds, is := dorametrics.FromBatch(b, req.BatchID, source, req.DeploymentWorkflows)
	if err := s.cfg.DORA.UpsertDeployments(r.Context(), ds); err != nil {
		s.internal(w, r, err)
		return
	}
	if err := s.cfg.DORA.UpsertIncidents(r.Context(), is); err != nil {
		s.internal(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "dora batch applied", "batch_id", req.BatchID, "deployments", len(ds), "incidents", len(is), "rejected", len(b.Rejected))
	writeJSON(w, http.StatusOK, ApplyDORAResult{Deployments: len(ds), Incidents: len(is), Rejected: len(b.Rejected)})
}

// doraReport serves GET /admin/v1/dora/report?repo=&env=&since=&until=
// (RFC 3339 times; until defaults to now, since to 30 days before until).
func (s *Server) doraReport(w http.ResponseWriter, r *http.Request) {
	q := dorametrics.Query{Repo: r.URL.Query().Get("repo"), Environment: r.URL.Query().Get("env")}
	var err error
	if q.Until, err = optionalTime(r.URL.Query().Get("until")); err != nil {
		writeError(w, hook.BadRequest("invalid_until", "until must be an RFC 3339 time", ""))
		return
	}
	if q.Until.IsZero() {
		q.Until = s.cfg.Now()
	}
	if q.Since, err = optionalTime(r.URL.Query().Get("since")); err != nil {
		writeError(w, hook.BadRequest("invalid_since", "since must be an RFC 3339 time", ""))
		return
	}
	if q.Since.IsZero() {
		q.Since = q.Until.AddDate(0, 0, -30)
	}
	if !q.Since.Before(q.Until) {
		writeError(w, hook.BadRequest("invalid_window", "since must be before until", ""))
		return
	}
	rep, err := s.cfg.DORA.Report(r.Context(), q)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// PruneDORARequest is the body of POST /admin/v1/dora/prune: exactly one
// of Batch and Repo.
type PruneDORARequest struct {
	Batch  string    `json:"batch,omitempty"`
	Repo   string    `json:"repo,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	DryRun bool      `json:"dry_run,omitempty"`
}

func (s *Server) pruneDORA(w http.ResponseWriter, r *http.Request) {
	var req PruneDORARequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if (req.Batch == "") == (req.Repo == "") {
		writeError(w, hook.BadRequest("invalid_prune", "give exactly one of batch and repo", "hookflow dora prune --batch ID | --repo R [--since T]"))
		return
	}
	p, err := s.cfg.DORA.Prune(r.Context(), dorametrics.PruneQuery{Batch: req.Batch, Repo: req.Repo, Since: req.Since, DryRun: req.DryRun})
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "dora records pruned", "batch_id", req.Batch, "repo", req.Repo, "deployments", p.Deployments, "incidents", p.Incidents, "dry_run", req.DryRun)
	if !req.DryRun {
		s.audit(r, "dora.prune", req.Repo, fmt.Sprintf("batch %q, deployments %d, incidents %d", req.Batch, p.Deployments, p.Incidents))
	}
	writeJSON(w, http.StatusOK, p)
}

func optionalTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, v)
}

// UnresolvedDORAResult is the answer of GET
// /admin/v1/dora/unresolved?batch=ID: the batch's successful deployments
// whose commits are not known, each with the SHA of the previous
// successful deployment of its repository and environment.
type UnresolvedDORAResult struct {
	Deployments []dorametrics.Unresolved `json:"deployments"`
}

func (s *Server) unresolvedDORA(w http.ResponseWriter, r *http.Request) {
	batch := r.URL.Query().Get("batch")
	if batch == "" {
		writeError(w, hook.BadRequest("invalid_batch", "batch is required", ""))
		return
	}
	list, err := s.cfg.DORA.Unresolved(r.Context(), batch)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, UnresolvedDORAResult{Deployments: list})
}

// RecordDORACommitsRequest is the body of POST /admin/v1/dora/commits: the
// outcomes of resolving deployments' commits through the git provider's
// compare API, written idempotently.
type RecordDORACommitsRequest struct {
	Resolutions []dorametrics.Resolution `json:"resolutions"`
}

func (s *Server) recordDORACommits(w http.ResponseWriter, r *http.Request) {
	var req RecordDORACommitsRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	out, err := s.cfg.DORA.RecordCommits(r.Context(), req.Resolutions)
	if errors.Is(err, dorametrics.ErrInvalid) {
		writeError(w, hook.BadRequest("invalid_resolution", err.Error(), ""))
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "dora commits recorded", "deployments", out.Deployments, "commits", out.Commits, "skipped", out.Skipped)
	writeJSON(w, http.StatusOK, out)
}
