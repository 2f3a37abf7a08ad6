package generic_test

import (
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/generic"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/hook/hooktest"
)

// Without the scheme option, the request's headers pick the scheme; each
// still needs the integration's secret.
func TestSchemeDetection(t *testing.T) {
	t.Parallel()
	body := []byte(`{"test": 2432232314}`)
	secret := [][]byte{[]byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")}
	std := http.Header{
		"Webhook-Id":        {"msg_p5jXN8AQM9LWM0D4loKWxJek"},
		"Webhook-Timestamp": {"1614265330"},
		"Webhook-Signature": {"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
	}
	tests := []struct {
		name   string
		header http.Header
		ok     bool
	}{
		{"standard webhooks", std, true},
		{"standard webhooks, wrong signature", http.Header{"Webhook-Id": std["Webhook-Id"], "Webhook-Timestamp": std["Webhook-Timestamp"], "Webhook-Signature": {"v1,AAAA"}}, false},
		{"api key as the secret", http.Header{"X-Api-Key": {string(secret[0])}}, true},
		{"bearer as the secret", http.Header{"Authorization": {"Bearer " + string(secret[0])}}, true},
		{"wrong bearer", http.Header{"Authorization": {"Bearer nope"}}, false},
		{"hmac", http.Header{"X-Signature": {hex.EncodeToString(hooktest.MAC(secret[0], body))}}, true},
		{"nothing", http.Header{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := &hook.Request{Header: tt.header, Body: body, Secrets: secret, Options: map[string]string{}, Now: time.Unix(1614265330, 0)}
			err := generic.Source{}.Verify(req)
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}
