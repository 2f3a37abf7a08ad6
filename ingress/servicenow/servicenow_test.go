package servicenow_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/hook/hooktest"
	"github.com/hookflow/hookflow/ingress/servicenow"
)

// secret is both the shared token and the HMAC key of the recorded
// deliveries in testdata.
const secret = "snow-tok-3e9d51a0"

const sigHeader = "X-ServiceNow-Signature"

// load reads a recorded delivery from testdata; a signed one arrives on an
// integration that expects the signature header.
func load(t testing.TB, name string) *hook.Request {
	req := hooktest.Load(t, name, secret)
	if req.Header.Get(sigHeader) != "" {
		req.Options[servicenow.OptionSignatureHeader] = sigHeader
	}
	return req
}

func mac(key string, body []byte) []byte { return hooktest.MAC([]byte(key), body) }

func TestParseRecorded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file     string
		typ      string
		action   string
		delivery string
		keys     map[string]string
	}{
		{
			file: "change_request.approved.http", typ: "change_request", action: "approved",
			delivery: "8f3c2a1b47d31110a1b2c3d4e5f60718-4",
			keys: map[string]string{
				"table": "change_request", "sys_id": "8f3c2a1b47d31110a1b2c3d4e5f60718", "number": "CHG0030042",
			},
		},
		{
			// No action in the message: the action is the new state.
			file: "change_request.implement.signed.http", typ: "change_request", action: "-1",
			delivery: "8f3c2a1b47d31110a1b2c3d4e5f60718:6",
			keys: map[string]string{
				"table": "change_request", "sys_id": "8f3c2a1b47d31110a1b2c3d4e5f60718", "number": "CHG0030042",
			},
		},
		{
			// sys_class_name instead of table; numbers where templates send strings.
			file: "incident.new.http", typ: "incident", action: "1",
			delivery: "46d44a6f1b2c3110b7e1a9c2d4f6e801:0",
			keys: map[string]string{
				"table": "incident", "sys_id": "46d44a6f1b2c3110b7e1a9c2d4f6e801", "number": "INC0010023",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			req := load(t, tt.file)
			require.NoError(t, servicenow.Source{}.Verify(req))
			ev, err := servicenow.Source{}.Parse(req)
			require.NoError(t, err)
			require.Equal(t, servicenow.Name, ev.Source)
			require.Equal(t, tt.typ, ev.Type)
			require.Equal(t, tt.action, ev.Action)
			require.Equal(t, tt.delivery, ev.DeliveryID)
			require.Equal(t, tt.keys, ev.Keys)
			require.Equal(t, string(req.Body), string(ev.Payload))
			hooktest.RequireHidden(t, ev, secret)
			if sig := req.Header.Get(sigHeader); sig != "" {
				hooktest.RequireHidden(t, ev, sig)
			}
		})
	}
}

func TestVerifyToken(t *testing.T) {
	t.Parallel()
	tests := []hooktest.VerifyCase{
		{Name: "recorded token", Mutate: func(*hook.Request) {}},
		{Name: "missing token", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Del("X-Hookflow-Token") }},
		{Name: "wrong token", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Set("X-Hookflow-Token", "snow-tok-3e9d51a1") }},
		{Name: "custom header", Mutate: func(r *hook.Request) {
			r.Header.Set("X-Change-Token", r.Header.Get("X-Hookflow-Token"))
			r.Header.Del("X-Hookflow-Token")
			r.Options[servicenow.OptionHeader] = "X-Change-Token"
		}},
		{Name: "custom header configured, default sent", WantErr: true, Mutate: func(r *hook.Request) {
			r.Options[servicenow.OptionHeader] = "X-Change-Token"
		}},
		{Name: "signature configured, token sent", WantErr: true, Mutate: func(r *hook.Request) {
			r.Options[servicenow.OptionSignatureHeader] = sigHeader
		}},
		{Name: "no secret configured", WantErr: true, Mutate: func(r *hook.Request) { r.Secrets = nil }},
		{Name: "rotation: new token", Mutate: func(r *hook.Request) {
			r.Secrets = [][]byte{[]byte("new"), []byte(secret)}
			r.Header.Set("X-Hookflow-Token", "new")
		}},
		{Name: "rotation: old token", Mutate: func(r *hook.Request) { r.Secrets = [][]byte{[]byte("new"), []byte(secret)} }},
		{Name: "rotation: neither", WantErr: true, Mutate: func(r *hook.Request) { r.Secrets = [][]byte{[]byte("new"), []byte("old")} }},
	}
	hooktest.RunVerify(t, servicenow.Source{}, load, "change_request.approved.http", tests, secret)
}

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	body := load(t, "change_request.implement.signed.http").Body
	good := mac(secret, body)
	tests := []hooktest.VerifyCase{
		{Name: "recorded base64 signature", Mutate: func(*hook.Request) {}},
		{Name: "hex", Mutate: func(r *hook.Request) { r.Header.Set(sigHeader, hex.EncodeToString(good)) }},
		{Name: "hex with prefix", Mutate: func(r *hook.Request) { r.Header.Set(sigHeader, "sha256="+hex.EncodeToString(good)) }},
		{Name: "unpadded URL base64", Mutate: func(r *hook.Request) { r.Header.Set(sigHeader, base64.RawURLEncoding.EncodeToString(good)) }},
		{Name: "missing", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Del(sigHeader) }},
		{Name: "garbage", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Set(sigHeader, "%%%") }},
		{Name: "truncated", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Set(sigHeader, base64.StdEncoding.EncodeToString(good[:16])) }},
		{Name: "wrong secret", WantErr: true, Mutate: func(r *hook.Request) {
			r.Header.Set(sigHeader, base64.StdEncoding.EncodeToString(mac("wrong", body)))
		}},
		{Name: "token instead of signature", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Set(sigHeader, secret) }},
		{Name: "empty body", WantErr: true, Mutate: func(r *hook.Request) { r.Body = nil }},
		{Name: "tampered body", WantErr: true, Mutate: func(r *hook.Request) {
			r.Body = bytes.Replace(bytes.Clone(r.Body), []byte(`"state":"-1"`), []byte(`"state":"3"`), 1)
		}},
		{Name: "rotation: new secret", Mutate: func(r *hook.Request) {
			r.Secrets = [][]byte{[]byte("new"), []byte(secret)}
			r.Header.Set(sigHeader, base64.StdEncoding.EncodeToString(mac("new", body)))
		}},
		{Name: "rotation: old secret", Mutate: func(r *hook.Request) { r.Secrets = [][]byte{[]byte("new"), []byte(secret)} }},
		{Name: "rotation: neither", WantErr: true, Mutate: func(r *hook.Request) { r.Secrets = [][]byte{[]byte("new"), []byte("old")} }},
	}
	hooktest.RunVerify(t, servicenow.Source{}, load, "change_request.implement.signed.http", tests, secret)
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []hooktest.ParseErrorCase{
		{Name: "empty body", Code: "malformed_json", Mutate: func(r *hook.Request) { r.Body = nil }},
		{Name: "template not substituted", Code: "malformed_json", Mutate: func(r *hook.Request) { r.Body = []byte(`{"table":${table}}`) }},
		{Name: "JSON array", Code: "malformed_json", Mutate: func(r *hook.Request) { r.Body = []byte(`[{"table":"incident"}]`) }},
		{Name: "no table", Code: "missing_event_type", Mutate: func(r *hook.Request) { r.Body = []byte(`{"sys_id":"a","sys_mod_count":"1"}`) }},
	}
	hooktest.RunParseErrors(t, servicenow.Source{}, load, "change_request.approved.http", tests, secret)
}

func TestDeliveryID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		options map[string]string
		header  http.Header
		body    string
		want    string
	}{
		{name: "custom delivery header", options: map[string]string{servicenow.OptionDeliveryHeader: "X-Correlation-Id"},
			header: http.Header{"X-Correlation-Id": {"corr-1"}}, body: `{"table":"incident","sys_id":"a","sys_mod_count":"1"}`, want: "corr-1"},
		{name: "sys_mod_count", body: `{"table":"incident","sys_id":"a","sys_mod_count":"7","sys_updated_on":"2024-09-30 10:00:00"}`, want: "a:7"},
		{name: "sys_updated_on", body: `{"table":"incident","sys_id":"a","sys_updated_on":"2024-09-30 10:00:00"}`, want: "a:2024-09-30 10:00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := &hook.Request{Header: http.Header{}, Body: []byte(tt.body), Options: tt.options}
			if tt.header != nil {
				req.Header = tt.header
			}
			ev, err := servicenow.Source{}.Parse(req)
			require.NoError(t, err)
			require.Equal(t, tt.want, ev.DeliveryID)
		})
	}
}

// decodesTo reports whether sig, in any encoding Verify accepts, is want.
func decodesTo(sig string, want []byte) bool {
	sig = strings.TrimPrefix(strings.TrimSpace(sig), "sha256=")
	if b, err := hex.DecodeString(sig); err == nil && bytes.Equal(b, want) {
		return true
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(sig); err == nil && bytes.Equal(b, want) {
			return true
		}
	}
	return false
}

func FuzzVerify(f *testing.F) {
	req := load(f, "change_request.implement.signed.http")
	f.Add(req.Body, req.Header.Get(sigHeader), []byte(secret), true)
	f.Add([]byte("{}"), secret, []byte(secret), false)
	f.Add([]byte{}, "", []byte{}, false)
	f.Fuzz(func(t *testing.T, body []byte, sent string, key []byte, signed bool) {
		req := &hook.Request{Header: http.Header{}, Body: body, Secrets: [][]byte{key}, Options: map[string]string{}}
		h := servicenow.DefaultTokenHeader
		if signed {
			h = sigHeader
			req.Options[servicenow.OptionSignatureHeader] = sigHeader
		}
		req.Header.Set(h, sent)
		if err := (servicenow.Source{}).Verify(req); err == nil {
			if signed {
				require.True(t, decodesTo(req.Header.Get(h), mac(string(key), body)), "accepted %q", sent)
			} else {
				require.Equal(t, string(key), req.Header.Get(h))
			}
		}
		// What the key produces never verifies under another key.
		req.Header.Set(h, string(key))
		if signed {
			req.Header.Set(h, base64.StdEncoding.EncodeToString(mac(string(key), body)))
		}
		req.Secrets = [][]byte{append(bytes.Clone(key), 'x')}
		require.Error(t, servicenow.Source{}.Verify(req))
	})
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"change_request.approved.http", "change_request.implement.signed.http", "incident.new.http"} {
		f.Add(load(f, name).Body)
	}
	f.Add([]byte(`{"table":{"x":1},"sys_class_name":true,"sys_id":[1],"state":1e999}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := servicenow.Source{}.Parse(&hook.Request{Header: http.Header{}, Body: body})
		if err != nil {
			hooktest.RequireStatus(t, err, http.StatusBadRequest)
			return
		}
		require.NotEmpty(t, ev.Type)
		require.NotEmpty(t, ev.DeliveryID)
		require.True(t, json.Valid(ev.Payload))
		for k, v := range ev.Keys {
			require.NotEmpty(t, v, "key %s", k)
		}
	})
}

func TestWithoutDeliveryOrRecordVersionTheBodyIsTheID(t *testing.T) {
	t.Parallel()
	hooktest.RequireBodyDeliveryID(t, servicenow.Source{}, load, "change_request.approved.http", func(r *hook.Request) {
		r.Body = []byte(`{"table":"incident","sys_id":"a"}`)
	}, "X-ServiceNow-Delivery")
}

func TestKeysNameTheRecordAndTheInstance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		keys map[string]string
	}{
		{
			name: "instance URL names the host",
			body: `{"table":"change_request","sys_id":"a1","number":"CHG1","state":"-1","instance_url":"https://Acme.service-now.com/"}`,
			keys: map[string]string{"table": "change_request", "sys_id": "a1", "number": "CHG1", "host": "acme.service-now.com"},
		},
		{
			name: "an instance that is not a URL is no host",
			body: `{"table":"incident","sys_id":"a2","instance_url":"acme"}`,
			keys: map[string]string{"table": "incident", "sys_id": "a2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := load(t, "incident.new.http")
			req.Body = []byte(tt.body)
			ev, err := servicenow.Source{}.Parse(req)
			require.NoError(t, err)
			require.Equal(t, tt.keys, ev.Keys)
		})
	}
}
