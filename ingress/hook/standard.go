package hook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// VerifyStandardWebhooks verifies a delivery signed as the Standard
// Webhooks specification says (https://www.standardwebhooks.com/), as
// generic senders and GitLab's signing tokens do: webhook-signature holds
// space-separated "v1,<base64 HMAC-SHA256 of id.timestamp.body>" entries;
// the key is a secret's "whsec_<base64>" decoded, or the secret as is; the
// timestamp must be within tolerance of req.Now, so old deliveries cannot
// be replayed.
func VerifyStandardWebhooks(req *Request, tolerance time.Duration) error {
	const hint = "send webhook-id, webhook-timestamp and webhook-signature as the Standard Webhooks specification says"
	id, ts, sigs := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return Unauthorized("missing webhook-id, webhook-timestamp or webhook-signature", hint)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return Unauthorized("webhook-timestamp is not a Unix time in seconds", hint)
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	if skew := now.Sub(time.Unix(sec, 0)).Abs(); skew > tolerance {
		return Unauthorized("webhook-timestamp is too far from now", "the sender's clock must be within "+tolerance.String()+"; replays of old deliveries are refused")
	}
	signed := make([]byte, 0, len(id)+len(ts)+len(req.Body)+2)
	signed = append(append(append(append(append(signed, id...), '.'), ts...), '.'), req.Body...)
	ok := false
	for _, secret := range req.Secrets {
		key := standardKey(secret)
		if key == nil {
			continue
		}
		m := hmac.New(sha256.New, key)
		m.Write(signed)
		want := m.Sum(nil)
		for _, entry := range strings.Fields(sigs) {
			b64, found := strings.CutPrefix(entry, "v1,")
			if found && hmac.Equal(DecodeBase64(b64), want) {
				ok = true
			}
		}
	}
	if !ok {
		return Unauthorized("signature does not match", "webhook-signature must hold v1,<base64 HMAC-SHA256 of id.timestamp.body> under the integration's secret")
	}
	return nil
}

// standardKey is the HMAC key of a Standard Webhooks secret: the bytes of
// "whsec_<base64>", or the secret as is without the prefix. A whsec_
// secret that does not decode is no key.
func standardKey(secret []byte) []byte {
	b64, ok := bytes.CutPrefix(secret, []byte("whsec_"))
	if !ok {
		if len(secret) == 0 {
			return nil
		}
		return secret
	}
	key, err := base64.StdEncoding.DecodeString(string(b64))
	if err != nil || len(key) == 0 {
		return nil
	}
	return key
}

// DecodeBase64 decodes standard or URL base64, padded or not; nil when s
// is none of them.
func DecodeBase64(s string) []byte {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b
		}
	}
	return nil
}
