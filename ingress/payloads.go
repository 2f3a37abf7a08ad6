package ingress

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/journal"
)

// requireWorker admits the worker token or the admin token: workers that
// do not open the journal read payloads held by reference here.
func (s *Server) requireWorker(next http.Handler) http.Handler {
	var want [][]byte
	for _, t := range []string{s.cfg.WorkerToken, s.cfg.AdminToken} {
		if t != "" {
			want = append(want, []byte("Bearer "+t))
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		ok := 0
		for _, t := range want {
			ok |= subtle.ConstantTimeCompare(got, t)
		}
		if ok != 1 {
			writeError(w, hook.Unauthorized("worker or admin token required", "send Authorization: Bearer <HOOKFLOW_WORKER_TOKEN>"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// getPayload serves GET /admin/v1/payloads/{seq}: the whole payload of a
// journal entry, as the sender sent it.
func (s *Server) getPayload(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseInt(chi.URLParam(r, "seq"), 10, 64)
	if err != nil || seq <= 0 {
		writeError(w, hook.BadRequest("invalid_seq", "payload sequence number must be a positive integer", ""))
		return
	}
	p, err := s.cfg.Journal.Payload(r.Context(), seq)
	switch {
	case errors.Is(err, journal.ErrNotFound):
		writeError(w, &hook.Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such delivery"})
		return
	case errors.Is(err, journal.ErrNotReplayable):
		writeError(w, &hook.Error{Status: http.StatusNotFound, Code: "no_payload", Message: "this delivery keeps no payload"})
		return
	case err != nil:
		s.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(p)))
	_, _ = w.Write(p)
}
