package ingress

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/journal"
)

// WorkflowStatus returns the status of a workflow's latest run, in
// Temporal's words, lower case: running, completed, failed, canceled,
// terminated, continued_as_new, timed_out; or not_found.
type WorkflowStatus func(ctx context.Context, workflowID string) (string, error)

// endedAbnormally are the statuses of a workflow that ended without
// completing: deliveries that still route to it are not applied by the
// run they were meant for.
var endedAbnormally = []string{"failed", "terminated", "timed_out", "canceled"}

// EndedWorkflow is a workflow deliveries route to whose latest run ended
// without completing.
type EndedWorkflow struct {
	WorkflowID string `json:"workflow_id"`
	Status     string `json:"status"`
}

// StuckView answers GET /admin/v1/stuck.
type StuckView struct {
	journal.StuckReport
	// OldestPendingSeconds is the age of the oldest pending route (0
	// when none is).
	OldestPendingSeconds float64 `json:"oldest_pending_seconds"`
	// Ended are the backlogged, failing and recently routed workflows
	// whose latest run failed, was terminated, timed out or was
	// canceled; nil when the server cannot ask Temporal.
	Ended []EndedWorkflow `json:"ended"`
	// EndedChecked says whether Ended was checked with Temporal.
	EndedChecked bool `json:"ended_checked"`
}

// maxStatusChecks bounds the workflows one stuck report asks Temporal
// about.
const maxStatusChecks = 100

// endedWorkflows asks status about ids (at most maxStatusChecks, 8 at
// a time) and returns those that ended abnormally, in ids' order. A
// workflow whose status cannot be read is left out.
func endedWorkflows(ctx context.Context, status WorkflowStatus, ids []string) []EndedWorkflow {
	ids = ids[:min(len(ids), maxStatusChecks)]
	got := make([]string, len(ids))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if st, err := status(ctx, id); err == nil {
				got[i] = st
			}
		})
	}
	wg.Wait()
	out := []EndedWorkflow{}
	for i, id := range ids {
		if slices.Contains(endedAbnormally, got[i]) {
			out = append(out, EndedWorkflow{WorkflowID: id, Status: got[i]})
		}
	}
	return out
}

// stuckWorkflows are the workflows of a report worth asking Temporal
// about: backlogged, failing, then recently routed, each once.
func stuckWorkflows(rep journal.StuckReport) []string {
	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, b := range rep.Backlogged {
		add(b.WorkflowID)
	}
	for _, f := range rep.Failing {
		add(f.WorkflowID)
	}
	if rep.OldestPending != nil {
		add(rep.OldestPending.WorkflowID)
	}
	for _, id := range rep.RecentWorkflows {
		add(id)
	}
	return ids
}

func (s *Server) stuck(w http.ResponseWriter, r *http.Request) {
	st, ok := s.cfg.Journal.(journal.Stuckness)
	if !ok {
		writeError(w, &hook.Error{Status: http.StatusNotImplemented, Code: "not_supported", Message: "this journal cannot report what is stuck"})
		return
	}
	q := r.URL.Query()
	var sq journal.StuckQuery
	var err error
	for name, dst := range map[string]*int{"backlog_above": &sq.BacklogAbove, "min_attempts": &sq.MinAttempts, "limit": &sq.Limit} {
		if *dst, err = intParam(q.Get(name)); err != nil {
			writeError(w, hook.BadRequest("invalid_"+name, name+" must be a positive integer", ""))
			return
		}
	}
	sq.Since = s.cfg.Now().Add(-time.Hour)
	if v := q.Get("since"); v != "" {
		if sq.Since, err = time.Parse(time.RFC3339, v); err != nil {
			writeError(w, hook.BadRequest("invalid_since", "since must be an RFC 3339 time", ""))
			return
		}
	}
	rep, err := st.Stuck(r.Context(), sq)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	v := StuckView{StuckReport: rep}
	if rep.OldestPending != nil {
		v.OldestPendingSeconds = max(0, s.cfg.Now().Sub(rep.OldestPending.ReceivedAt).Seconds())
	}
	if s.cfg.WorkflowStatus != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		v.Ended, v.EndedChecked = endedWorkflows(ctx, s.cfg.WorkflowStatus, stuckWorkflows(rep)), true
		cancel()
	}
	writeJSON(w, http.StatusOK, v)
}
