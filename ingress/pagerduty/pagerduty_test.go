package pagerduty_test

import (
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/hook/hooktest"
	"github.com/hookflow/hookflow/ingress/pagerduty"
)

const secret = "pd-whsec-7b3a91"

func sign(key string, body []byte) string {
	return "v1=" + hex.EncodeToString(hooktest.MAC([]byte(key), body))
}

func TestRecordedDeliveries(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		file, id, typ, incident string
		ping                    bool
	}{
		{"incident.triggered.http", "01DFJ3Y1YRQ4N2TFBHEL0FDHHT", "incident.triggered", "Q2KDFD2R4F6XUW", false},
		{"incident.resolved.rotating.http", "01DFJ3Y8ZK2M3EXAMPLE5RSLVD", "incident.resolved", "Q2KDFD2R4F6XUW", false},
		{"pagey.ping.http", "01DFJ3YP1NGEXAMPLEP1NG000", "pagey.ping", "", true},
	} {
		t.Run(c.file, func(t *testing.T) {
			t.Parallel()
			req := hooktest.Load(t, c.file, secret)
			require.NoError(t, pagerduty.Source{}.Verify(req))
			ev, err := pagerduty.Source{}.Parse(req)
			require.NoError(t, err)
			require.Equal(t, c.id, ev.DeliveryID)
			require.Equal(t, c.typ, ev.Type)
			require.Equal(t, c.incident, ev.Keys[pagerduty.KeyIncident])
			if c.incident != "" {
				require.Equal(t, "PF9KMXH", ev.Keys[pagerduty.KeyService])
			}
			require.Equal(t, c.ping, pagerduty.Source{}.Ping(ev))
			require.Equal(t, string(req.Body), string(ev.Payload))
		})
	}
}

func TestSignatures(t *testing.T) {
	t.Parallel()
	req := hooktest.Load(t, "incident.triggered.http", secret)
	body := req.Body
	good := sign(secret, body)
	old := sign("pd-whsec-old-0042", body)
	for _, c := range []struct {
		name, header string
		secrets      []string
		ok           bool
	}{
		{"one signature", good, []string{secret}, true},
		{"rotation at PagerDuty: old then new", old + "," + good, []string{secret}, true},
		{"rotation at PagerDuty: new then old, spaced", good + ", " + old, []string{secret}, true},
		{"rotation at Hookflow: two secrets", old, []string{secret, "pd-whsec-old-0042"}, true},
		{"only the old signature", old, []string{secret}, false},
		{"missing", "", []string{secret}, false},
		{"no v1= prefix", strings.TrimPrefix(good, "v1="), []string{secret}, false},
		{"v0 scheme", "v0=" + strings.TrimPrefix(good, "v1="), []string{secret}, false},
		{"truncated", good[:len(good)-2], []string{secret}, false},
		{"upper-case scheme", "V1=" + strings.TrimPrefix(good, "v1="), []string{secret}, false},
		{"not hex", "v1=zz", []string{secret}, false},
		{"empty secret never verifies", sign("", body), []string{""}, false},
		{"too many signatures", strings.Repeat(old+",", 8) + good, []string{secret}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := &hook.Request{Header: http.Header{}, Body: body}
			if c.header != "" {
				r.Header.Set(pagerduty.HeaderSignature, c.header)
			}
			for _, s := range c.secrets {
				r.Secrets = append(r.Secrets, []byte(s))
			}
			err := pagerduty.Source{}.Verify(r)
			if c.ok {
				require.NoError(t, err)
				return
			}
			hooktest.RequireError(t, err, 401, "unauthorized", secret, "pd-whsec-old-0042")
		})
	}
	// The recorded delivery signed under another secret, and a body
	// changed after signing.
	wrong := hooktest.Load(t, "incident.triggered.wrong_secret.http", secret)
	hooktest.RequireError(t, pagerduty.Source{}.Verify(wrong), 401, "unauthorized", secret)
	req.Body = append([]byte(nil), body...)
	req.Body[len(req.Body)-2] = ' '
	hooktest.RequireError(t, pagerduty.Source{}.Verify(req), 401, "unauthorized", secret)
}

func TestParseRefusesWhatIsNotAV3Webhook(t *testing.T) {
	t.Parallel()
	for _, b := range []string{`nope`, `[]`, `{}`, `{"event": null}`, `{"event": {"id": "x"}}`, `{"event": {"event_type": "incident.triggered"}}`, `{"event": {"id": 7, "event_type": "x"}}`} {
		_, err := pagerduty.Source{}.Parse(&hook.Request{Body: []byte(b)})
		hooktest.RequireStatus(t, err, 400)
	}
	// An event that is not about an incident has no incident keys.
	ev, err := pagerduty.Source{}.Parse(&hook.Request{Body: []byte(`{"event": {"id": "e", "event_type": "service.updated", "data": {"id": "PF9KMXH", "type": "service"}}}`)})
	require.NoError(t, err)
	require.Empty(t, ev.Keys)
}

func FuzzVerifyAndParse(f *testing.F) {
	req := hooktest.Load(f, "incident.resolved.rotating.http", secret)
	f.Add(req.Body, req.Header.Get(pagerduty.HeaderSignature))
	f.Add([]byte(`{"event": {"id": "e", "event_type": "x", "data": {"type": "incident", "service": {}}}}`), "v1=,v1=00")
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		r := &hook.Request{Header: http.Header{pagerduty.HeaderSignature: {header}}, Body: body, Secrets: [][]byte{[]byte(secret)}}
		if err := (pagerduty.Source{}).Verify(r); err != nil {
			if strings.Contains(err.Error(), secret) {
				t.Fatal("the secret in a refusal")
			}
		}
		ev, err := pagerduty.Source{}.Parse(r)
		if err == nil && (ev.DeliveryID == "" || ev.Type == "") {
			t.Fatalf("an event without ID or type: %+v", ev)
		}
	})
}
