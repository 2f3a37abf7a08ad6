// Package generic verifies and normalizes deliveries from senders that have
// no source of their own: CI jobs, scripts, curl, SaaS tools that sign their
// webhooks in a common way.
//
// The integration option "scheme" selects the authentication:
//
// Without the option, the request's headers choose: webhook-signature means
// standard, an X-API-Key or Authorization header without X-Signature means
// apikey, anything else hmac.
//
//   - hmac: the HMAC-SHA256 of the raw body in a header
//     (option "header", default X-Signature), after an optional prefix
//     (option "prefix", e.g. "sha256="), hex or base64 (option "encoding",
//     default hex).
//   - apikey: an API key in Authorization: Bearer <key> or in X-API-Key.
//   - standard: the Standard Webhooks specification
//     (https://www.standardwebhooks.com/): webhook-id, webhook-timestamp and
//     webhook-signature ("v1,<base64>" entries separated by spaces) over
//     "<id>.<timestamp>.<body>"; a secret "whsec_<base64>" is used decoded.
//     The timestamp must be within the option "tolerance" (a Go duration,
//     default 5m) of the time the request arrived.
//
// The body must be a JSON object. The delivery ID is webhook-id, else the
// header named by the option "id_header", else X-Request-Id or
// Idempotency-Key, else "sha256:<hex>" of the body: identical bodies then
// count as one delivery. The type is the value of the header named by the
// option "type_header", else the body's "type" or "event" field, else
// "event"; the action is the body's "action". The option "keys" lists, comma
// separated, the top-level body fields that become business keys.
package generic

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/workflows"
)

// Name is the source name of generic integrations.
const Name = "generic"

// Integration options and their values. Each is optional; the zero value
// is the default given.
const (
	OptionScheme     = "scheme"      // SchemeHMAC, SchemeAPIKey or SchemeStandard; default: detected per request
	OptionHeader     = "header"      // hmac: signature header, default X-Signature
	OptionPrefix     = "prefix"      // hmac: text before the signature, default none
	OptionEncoding   = "encoding"    // hmac: "hex" (default) or "base64"
	OptionTolerance  = "tolerance"   // standard: max clock skew, default 5m
	OptionIDHeader   = "id_header"   // delivery ID header, default X-Request-Id or Idempotency-Key
	OptionTypeHeader = "type_header" // event type header, default none
	OptionKeys       = "keys"        // top-level body fields to use as keys, default none

	SchemeHMAC     = "hmac"
	SchemeAPIKey   = "apikey"
	SchemeStandard = "standard"
)

// DefaultTolerance is how far a Standard Webhooks timestamp may be from the
// arrival time when the integration does not set OptionTolerance.
const DefaultTolerance = 5 * time.Minute

// DefaultType is the event type when neither the type header nor the body
// names one.
const DefaultType = "event"

const (
	defaultSigHeader = "X-Signature"
	headerAPIKey     = "X-API-Key"
	headerSWID       = "webhook-id"
	headerSWSig      = "webhook-signature"
)

// Source is the generic hook.Source.
type Source struct {
	// VerifyKey reports whether key is a valid API key of the integration,
	// for the apikey scheme. Nil compares key with the request's Secrets
	// in constant time; set it where API keys are stored hashed.
	VerifyKey func(req *hook.Request, key string) bool
}

var _ hook.Source = Source{}

// Name implements hook.Source.
func (Source) Name() string { return Name }

// Verify implements hook.Source.
func (s Source) Verify(req *hook.Request) error {
	scheme := req.Options[OptionScheme]
	if scheme == "" {
		scheme = detectScheme(req)
	}
	switch scheme {
	case SchemeHMAC:
		return verifyHMAC(req)
	case SchemeAPIKey:
		return s.verifyAPIKey(req)
	case SchemeStandard:
		return verifyStandard(req)
	default:
		return hook.Unauthorized("unknown scheme "+strconv.Quote(scheme), "the integration option scheme must be hmac, apikey or standard")
	}
}

// detectScheme picks the scheme of an integration that does not set one,
// from the headers the request carries. Every scheme still needs the
// integration's secret, so letting the request choose is safe.
func detectScheme(req *hook.Request) string {
	switch {
	case req.Header.Get(headerSWSig) != "":
		return SchemeStandard
	case req.Header.Get(defaultSigHeader) == "" && (req.Header.Get(headerAPIKey) != "" || req.Header.Get("Authorization") != ""):
		return SchemeAPIKey
	}
	return SchemeHMAC
}

func verifyHMAC(req *hook.Request) error {
	h := option(req, OptionHeader, defaultSigHeader)
	prefix := req.Options[OptionPrefix]
	hint := h + " must be " + prefix + "<" + option(req, OptionEncoding, "hex") + " HMAC-SHA256 of the raw body> under the integration's secret"
	sig := req.Header.Get(h)
	if sig == "" {
		return hook.Unauthorized("missing signature", hint)
	}
	sig, ok := strings.CutPrefix(sig, prefix)
	if ok && req.Options[OptionEncoding] == "base64" {
		sig = hex.EncodeToString(hook.DecodeBase64(sig))
	}
	if !ok || !hook.ValidHMACSHA256(req.Body, sig, req.Secrets) {
		return hook.Unauthorized("signature does not match", hint)
	}
	return nil
}

func (s Source) verifyAPIKey(req *hook.Request) error {
	key := req.Header.Get(headerAPIKey)
	if auth := req.Header.Get("Authorization"); key == "" && auth != "" {
		scheme, token, _ := strings.Cut(auth, " ")
		if strings.EqualFold(scheme, "Bearer") {
			key = strings.TrimSpace(token)
		}
	}
	if key == "" {
		return hook.Unauthorized("missing API key", "send the API key as Authorization: Bearer <key> or in X-API-Key")
	}
	ok := false
	if s.VerifyKey != nil {
		ok = s.VerifyKey(req, key)
	} else {
		ok = hook.EqualSecret(key, req.Secrets)
	}
	if !ok {
		return hook.Unauthorized("API key is not valid", "use an API key issued for this integration")
	}
	return nil
}

func verifyStandard(req *hook.Request) error {
	tolerance := DefaultTolerance
	if v := req.Options[OptionTolerance]; v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			tolerance = d
		}
	}
	return hook.VerifyStandardWebhooks(req, tolerance)
}

func option(req *hook.Request, name, def string) string {
	if v := req.Options[name]; v != "" {
		return v
	}
	return def
}

// Label implements hook.Source: webhook-id, else the id_header option's
// header, else X-Request-Id or Idempotency-Key; the event type from the
// type_header option's header.
func (Source) Label(h http.Header, options map[string]string) hook.Label {
	names := []string{headerSWID, options[OptionIDHeader], "X-Request-Id", "Idempotency-Key"}
	if options[OptionIDHeader] != "" {
		names = names[:2]
	}
	l := hook.Label{}
	for _, n := range names {
		if v := hook.HeaderValue(h, n); n != "" && v != "" {
			l.DeliveryID = v
			break
		}
	}
	if t := options[OptionTypeHeader]; t != "" {
		l.Event = hook.HeaderValue(h, t)
	}
	return l
}

// Ping implements hook.Source: generic senders have no pings.
func (Source) Ping(workflows.Event) bool { return false }

// Parse implements hook.Source.
func (Source) Parse(req *hook.Request) (workflows.Event, error) {
	// Only the top level is decoded, and its values only when read.
	var top map[string]json.RawMessage
	if err := json.Unmarshal(req.Body, &top); err != nil || top == nil {
		return workflows.Event{}, hook.BadRequest("malformed_json", "body is not a JSON object", "generic integrations take a JSON object")
	}
	typ := ""
	if h := req.Options[OptionTypeHeader]; h != "" {
		typ = hook.HeaderValue(req.Header, h)
	}
	if typ == "" {
		typ = scalar(top["type"])
	}
	if typ == "" {
		typ = scalar(top["event"])
	}
	if typ == "" {
		typ = DefaultType
	}
	k := map[string]string{}
	for _, name := range strings.Split(req.Options[OptionKeys], ",") {
		name = strings.TrimSpace(name)
		if v := scalar(top[name]); name != "" && v != "" {
			k[name] = v
		}
	}
	return workflows.Event{
		DeliveryID: deliveryID(req),
		Source:     Name,
		Type:       typ,
		Action:     scalar(top["action"]),
		Keys:       k,
		Payload:    json.RawMessage(req.Body),
	}, nil
}

func deliveryID(req *hook.Request) string {
	if id := (Source{}).Label(req.Header, req.Options).DeliveryID; id != "" {
		return id
	}
	return hook.BodyDeliveryID(req.Body)
}

// scalar returns a JSON string, number or boolean as text, "" otherwise.
func scalar(raw json.RawMessage) string {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if len(raw) == 0 || dec.Decode(&v) != nil {
		return ""
	}
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}
