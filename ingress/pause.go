package ingress

import (
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/journal"
)

// PauseRequest is the body of POST /admin/v1/deliveries/pause and
// /admin/v1/deliveries/resume: exactly one of Workflow and Integration.
type PauseRequest struct {
	// Workflow is a workflow ID (one entity, such as
	// github/o/r/pr/7).
	Workflow string `json:"workflow,omitempty"`
	// Integration is an integration ID.
	Integration string `json:"integration,omitempty"`
	// Reason is kept with a pause, for whoever looks later; ignored by
	// resume.
	Reason string `json:"reason,omitempty"`
}

// PauseResult answers a pause (Held: routes it held) or a resume
// (Released: routes it released to be forwarded, in acceptance order).
type PauseResult struct {
	Kind     journal.PauseKind `json:"kind"`
	ID       string            `json:"id"`
	Held     int               `json:"held"`
	Released int               `json:"released"`
}

// maxPauseIDBytes bounds a workflow or integration ID in a pause (the
// journal keeps it).
const maxPauseIDBytes = 1000

// mountOperations mounts the admin endpoints of pause and resume, of
// stuck detection (stuck.go) and of payload digests (digests.go).
func (s *Server) mountOperations(r chi.Router) {
	r.Post("/deliveries/pause", s.pause)
	r.Post("/deliveries/resume", s.resume)
	r.Get("/pauses", s.listPauses)
	r.Get("/stuck", s.stuck)
	r.Post("/deliveries/digests", s.digests)
}

func (s *Server) pauses(w http.ResponseWriter) (journal.Pauses, bool) {
	p, ok := s.cfg.Journal.(journal.Pauses)
	if !ok {
		writeError(w, &hook.Error{Status: http.StatusNotImplemented, Code: "not_supported", Message: "this journal cannot pause"})
	}
	return p, ok
}

// pauseTarget reads and checks a PauseRequest.
func (s *Server) pauseTarget(w http.ResponseWriter, r *http.Request) (PauseRequest, journal.PauseKind, string, bool) {
	var req PauseRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, err)
		return req, "", "", false
	}
	if (req.Workflow == "") == (req.Integration == "") {
		writeError(w, hook.BadRequest("nothing_selected", "give exactly one of workflow and integration", ""))
		return req, "", "", false
	}
	kind, id := journal.PauseWorkflow, req.Workflow
	if req.Integration != "" {
		kind, id = journal.PauseIntegration, req.Integration
	}
	if len(id) > maxPauseIDBytes || len(req.Reason) > maxPauseIDBytes {
		writeError(w, hook.BadRequest("too_long", "the ID and the reason have at most 1000 bytes each", ""))
		return req, "", "", false
	}
	return req, kind, id, true
}

func (s *Server) pause(w http.ResponseWriter, r *http.Request) {
	req, kind, id, ok := s.pauseTarget(w, r)
	if !ok {
		return
	}
	p, ok := s.pauses(w)
	if !ok {
		return
	}
	if kind == journal.PauseIntegration {
		// A mistyped integration would pause nothing, silently.
		if _, err := s.cfg.Integrations.Get(r.Context(), id); errors.Is(err, integrations.ErrNotFound) {
			writeError(w, &hook.Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such integration", Hint: "see `hookflow integrations list`"})
			return
		} else if err != nil {
			s.internal(w, r, err)
			return
		}
	}
	held, err := p.Pause(r.Context(), journal.Pause{Kind: kind, ID: id, Reason: req.Reason})
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "deliveries paused", pauseLogKey(kind), id, "held", held)
	writeJSON(w, http.StatusOK, PauseResult{Kind: kind, ID: id, Held: held})
}

func (s *Server) resume(w http.ResponseWriter, r *http.Request) {
	_, kind, id, ok := s.pauseTarget(w, r)
	if !ok {
		return
	}
	p, ok := s.pauses(w)
	if !ok {
		return
	}
	released, err := p.Resume(r.Context(), kind, id)
	if errors.Is(err, journal.ErrNotPaused) {
		writeError(w, &hook.Error{Status: http.StatusNotFound, Code: "not_paused", Message: "this " + string(kind) + " is not paused", Hint: "see `hookflow deliveries paused`"})
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if released > 0 && s.cfg.Accepted != nil {
		s.cfg.Accepted()
	}
	s.log.InfoContext(r.Context(), "deliveries resumed", pauseLogKey(kind), id, "released", released)
	writeJSON(w, http.StatusOK, PauseResult{Kind: kind, ID: id, Released: released})
}

// pauseLogKey is the log field that names a pause's ID.
func pauseLogKey(kind journal.PauseKind) string {
	if kind == journal.PauseIntegration {
		return "integration"
	}
	return "workflow_id"
}

func (s *Server) listPauses(w http.ResponseWriter, r *http.Request) {
	p, ok := s.pauses(w)
	if !ok {
		return
	}
	list, err := p.Paused(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if list == nil {
		list = []journal.Pause{}
	}
	writeJSON(w, http.StatusOK, list)
}
