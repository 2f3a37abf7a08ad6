// Package hook is the contract between the ingress server and the sender
// packages (ingress/github, ingress/gitlab, ...): a Source verifies a request
// with the integration's secrets and parses it into a workflows.Event.
//
// The server reads the body once, under the body limit, before it calls a
// Source; a Source never touches the network or the journal.
package hook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/hookflow/hookflow/workflows"
)

// Source verifies and parses the deliveries of one kind of sender.
type Source interface {
	// Name is the source's identifier, used in integration records and
	// events ("github", "gitlab", ...).
	Name() string
	// Verify authenticates req. It returns an *Error with status 401 when
	// the request is not from the integration's sender. It must compare
	// secrets in constant time and never put a secret in the error.
	Verify(req *Request) error
	// Parse normalizes a verified request into an event. Delivery ID,
	// Source, Type, Action, Keys, Meta and Payload are the Source's to
	// fill; the server sets Integration and ReceivedAt.
	Parse(req *Request) (workflows.Event, error)
	// Label names a delivery from its headers alone, before or without
	// verification, so that a refusal is journaled with the sender's own
	// delivery ID and event type. It is the same delivery ID Parse takes
	// from the headers ("" when the sender sent none); the integration's
	// options may name the headers.
	Label(h http.Header, options map[string]string) Label
	// Ping reports whether a parsed event is the sender's test or ping
	// delivery, which is answered "ignored" and never routed.
	Ping(ev workflows.Event) bool
}

// Label is what the headers of a delivery say about it.
type Label struct {
	DeliveryID string
	Event      string
}

// Request is one delivery as the server hands it to a Source.
type Request struct {
	// Context is the request's context, for sources that look up keys.
	Context context.Context
	// IntegrationID identifies the integration the delivery arrived on.
	IntegrationID string
	// Header is the request's header.
	Header http.Header
	// Body is the complete body, read once under the body limit.
	Body []byte
	// ContentType is the media type of the body, without parameters.
	ContentType string
	// Secrets are the integration's currently valid secrets, newest first.
	// During a rotation there are two; both verify.
	Secrets [][]byte
	// Options are the integration's source-specific settings.
	Options map[string]string
	// Now is the time the request arrived (for timestamp tolerance).
	Now time.Time
}

// Error is a refusal the server turns into an HTTP answer:
// {"error": {"code", "message", "hint"}}. Message and Hint are shown to the
// sender, so they must never contain a secret.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Unauthorized is a 401: a missing or wrong signature, token or key.
func Unauthorized(message, hint string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: message, Hint: hint}
}

// BadRequest is a 400: the request is authentic but cannot be parsed.
func BadRequest(code, message, hint string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: message, Hint: hint}
}

// ValidHMACSHA256 reports whether hexSig is the hex HMAC-SHA256 of body
// under any of secrets, in constant time per secret.
func ValidHMACSHA256(body []byte, hexSig string, secrets [][]byte) bool {
	want, valid := decodeSHA256Hex(hexSig)
	if !valid {
		return false
	}
	ok := false
	for _, s := range secrets {
		if len(s) == 0 {
			continue // an empty key would make anyone's HMAC valid
		}
		m := hmac.New(sha256.New, s)
		m.Write(body)
		if hmac.Equal(m.Sum(nil), want[:]) {
			ok = true
		}
	}
	return ok
}

// decodeSHA256Hex decodes a hex SHA-256 digest into an array:
// hex.DecodeString's slice was an allocation per delivery, and the
// compiler converts s for hex.Decode without copying.
func decodeSHA256Hex(s string) (d [sha256.Size]byte, ok bool) {
	if len(s) != 2*sha256.Size {
		return d, false
	}
	_, err := hex.Decode(d[:], []byte(s))
	return d, err == nil
}

// EqualSecret reports whether token equals any of secrets, in constant
// time: both sides are hashed first, so not even the length leaks.
func EqualSecret(token string, secrets [][]byte) bool {
	if token == "" {
		return false
	}
	got := sha256.Sum256([]byte(token))
	ok := false
	for _, s := range secrets {
		want := sha256.Sum256(s)
		if len(s) > 0 && subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
			ok = true
		}
	}
	return ok
}

// BodyDeliveryID is the delivery ID of a delivery whose sender sent none:
// "sha256:<hex>" of the body. A resend of the same body gets the same ID
// and is deduplicated; two different events differ in their bodies.
func BodyDeliveryID(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Answerer is implemented by sources whose senders expect an answer of
// their own shape (the dora batch endpoint's {"batch_id", "accepted",
// "rejected"}) instead of {"delivery_id", "status"}. The server calls it
// once the delivery is journaled (status is the journal's: accepted,
// ignored or duplicate), with the same request Parse saw.
type Answerer interface {
	Answer(req *Request, ev workflows.Event, status string) (code int, body any)
}

// Forbidden is a 403: the key is valid but may not send this.
func Forbidden(message, hint string) *Error {
	return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: message, Hint: hint}
}
