// Package dora is the batch endpoint for DORA records from any CI and any
// pager: an integration of source "dora" takes bodies of up to 500
// deployments, workflow runs (Middleware's shape) and incidents
// (workflows/dorabatch), authenticated with an API key
// (Authorization: Bearer <key> or X-API-Key) whose scopes cover the arrays
// sent.
//
// The sender's pipeline must never fail because of its data: every data
// problem is answered 200 with {"batch_id", "accepted", "rejected": [{"kind",
// "index", "field", "error", "hint"}], "error"?}, in the request, before any
// processing. Only transport problems keep their codes: 413 over the body
// limit, 401 a missing, wrong, revoked or expired key, 403 a key without
// the scope an array needs.
//
// The batch ID is derived from the body: an identical body answers with the
// same batch_id and, being the same delivery, is journaled and applied once.
// Every body is journaled whole, the erroneous ones included (as type
// "rejected" when no record is valid), with the counts in the event's
// meta; the dora blueprint applies the valid records and notifies about
// the erroneous ones.
package dora

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/workflows"
	"github.com/hookflow/hookflow/workflows/dorabatch"
)

// Name is the source name of dora integrations.
const Name = "dora"

// Event types. A batch with at least one valid record is TypeBatch; one
// without (an invalid body, or only invalid records) is TypeRejected,
// journaled for inspection (the dora blueprint only notifies about it).
const (
	TypeBatch    = "batch"
	TypeRejected = "rejected"
)

// Meta keys of a batch's event: the counts and the body's error, so that
// `hookflow deliveries list` shows what each batch did.
const (
	MetaAccepted = "accepted"
	MetaRejected = "rejected"
	MetaError    = "error"
)

const headerAPIKey = "X-API-Key"

// Source is the dora hook.Source.
type Source struct {
	// CheckKey reports whether key is a live API key of the request's
	// integration, and its scopes (empty: every scope). Nil compares key
	// with the integration's secrets, with every scope.
	CheckKey func(req *hook.Request, key string) (scopes []string, ok bool)
	// Rejected, when set, counts the erroneous records of each batch
	// answered (not of a resend): kind is the array, or "body" for a body
	// refused whole.
	Rejected func(integration, kind string, n int)
}

var (
	_ hook.Source   = Source{}
	_ hook.Answerer = Source{}
)

// Name implements hook.Source.
func (Source) Name() string { return Name }

// Verify implements hook.Source: the key, then its scopes against the
// arrays the body names.
func (s Source) Verify(req *hook.Request) error {
	key := APIKey(req.Header)
	if key == "" {
		return hook.Unauthorized("missing API key", "send the API key as Authorization: Bearer <key> or in X-API-Key")
	}
	var scopes []string
	ok := false
	if s.CheckKey != nil {
		scopes, ok = s.CheckKey(req, key)
	} else {
		ok = hook.EqualSecret(key, req.Secrets)
	}
	if !ok {
		return hook.Unauthorized("API key is not valid", "use a live API key issued for this integration (hookflow keys create --integration ID); revoked and expired keys are refused")
	}
	if len(scopes) == 0 {
		return nil
	}
	for _, need := range dorabatch.Scopes(req.Body) {
		has := false
		for _, sc := range scopes {
			has = has || sc == need
		}
		if !has {
			return hook.Forbidden("the API key does not have the "+need+" scope",
				"send "+need+" with a key created with --scope "+need+", or split the body by kind")
		}
	}
	return nil
}

// APIKey is the key a request carries: X-API-Key, else a bearer token.
func APIKey(h http.Header) string {
	if k := strings.TrimSpace(h.Get(headerAPIKey)); k != "" {
		return k
	}
	scheme, token, _ := strings.Cut(h.Get("Authorization"), " ")
	if strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(token)
	}
	return ""
}

// BatchID is the batch ID of body: "batch_" and 128 bits of its SHA-256,
// the same for the same body.
func BatchID(body []byte) string {
	sum := sha256.Sum256(body)
	return "batch_" + hex.EncodeToString(sum[:16])
}

// Label implements hook.Source: a batch is named by its body, not its
// headers.
func (Source) Label(http.Header, map[string]string) hook.Label { return hook.Label{Event: TypeBatch} }

// Ping implements hook.Source: a dora sender has no pings.
func (Source) Ping(workflows.Event) bool { return false }

// Parse implements hook.Source. It never refuses: the answer carries every
// data problem.
func (Source) Parse(req *hook.Request) (workflows.Event, error) {
	b := dorabatch.Parse(req.Body)
	ev := workflows.Event{
		DeliveryID: BatchID(req.Body),
		Source:     Name,
		Type:       TypeBatch,
		Meta:       map[string]string{MetaAccepted: strconv.Itoa(b.Accepted()), MetaRejected: strconv.Itoa(len(b.Rejected))},
		Payload:    Payload(req.Body),
	}
	if b.Accepted() == 0 {
		ev.Type = TypeRejected
	}
	if b.Error != "" {
		ev.Meta[MetaError] = b.Error
	}
	return ev, nil
}

// UnparsedKey holds, base64, a body that is not JSON, so that it is kept
// whole in a JSON payload.
const UnparsedKey = "unparsed_body_base64"

// Payload is body as an event payload: itself when it is JSON, else
// {"unparsed_body_base64": ...}.
func Payload(body []byte) json.RawMessage {
	if json.Valid(body) {
		return json.RawMessage(body)
	}
	out, _ := json.Marshal(map[string]string{UnparsedKey: base64.StdEncoding.EncodeToString(body)})
	return out
}

// Answer implements hook.Answerer: 200 with the batch's answer, the same
// for a resend of the same body.
func (s Source) Answer(req *hook.Request, _ workflows.Event, status string) (int, any) {
	b := dorabatch.Parse(req.Body)
	if s.Rejected != nil && status != "duplicate" {
		if b.Error != "" {
			s.Rejected(req.IntegrationID, "body", 1)
		}
		n := map[string]int{}
		for _, r := range b.Rejected {
			n[r.Kind]++
		}
		for _, k := range []string{dorabatch.KindDeployments, dorabatch.KindWorkflowRuns, dorabatch.KindIncidents} {
			if n[k] > 0 {
				s.Rejected(req.IntegrationID, k, n[k])
			}
		}
	}
	return http.StatusOK, b.Answer(BatchID(req.Body))
}
