package gitlab_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/gitlab"
	"github.com/hookflow/hookflow/ingress/hook"
)

// TestSigningToken: a webhook with a signing token signs as the Standard
// Webhooks specification says, with webhook-id equal to Idempotency-Key.
func TestSigningToken(t *testing.T) {
	t.Parallel()
	key := []byte("0123456789abcdef0123456789abcdef")
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	body := []byte(`{"object_kind":"push","ref":"refs/heads/main","checkout_sha":"abc","project":{"id":1,"path_with_namespace":"group/app"}}`)
	now := time.Unix(1764000000, 0)
	sign := func(id string, ts int64, k []byte) string {
		m := hmac.New(sha256.New, k)
		fmt.Fprintf(m, "%s.%d.%s", id, ts, body)
		return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	req := func(sig string, ts int64) *hook.Request {
		return &hook.Request{Body: body, Secrets: [][]byte{[]byte(secret)}, Options: map[string]string{}, Now: now,
			Header: http.Header{"X-Gitlab-Event": {"Push Hook"}, "Idempotency-Key": {"msg-1"}, "Webhook-Id": {"msg-1"},
				"Webhook-Timestamp": {fmt.Sprint(ts)}, "Webhook-Signature": {sig}}}
	}
	good := req(sign("msg-1", now.Unix(), key), now.Unix())
	require.NoError(t, gitlab.Source{}.Verify(good))
	ev, err := gitlab.Source{}.Parse(good)
	require.NoError(t, err)
	require.Equal(t, "msg-1", ev.DeliveryID)
	require.Equal(t, "push", ev.Type)

	require.Error(t, gitlab.Source{}.Verify(req(sign("msg-1", now.Unix(), []byte("other-key-other-key-other-key-00")), now.Unix())), "wrong key")
	old := now.Add(-time.Hour).Unix()
	require.Error(t, gitlab.Source{}.Verify(req(sign("msg-1", old, key), old)), "a replay an hour later")
	tampered := req(sign("msg-1", now.Unix(), key), now.Unix())
	tampered.Body = append([]byte(nil), body...)
	tampered.Body[10] = 'X'
	require.Error(t, gitlab.Source{}.Verify(tampered))

	// A captured signed delivery replayed within the tolerance with a
	// fresh, unsigned Idempotency-Key keeps the signed webhook-id as its
	// delivery ID, so the journal takes it for a duplicate (before: the
	// fresh key made it a new delivery).
	replay := req(sign("msg-1", now.Unix(), key), now.Unix())
	replay.Header.Set("Idempotency-Key", "fresh-key-by-the-attacker")
	require.NoError(t, gitlab.Source{}.Verify(replay))
	ev, err = gitlab.Source{}.Parse(replay)
	require.NoError(t, err)
	require.Equal(t, "msg-1", ev.DeliveryID)
	require.Equal(t, "msg-1", gitlab.Source{}.Label(replay.Header, nil).DeliveryID)
}
