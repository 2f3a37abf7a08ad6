package ingress

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/workflows"
)

// SyntheticSource is the Source of events journaled through the admin
// API (POST /admin/v1/events): an operator's decision, such as
// changegate's break glass. No sender has this name, so a synthetic event
// never passes for a GitHub or ServiceNow delivery.
const SyntheticSource = "hookflow"

// SyntheticIntegration is the Integration of synthetic events.
const SyntheticIntegration = "admin"

// EventRequest is the body of POST /admin/v1/events.
type EventRequest struct {
	// Source must be SyntheticSource.
	Source string `json:"source"`
	// Type and Action are the event's, as a blueprint subscribes to them
	// ("changegate.break_glass", "approve").
	Type   string `json:"type"`
	Action string `json:"action,omitempty"`
	// Keys are the business keys routing reads (KeyEntity: the workflow).
	Keys map[string]string `json:"keys,omitempty"`
	// Payload is a JSON object, at most 64 KiB.
	Payload json.RawMessage `json:"payload"`
}

// EventAnswer is the answer to POST /admin/v1/events.
type EventAnswer struct {
	DeliveryID  string   `json:"delivery_id"`
	Status      string   `json:"status"`
	WorkflowIDs []string `json:"workflow_ids"`
}

// journalEvent journals a synthetic delivery: routed by the same router
// and forwarded in order with the senders' deliveries, so it is accepted
// while Temporal is down. An event no blueprint takes (an unknown
// workflow ID) is refused with 404 and not journaled.
func (s *Server) journalEvent(w http.ResponseWriter, r *http.Request) {
	var req EventRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	switch p := bytes.TrimSpace(req.Payload); {
	case req.Source != SyntheticSource:
		writeError(w, hook.BadRequest("invalid_event", `source must be "`+SyntheticSource+`"`, "synthetic events never pass for a sender's"))
		return
	case strings.TrimSpace(req.Type) == "":
		writeError(w, hook.BadRequest("invalid_event", "type is required", ""))
		return
	case len(p) == 0 || p[0] != '{' || len(p) > 64<<10:
		writeError(w, hook.BadRequest("invalid_event", "payload must be a JSON object of at most 64 KiB", ""))
		return
	}
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	ev := workflows.Event{
		DeliveryID: "admin-" + hex.EncodeToString(raw[:]), Source: SyntheticSource, Type: req.Type, Action: req.Action,
		Integration: SyntheticIntegration, Keys: req.Keys, Payload: req.Payload, PayloadSize: len(req.Payload),
		ReceivedAt: s.cfg.Now().UTC(),
	}
	routes := s.cfg.Router.Routes(ev)
	if len(routes) == 0 {
		writeError(w, &hook.Error{Status: http.StatusNotFound, Code: "no_route",
			Message: "no enabled blueprint takes this event", Hint: "check the workflow ID and that the blueprint is enabled"})
		return
	}
	entry := journal.Entry{Event: ev, Status: journal.Accepted, Routes: journal.RoutesOf(routes)}
	res, err := s.cfg.Journal.Append(context.WithoutCancel(r.Context()), entry)
	s.appends.record(s.cfg.Now(), err)
	if err != nil {
		s.log.ErrorContext(r.Context(), "journal append failed", "error", err, "delivery_id", ev.DeliveryID)
		writeError(w, &hook.Error{Status: http.StatusServiceUnavailable, Code: "journal_unavailable", Message: "the event could not be stored; retry later"})
		return
	}
	s.backlog.add(1)
	if s.cfg.Accepted != nil {
		s.cfg.Accepted()
	}
	ans := EventAnswer{DeliveryID: ev.DeliveryID, Status: string(journal.Accepted)}
	for _, rt := range routes {
		ans.WorkflowIDs = append(ans.WorkflowIDs, rt.WorkflowID)
	}
	s.log.InfoContext(r.Context(), "synthetic event journaled", "delivery_id", ev.DeliveryID, "type", ev.Type,
		"action", ev.Action, "seq", res.Seq, "workflow_ids", ans.WorkflowIDs)
	s.audit(r, "event.journal", ev.DeliveryID, strings.TrimSuffix(ev.Type+"."+ev.Action, ".")+" to "+strings.Join(ans.WorkflowIDs, ", "))
	writeJSON(w, http.StatusAccepted, ans)
}
