package integrations

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/hook"
)

// standardSign signs as the Standard Webhooks reference libraries do: the
// secret without its whsec_ prefix, base64-decoded, is the HMAC-SHA256
// key of "<id>.<timestamp>.<body>".
func standardSign(t *testing.T, secret, id string, ts int64, body []byte) string {
	t.Helper()
	b64, ok := strings.CutPrefix(secret, "whsec_")
	require.True(t, ok, "a Standard Webhooks secret starts with whsec_")
	key, err := base64.StdEncoding.DecodeString(b64)
	require.NoError(t, err)
	require.Len(t, key, 32)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestGeneratedSecrets(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		source   string
		options  map[string]string
		standard bool
	}{
		{source: "generic", options: map[string]string{"scheme": "standard"}, standard: true},
		{source: "gitlab", standard: true},
		{source: "generic", options: map[string]string{"scheme": "hmac"}},
		{source: "generic"},
		{source: "github"},
		{source: "bitbucket"},
	} {
		t.Run(tc.source+"/"+tc.options["scheme"], func(t *testing.T) {
			t.Parallel()
			eachBackend(t, func(t *testing.T, open func() *Store, _ func() []byte) {
				ctx := context.Background()
				s := open()
				in, err := s.Create(ctx, Integration{Name: "n", Source: tc.source, Options: tc.options})
				require.NoError(t, err)
				rotated, err := s.Rotate(ctx, in.ID, nil, time.Hour)
				require.NoError(t, err)
				for _, secret := range []string{string(in.Secrets[0].Value), string(rotated.Secrets[0].Value)} {
					if !tc.standard {
						require.False(t, strings.HasPrefix(secret, StandardSecretPrefix))
						require.Len(t, secret, 43) // 32 bytes, base64url
						continue
					}
					require.Regexp(t, `^whsec_[A-Za-z0-9+/]{43}=$`, secret)
					// A delivery signed with the secret as printed verifies.
					body := []byte(`{"type":"ping"}`)
					now := time.Now()
					h := http.Header{}
					h.Set("webhook-id", "msg_1")
					h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
					h.Set("webhook-signature", standardSign(t, secret, "msg_1", now.Unix(), body))
					req := &hook.Request{Header: h, Body: body, Secrets: [][]byte{[]byte(secret)}, Now: now}
					require.NoError(t, hook.VerifyStandardWebhooks(req, time.Minute))
				}
				require.NotEqual(t, in.Secrets[0].Value, rotated.Secrets[0].Value)
			})
		})
	}
}
