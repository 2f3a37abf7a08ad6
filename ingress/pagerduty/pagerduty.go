// Package pagerduty verifies and normalizes PagerDuty v3 webhooks
// (https://developer.pagerduty.com/docs/webhooks/v3-overview/).
//
// PagerDuty signs the raw body with HMAC-SHA256 under the subscription's
// secret and sends X-PagerDuty-Signature: v1=<hex>, with several
// comma-separated v1= signatures while a secret is being rotated (one per
// secret). A delivery verifies when any signature matches any of the
// integration's secrets (two during Hookflow's own rotation).
//
// The delivery ID is the body's event.id; the type is event.event_type
// ("incident.triggered", "incident.resolved", ...), with no action; the
// keys are the incident's ID ("incident") and its service's ID
// ("service"). pagey.ping is the sender's ping.
package pagerduty

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/workflows"
)

// Name is the source name of PagerDuty integrations.
const Name = "pagerduty"

// HeaderSignature carries the v1= signatures.
const HeaderSignature = "X-PagerDuty-Signature"

// PingType is the event type of PagerDuty's test delivery.
const PingType = "pagey.ping"

// Keys the source extracts.
const (
	KeyIncident = "incident"
	KeyService  = "service"
)

// maxSignatures bounds the signatures one header may carry: rotation
// needs two; a long list only costs HMACs.
const maxSignatures = 8

// Source is the PagerDuty hook.Source.
type Source struct{}

var _ hook.Source = Source{}

// Name implements hook.Source.
func (Source) Name() string { return Name }

const sigHint = HeaderSignature + " must hold v1=<hex HMAC-SHA256 of the raw body> under the webhook subscription's secret"

// Verify implements hook.Source.
func (Source) Verify(req *hook.Request) error {
	h := req.Header.Get(HeaderSignature)
	if h == "" {
		return hook.Unauthorized("missing signature", sigHint)
	}
	parts := strings.Split(h, ",")
	if len(parts) > maxSignatures {
		return hook.Unauthorized("too many signatures", sigHint)
	}
	ok := false
	for _, p := range parts {
		sig, found := strings.CutPrefix(strings.TrimSpace(p), "v1=")
		if found && hook.ValidHMACSHA256(req.Body, sig, req.Secrets) {
			ok = true
		}
	}
	if !ok {
		return hook.Unauthorized("signature does not match", sigHint)
	}
	return nil
}

// Label implements hook.Source: PagerDuty names its deliveries in the
// body only.
func (Source) Label(http.Header, map[string]string) hook.Label { return hook.Label{} }

// Ping implements hook.Source.
func (Source) Ping(ev workflows.Event) bool { return ev.Type == PingType }

// body is the part of a v3 webhook routing needs.
type body struct {
	Event *struct {
		ID        string `json:"id"`
		EventType string `json:"event_type"`
		Data      *struct {
			ID      string `json:"id"`
			Type    string `json:"type"`
			Service *struct {
				ID string `json:"id"`
			} `json:"service"`
		} `json:"data"`
	} `json:"event"`
}

// Parse implements hook.Source.
func (Source) Parse(req *hook.Request) (workflows.Event, error) {
	var b body
	if err := json.Unmarshal(req.Body, &b); err != nil {
		return workflows.Event{}, hook.BadRequest("malformed_json", "body is not a PagerDuty v3 webhook", "PagerDuty v3 sends {\"event\": {...}}")
	}
	if b.Event == nil || b.Event.ID == "" || b.Event.EventType == "" {
		return workflows.Event{}, hook.BadRequest("missing_event", "body has no event.id or event.event_type", "PagerDuty v3 webhooks carry both")
	}
	ev := workflows.Event{DeliveryID: b.Event.ID, Source: Name, Type: b.Event.EventType, Keys: map[string]string{}, Payload: json.RawMessage(req.Body)}
	if d := b.Event.Data; d != nil && d.Type == "incident" {
		if d.ID != "" {
			ev.Keys[KeyIncident] = d.ID
		}
		if d.Service != nil && d.Service.ID != "" {
			ev.Keys[KeyService] = d.Service.ID
		}
	}
	return ev, nil
}
