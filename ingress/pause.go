package ingress

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/hookflow/hookflow/ingress/hook"
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

// pauseTarget reads a PauseRequest.
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
	return req, kind, id, true
}

func (s *Server) pause(w http.ResponseWriter, r *http.Request) {
	req, kind, id, ok := s.pauseTarget(w, r)
	if !ok {
		return
	}
	held, err := s.Pause(r.Context(), kind, id, req.Reason)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, "pause."+string(kind), id, fmt.Sprintf("held %d", held))
	writeJSON(w, http.StatusOK, PauseResult{Kind: kind, ID: id, Held: held})
}

func (s *Server) resume(w http.ResponseWriter, r *http.Request) {
	_, kind, id, ok := s.pauseTarget(w, r)
	if !ok {
		return
	}
	released, err := s.Resume(r.Context(), kind, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, "resume."+string(kind), id, fmt.Sprintf("released %d", released))
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
	list, err := s.Paused(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if list == nil {
		list = []journal.Pause{}
	}
	writeJSON(w, http.StatusOK, list)
}
