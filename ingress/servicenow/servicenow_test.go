package servicenow_test

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/servicenow"
)

// secret is both the shared token and the HMAC key of the recorded
// deliveries in testdata.
const secret = "snow-tok-3e9d51a0"

const sigHeader = "X-ServiceNow-Signature"

// load reads a recorded delivery: an HTTP/1.1 request whose body is every
// byte after the first blank line, exactly as signed.
func load(t testing.TB, name string) *hook.Request {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	head, body, ok := bytes.Cut(raw, []byte("\n\n"))
	require.True(t, ok, "%s: no blank line after the headers", name)
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(append(head, "\n\n"...))))
	require.NoError(t, err)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	opts := map[string]string{}
	if r.Header.Get(sigHeader) != "" {
		opts[servicenow.OptionSignatureHeader] = sigHeader
	}
	return &hook.Request{
		Header:      r.Header,
		Body:        body,
		ContentType: ct,
		Secrets:     [][]byte{[]byte(secret)},
		Options:     opts,
	}
}

func mac(key string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return m.Sum(nil)
}

func requireHookError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var he *hook.Error
	require.True(t, errors.As(err, &he), "want *hook.Error, got %v", err)
	require.Equal(t, status, he.Status)
	require.Equal(t, code, he.Code)
	require.NotContains(t, he.Message+he.Hint, secret)
}

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
				"state": "-3", "approval": "approved",
			},
		},
		{
			// No action in the message: the action is the new state.
			file: "change_request.implement.signed.http", typ: "change_request", action: "-1",
			delivery: "8f3c2a1b47d31110a1b2c3d4e5f60718:6",
			keys: map[string]string{
				"table": "change_request", "sys_id": "8f3c2a1b47d31110a1b2c3d4e5f60718", "number": "CHG0030042",
				"state": "-1", "approval": "approved",
			},
		},
		{
			// sys_class_name instead of table; numbers where templates send strings.
			file: "incident.new.http", typ: "incident", action: "1",
			delivery: "46d44a6f1b2c3110b7e1a9c2d4f6e801:0",
			keys: map[string]string{
				"table": "incident", "sys_id": "46d44a6f1b2c3110b7e1a9c2d4f6e801", "number": "INC0010023",
				"state": "1", "approval": "not requested",
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
			enc, err := json.Marshal(ev)
			require.NoError(t, err)
			require.NotContains(t, string(enc), secret)
			if sig := req.Header.Get(sigHeader); sig != "" {
				require.NotContains(t, string(enc), sig)
			}
		})
	}
}

func TestVerifyToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mutate  func(r *hook.Request)
		wantErr bool
	}{
		{name: "recorded token", mutate: func(*hook.Request) {}},
		{name: "missing token", wantErr: true, mutate: func(r *hook.Request) { r.Header.Del("X-Hookflow-Token") }},
		{name: "wrong token", wantErr: true, mutate: func(r *hook.Request) { r.Header.Set("X-Hookflow-Token", "snow-tok-3e9d51a1") }},
		{name: "custom header", mutate: func(r *hook.Request) {
			r.Header.Set("X-Change-Token", r.Header.Get("X-Hookflow-Token"))
			r.Header.Del("X-Hookflow-Token")
			r.Options[servicenow.OptionHeader] = "X-Change-Token"
		}},
		{name: "custom header configured, default sent", wantErr: true, mutate: func(r *hook.Request) {
			r.Options[servicenow.OptionHeader] = "X-Change-Token"
		}},
		{name: "signature configured, token sent", wantErr: true, mutate: func(r *hook.Request) {
			r.Options[servicenow.OptionSignatureHeader] = sigHeader
		}},
		{name: "no secret configured", wantErr: true, mutate: func(r *hook.Request) { r.Secrets = nil }},
		{name: "rotation: new token", mutate: func(r *hook.Request) {
			r.Secrets = [][]byte{[]byte("new"), []byte(secret)}
			r.Header.Set("X-Hookflow-Token", "new")
		}},
		{name: "rotation: old token", mutate: func(r *hook.Request) { r.Secrets = [][]byte{[]byte("new"), []byte(secret)} }},
		{name: "rotation: neither", wantErr: true, mutate: func(r *hook.Request) { r.Secrets = [][]byte{[]byte("new"), []byte("old")} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := load(t, "change_request.approved.http")
			tt.mutate(req)
			err := servicenow.Source{}.Verify(req)
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			requireHookError(t, err, http.StatusUnauthorized, "unauthorized")
		})
	}
}

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	body := load(t, "change_request.implement.signed.http").Body
	good := mac(secret, body)
	tests := []struct {
		name    string
		mutate  func(r *hook.Request)
		wantErr bool
	}{
		{name: "recorded base64 signature", mutate: func(*hook.Request) {}},
		{name: "hex", mutate: func(r *hook.Request) { r.Header.Set(sigHeader, hex.EncodeToString(good)) }},
		{name: "hex with prefix", mutate: func(r *hook.Request) { r.Header.Set(sigHeader, "sha256="+hex.EncodeToString(good)) }},
		{name: "unpadded URL base64", mutate: func(r *hook.Request) { r.Header.Set(sigHeader, base64.RawURLEncoding.EncodeToString(good)) }},
		{name: "missing", wantErr: true, mutate: func(r *hook.Request) { r.Header.Del(sigHeader) }},
		{name: "garbage", wantErr: true, mutate: func(r *hook.Request) { r.Header.Set(sigHeader, "%%%") }},
		{name: "truncated", wantErr: true, mutate: func(r *hook.Request) { r.Header.Set(sigHeader, base64.StdEncoding.EncodeToString(good[:16])) }},
		{name: "wrong secret", wantErr: true, mutate: func(r *hook.Request) {
			r.Header.Set(sigHeader, base64.StdEncoding.EncodeToString(mac("wrong", body)))
		}},
		{name: "token instead of signature", wantErr: true, mutate: func(r *hook.Request) { r.Header.Set(sigHeader, secret) }},
		{name: "empty body", wantErr: true, mutate: func(r *hook.Request) { r.Body = nil }},
		{name: "tampered body", wantErr: true, mutate: func(r *hook.Request) {
			r.Body = bytes.Replace(bytes.Clone(r.Body), []byte(`"state":"-1"`), []byte(`"state":"3"`), 1)
		}},
		{name: "rotation: new secret", mutate: func(r *hook.Request) {
			r.Secrets = [][]byte{[]byte("new"), []byte(secret)}
			r.Header.Set(sigHeader, base64.StdEncoding.EncodeToString(mac("new", body)))
		}},
		{name: "rotation: old secret", mutate: func(r *hook.Request) { r.Secrets = [][]byte{[]byte("new"), []byte(secret)} }},
		{name: "rotation: neither", wantErr: true, mutate: func(r *hook.Request) { r.Secrets = [][]byte{[]byte("new"), []byte("old")} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := load(t, "change_request.implement.signed.http")
			tt.mutate(req)
			err := servicenow.Source{}.Verify(req)
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			requireHookError(t, err, http.StatusUnauthorized, "unauthorized")
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(r *hook.Request)
		code   string
	}{
		{name: "empty body", code: "malformed_json", mutate: func(r *hook.Request) { r.Body = nil }},
		{name: "template not substituted", code: "malformed_json", mutate: func(r *hook.Request) { r.Body = []byte(`{"table":${table}}`) }},
		{name: "JSON array", code: "malformed_json", mutate: func(r *hook.Request) { r.Body = []byte(`[{"table":"incident"}]`) }},
		{name: "no table", code: "missing_event_type", mutate: func(r *hook.Request) { r.Body = []byte(`{"sys_id":"a","sys_mod_count":"1"}`) }},
		{name: "no delivery header, no record version", code: "missing_delivery_id", mutate: func(r *hook.Request) {
			r.Header.Del("X-ServiceNow-Delivery")
			r.Body = []byte(`{"table":"incident","sys_id":"a"}`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := load(t, "change_request.approved.http")
			tt.mutate(req)
			_, err := servicenow.Source{}.Parse(req)
			requireHookError(t, err, http.StatusBadRequest, tt.code)
		})
	}
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
			var he *hook.Error
			require.True(t, errors.As(err, &he))
			require.Equal(t, http.StatusBadRequest, he.Status)
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
