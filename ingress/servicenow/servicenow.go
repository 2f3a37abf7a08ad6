// Package servicenow verifies and normalizes deliveries from ServiceNow
// outbound REST messages.
//
// ServiceNow has no built-in webhook format: an outbound REST message sends
// what its content template says, when a business rule or flow calls it.
// Hookflow expects this setup:
//
//  1. An outbound REST message (System Web Services > Outbound > REST
//     Message) with an HTTP POST method whose endpoint is the integration
//     URL and whose content is a flat JSON object:
//
//     {"table": "${table}", "sys_id": "${sys_id}", "number": "${number}",
//     "state": "${state}", "approval": "${approval}",
//     "sys_mod_count": "${sys_mod_count}", "sys_updated_on": "${sys_updated_on}",
//     "correlation_id": "${correlation_id}", "action": "${action}",
//     "instance_url": "${instance_url}"}
//
//     table (or sys_class_name) and sys_id are required; action is
//     optional and names what changed ("approved", "state", ...) when a
//     blueprint needs to tell an approval from a state change;
//     instance_url (gs.getProperty("glide.servlet.uri")) is optional and
//     names the instance's host in the events' keys.
//
//  2. An async business rule (or flow) on the table, after update, that
//     fills the parameters with current's values and sends the message.
//
//  3. Authentication, one of:
//     - a shared token header (the default): the rule sets
//     X-Hookflow-Token (or the header named by the integration option
//     "header") to the integration's secret, read from a system property
//     of type password2;
//     - an HMAC-SHA256 of the exact body, when the integration sets the
//     option "signature_header": the rule computes it over
//     RESTMessageV2.getRequestBody() with
//     GlideCertificateEncryption.generateMac(base64 key, "HmacSHA256", body)
//     and sets it in that header. Base64 (what generateMac returns) and hex
//     are both accepted, with or without a "sha256=" prefix.
//
//  4. Optionally a delivery header, X-ServiceNow-Delivery (or the header
//     named by the option "delivery_header"), for example
//     ${sys_id}-${sys_mod_count}. Without it the delivery ID is
//     <sys_id>:<sys_mod_count>, else <sys_id>:<sys_updated_on>: a record
//     version, which a resend of the same version repeats.
//
// The event type is the table (change_request, incident, ...), the action
// the body's action, else its state.
package servicenow

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/workflows"
)

// Name is the source name of ServiceNow integrations.
const Name = "servicenow"

// Integration options. Each is optional; the zero value is the default
// given.
const (
	// OptionHeader names the header that carries the shared token
	// (default DefaultTokenHeader). Ignored when OptionSignatureHeader is set.
	OptionHeader = "header"
	// OptionSignatureHeader names the header that carries an HMAC-SHA256 of
	// the body. When set, the token header is not accepted.
	OptionSignatureHeader = "signature_header"
	// OptionDeliveryHeader names the header that carries the delivery ID
	// (default DefaultDeliveryHeader).
	OptionDeliveryHeader = "delivery_header"
)

// Default header names.
const (
	DefaultTokenHeader    = "X-Hookflow-Token"
	DefaultDeliveryHeader = "X-ServiceNow-Delivery"
)

// Source is the ServiceNow hook.Source.
type Source struct{}

var _ hook.Source = Source{}

// Name implements hook.Source.
func (Source) Name() string { return Name }

// Verify implements hook.Source.
func (Source) Verify(req *hook.Request) error {
	if h := req.Options[OptionSignatureHeader]; h != "" {
		sig := strings.TrimPrefix(strings.TrimSpace(req.Header.Get(h)), "sha256=")
		if sig == "" {
			return hook.Unauthorized("missing signature", "the outbound REST message must send "+h+": the HMAC-SHA256 of the body, base64 or hex")
		}
		if !hook.ValidHMACSHA256(req.Body, hexSignature(sig), req.Secrets) {
			return hook.Unauthorized("signature does not match", h+" must be the HMAC-SHA256 of the exact body under the integration's secret, base64 or hex")
		}
		return nil
	}
	h := option(req, OptionHeader, DefaultTokenHeader)
	token := req.Header.Get(h)
	if token == "" {
		return hook.Unauthorized("missing token", "the outbound REST message must send the integration's secret in "+h)
	}
	if !hook.EqualSecret(token, req.Secrets) {
		return hook.Unauthorized("token does not match", h+" must equal the integration's secret")
	}
	return nil
}

// hexSignature returns sig as hex: as is when it is 64 hex digits, else
// decoded from base64 (standard or URL alphabet, padded or not).
func hexSignature(sig string) string {
	if _, err := hex.DecodeString(sig); err == nil && len(sig) == 2*32 {
		return sig
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(sig); err == nil {
			return hex.EncodeToString(b)
		}
	}
	return ""
}

func option(req *hook.Request, name, def string) string {
	if v := req.Options[name]; v != "" {
		return v
	}
	return def
}

// text is a field that ServiceNow templates usually send as a string but
// scripts may send as a number or boolean. Other JSON values leave it
// empty: an error from UnmarshalJSON would stop decoding the payload.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*t = text(s)
		return nil
	}
	var n json.Number
	if json.Unmarshal(b, &n) == nil {
		*t = text(n.String())
		return nil
	}
	if string(b) == "true" || string(b) == "false" {
		*t = text(b)
	}
	return nil
}

// payload is what routing reads from the outbound message.
type payload struct {
	Table        text `json:"table"`
	SysClassName text `json:"sys_class_name"`
	SysID        text `json:"sys_id"`
	Number       text `json:"number"`
	State        text `json:"state"`
	Action       text `json:"action"`
	SysModCount  text `json:"sys_mod_count"`
	SysUpdatedOn text `json:"sys_updated_on"`
	InstanceURL  text `json:"instance_url"`
}

// Label implements hook.Source: the delivery header the integration's
// delivery_header option names, X-ServiceNow-Delivery by default.
func (Source) Label(h http.Header, options map[string]string) hook.Label {
	name := options[OptionDeliveryHeader]
	if name == "" {
		name = DefaultDeliveryHeader
	}
	return hook.Label{DeliveryID: hook.HeaderValue(h, name)}
}

// Ping implements hook.Source: ServiceNow sends no pings.
func (Source) Ping(workflows.Event) bool { return false }

// Parse implements hook.Source.
func (Source) Parse(req *hook.Request) (workflows.Event, error) {
	var p payload
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(req.Body, &p); (err != nil && !errors.As(err, &typeErr)) || !isObject(req.Body) {
		return workflows.Event{}, hook.BadRequest("malformed_json", "body is not a JSON object", "the outbound REST message content must be a JSON object")
	}
	table := string(p.Table)
	if table == "" {
		table = string(p.SysClassName)
	}
	if table == "" {
		return workflows.Event{}, hook.BadRequest("missing_event_type", "body has no table", `add "table": "${table}" (or sys_class_name) to the outbound REST message content`)
	}
	id := Source{}.Label(req.Header, req.Options).DeliveryID
	if id == "" && p.SysID != "" {
		switch {
		case p.SysModCount != "":
			id = string(p.SysID) + ":" + string(p.SysModCount)
		case p.SysUpdatedOn != "":
			id = string(p.SysID) + ":" + string(p.SysUpdatedOn)
		}
	}
	if id == "" {
		id = hook.BodyDeliveryID(req.Body)
	}
	action := string(p.Action)
	if action == "" {
		action = string(p.State)
	}
	return workflows.Event{
		DeliveryID: id,
		Source:     Name,
		Type:       table,
		Action:     action,
		Keys:       keys(&p, table),
		Payload:    json.RawMessage(req.Body),
	}, nil
}

// keys are the business keys of workflows/keys.go that routing needs: the
// record, not its state (a blueprint reads that with workflows.RecordOf).
func keys(p *payload, table string) map[string]string {
	k := map[string]string{workflows.KeyTable: table}
	if h := workflows.HostOfURL(string(p.InstanceURL)); h != "" {
		k[workflows.KeyHost] = h
	}
	if p.SysID != "" {
		k[workflows.KeySysID] = string(p.SysID)
	}
	if p.Number != "" {
		k[workflows.KeyNumber] = string(p.Number)
	}
	return k
}

func isObject(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}
