package generic_test

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
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/generic"
	"github.com/hookflow/hookflow/ingress/hook"
)

// The secrets of the recorded deliveries in testdata.
const (
	hmacSecret     = "gen-hmac-k3y-91ad"
	apiKey         = "hf_live_2Jq8c1YyZ4tR7pXw"
	standardSecret = "whsec_c2VjcmV0LWtleS1mb3ItaG9va2Zsb3ctdGVzdHM="
)

// recorded is one delivery in testdata with the integration it arrived on.
var recorded = map[string]struct {
	secret  string
	options map[string]string
}{
	"hmac.build_finished.http": {hmacSecret, map[string]string{
		generic.OptionScheme: generic.SchemeHMAC, generic.OptionPrefix: "sha256=", generic.OptionKeys: "repo, ref,sha,build,pipeline",
	}},
	"apikey.deployment.http": {apiKey, map[string]string{
		generic.OptionScheme: generic.SchemeAPIKey, generic.OptionKeys: "service,environment,version",
	}},
	"standard.invoice_paid.http": {standardSecret, map[string]string{
		generic.OptionScheme: generic.SchemeStandard,
	}},
}

// arrival is when the Standard Webhooks delivery arrived: 40s after it
// was signed.
var arrival = time.Unix(1727690040, 0)

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
	for k, v := range recorded[name].options {
		opts[k] = v
	}
	return &hook.Request{
		Header:      r.Header,
		Body:        body,
		ContentType: ct,
		Secrets:     [][]byte{[]byte(recorded[name].secret)},
		Options:     opts,
		Now:         arrival,
	}
}

func mac(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

func standardSign(secret, id, ts string, body []byte) string {
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, []byte(id+"."+ts+"."), body))
}

func requireHookError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var he *hook.Error
	require.True(t, errors.As(err, &he), "want *hook.Error, got %v", err)
	require.Equal(t, status, he.Status)
	require.Equal(t, code, he.Code)
	for _, s := range []string{hmacSecret, apiKey, standardSecret} {
		require.NotContains(t, he.Message+he.Hint, s)
	}
}

// TestStandardWebhooksTestVector pins the scheme to the test vector of the
// Standard Webhooks reference libraries.
func TestStandardWebhooksTestVector(t *testing.T) {
	t.Parallel()
	req := &hook.Request{
		Header: http.Header{
			"Webhook-Id":        {"msg_p5jXN8AQM9LWM0D4loKWxJek"},
			"Webhook-Timestamp": {"1614265330"},
			"Webhook-Signature": {"v1,bm9ldHUjKzFob2VudXRob2VodWUzMjRvdWVvdW9ldQo= v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
		},
		Body:    []byte(`{"test": 2432232314}`),
		Secrets: [][]byte{[]byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")},
		Options: map[string]string{generic.OptionScheme: generic.SchemeStandard},
		Now:     time.Unix(1614265330, 0),
	}
	require.NoError(t, generic.Source{}.Verify(req))
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
			file: "hmac.build_finished.http", typ: "build.finished", action: "succeeded",
			delivery: "0e7b1c9a-52f4-4d1e-9a3b-6c8d2e4f1a70",
			keys: map[string]string{
				"repo": "acme/payments", "ref": "refs/heads/main", "sha": "709d658dc5b6d6afcd46049c2f332ee3f515a67d",
				"build": "1842", "pipeline": "payments-main",
			},
		},
		{
			file: "apikey.deployment.http", typ: "deployment", action: "finished", delivery: "deploy-payments-2.4.0-prod",
			keys: map[string]string{"service": "payments", "environment": "prod", "version": "2.4.0"},
		},
		{
			file: "standard.invoice_paid.http", typ: "invoice.paid", delivery: "msg_2mVY0KzBNgFVaQ6y1V3fXR2L4Wb",
			keys: map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			req := load(t, tt.file)
			require.NoError(t, generic.Source{}.Verify(req))
			ev, err := generic.Source{}.Parse(req)
			require.NoError(t, err)
			require.Equal(t, generic.Name, ev.Source)
			require.Equal(t, tt.typ, ev.Type)
			require.Equal(t, tt.action, ev.Action)
			require.Equal(t, tt.delivery, ev.DeliveryID)
			require.Equal(t, tt.keys, ev.Keys)
			require.Empty(t, ev.Meta)
			require.Equal(t, string(req.Body), string(ev.Payload))
			enc, err := json.Marshal(ev)
			require.NoError(t, err)
			require.NotContains(t, string(enc), recorded[tt.file].secret)
			require.NotContains(t, string(enc), "sha256=")
		})
	}
}

func TestVerifyHMAC(t *testing.T) {
	t.Parallel()
	const file = "hmac.build_finished.http"
	body := load(t, file).Body
	good := mac([]byte(hmacSecret), body)
	tests := []struct {
		name    string
		mutate  func(r *hook.Request)
		wantErr bool
	}{
		{name: "recorded signature", mutate: func(*hook.Request) {}},
		{name: "scheme defaults to hmac", mutate: func(r *hook.Request) { delete(r.Options, generic.OptionScheme) }},
		{name: "no prefix configured, prefix sent", wantErr: true, mutate: func(r *hook.Request) { delete(r.Options, generic.OptionPrefix) }},
		{name: "prefix configured, none sent", wantErr: true, mutate: func(r *hook.Request) { r.Header.Set("X-Signature", hex.EncodeToString(good)) }},
		{name: "base64", mutate: func(r *hook.Request) {
			r.Options[generic.OptionEncoding] = "base64"
			r.Header.Set("X-Signature", "sha256="+base64.StdEncoding.EncodeToString(good))
		}},
		{name: "hex sent, base64 configured", wantErr: true, mutate: func(r *hook.Request) { r.Options[generic.OptionEncoding] = "base64" }},
		{name: "custom header", mutate: func(r *hook.Request) {
			r.Options[generic.OptionHeader] = "X-CI-Signature"
			r.Header.Set("X-CI-Signature", r.Header.Get("X-Signature"))
			r.Header.Del("X-Signature")
		}},
		{name: "missing signature", wantErr: true, mutate: func(r *hook.Request) { r.Header.Del("X-Signature") }},
		{name: "wrong secret", wantErr: true, mutate: func(r *hook.Request) {
			r.Header.Set("X-Signature", "sha256="+hex.EncodeToString(mac([]byte("wrong"), body)))
		}},
		{name: "no secret configured", wantErr: true, mutate: func(r *hook.Request) { r.Secrets = nil }},
		{name: "empty body", wantErr: true, mutate: func(r *hook.Request) { r.Body = nil }},
		{name: "tampered body", wantErr: true, mutate: func(r *hook.Request) {
			r.Body = bytes.Replace(bytes.Clone(r.Body), []byte(`"build":1842`), []byte(`"build":1843`), 1)
		}},
		{name: "rotation: new secret", mutate: func(r *hook.Request) {
			r.Secrets = [][]byte{[]byte("new"), []byte(hmacSecret)}
			r.Header.Set("X-Signature", "sha256="+hex.EncodeToString(mac([]byte("new"), body)))
		}},
		{name: "rotation: old secret", mutate: func(r *hook.Request) { r.Secrets = [][]byte{[]byte("new"), []byte(hmacSecret)} }},
		{name: "rotation: neither", wantErr: true, mutate: func(r *hook.Request) { r.Secrets = [][]byte{[]byte("new"), []byte("old")} }},
		{name: "unknown scheme", wantErr: true, mutate: func(r *hook.Request) { r.Options[generic.OptionScheme] = "none" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := load(t, file)
			tt.mutate(req)
			err := generic.Source{}.Verify(req)
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			requireHookError(t, err, http.StatusUnauthorized, "unauthorized")
		})
	}
}

func TestVerifyAPIKey(t *testing.T) {
	t.Parallel()
	const file = "apikey.deployment.http"
	hashed := sha256.Sum256([]byte(apiKey))
	hashedStore := generic.Source{VerifyKey: func(_ *hook.Request, key string) bool {
		sum := sha256.Sum256([]byte(key))
		return hmac.Equal(sum[:], hashed[:])
	}}
	tests := []struct {
		name    string
		source  generic.Source
		mutate  func(r *hook.Request)
		wantErr bool
	}{
		{name: "recorded bearer key", mutate: func(*hook.Request) {}},
		{name: "lower-case bearer", mutate: func(r *hook.Request) { r.Header.Set("Authorization", "bearer "+apiKey) }},
		{name: "X-API-Key", mutate: func(r *hook.Request) {
			r.Header.Del("Authorization")
			r.Header.Set("X-API-Key", apiKey)
		}},
		{name: "basic auth is not a key", wantErr: true, mutate: func(r *hook.Request) {
			r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("u:"+apiKey)))
		}},
		{name: "missing key", wantErr: true, mutate: func(r *hook.Request) { r.Header.Del("Authorization") }},
		{name: "wrong key", wantErr: true, mutate: func(r *hook.Request) { r.Header.Set("Authorization", "Bearer hf_live_2Jq8c1YyZ4tR7pXW") }},
		{name: "no secret configured", wantErr: true, mutate: func(r *hook.Request) { r.Secrets = nil }},
		{name: "rotation: new key", mutate: func(r *hook.Request) {
			r.Secrets = [][]byte{[]byte("hf_live_new"), []byte(apiKey)}
			r.Header.Set("Authorization", "Bearer hf_live_new")
		}},
		{name: "rotation: old key", mutate: func(r *hook.Request) { r.Secrets = [][]byte{[]byte("hf_live_new"), []byte(apiKey)} }},
		{name: "hashed store: right key", source: hashedStore, mutate: func(r *hook.Request) { r.Secrets = nil }},
		{name: "hashed store: wrong key", source: hashedStore, wantErr: true, mutate: func(r *hook.Request) {
			r.Header.Set("Authorization", "Bearer nope")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := load(t, file)
			tt.mutate(req)
			err := tt.source.Verify(req)
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			requireHookError(t, err, http.StatusUnauthorized, "unauthorized")
		})
	}
}

func TestVerifyStandard(t *testing.T) {
	t.Parallel()
	const file = "standard.invoice_paid.http"
	base := load(t, file)
	id, ts, body := base.Header.Get("Webhook-Id"), base.Header.Get("Webhook-Timestamp"), base.Body
	tests := []struct {
		name    string
		mutate  func(r *hook.Request)
		wantErr bool
	}{
		{name: "recorded signature", mutate: func(*hook.Request) {}},
		{name: "several signatures, one good", mutate: func(r *hook.Request) {
			r.Header.Set("Webhook-Signature", "v1a,AAAA v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32))+" "+r.Header.Get("Webhook-Signature"))
		}},
		{name: "raw secret without whsec_", mutate: func(r *hook.Request) {
			r.Secrets = [][]byte{[]byte("plain secret")}
			m := mac([]byte("plain secret"), []byte(id+"."+ts+"."), body)
			r.Header.Set("Webhook-Signature", "v1,"+base64.StdEncoding.EncodeToString(m))
		}},
		{name: "missing signature", wantErr: true, mutate: func(r *hook.Request) { r.Header.Del("Webhook-Signature") }},
		{name: "missing id", wantErr: true, mutate: func(r *hook.Request) { r.Header.Del("Webhook-Id") }},
		{name: "missing timestamp", wantErr: true, mutate: func(r *hook.Request) { r.Header.Del("Webhook-Timestamp") }},
		{name: "timestamp in milliseconds", wantErr: true, mutate: func(r *hook.Request) { r.Header.Set("Webhook-Timestamp", ts+"000") }},
		{name: "timestamp not a number", wantErr: true, mutate: func(r *hook.Request) { r.Header.Set("Webhook-Timestamp", "soon") }},
		{name: "id changed", wantErr: true, mutate: func(r *hook.Request) { r.Header.Set("Webhook-Id", "msg_other") }},
		{name: "replayed an hour later", wantErr: true, mutate: func(r *hook.Request) { r.Now = arrival.Add(time.Hour) }},
		{name: "from the future", wantErr: true, mutate: func(r *hook.Request) { r.Now = arrival.Add(-10 * time.Minute) }},
		{name: "an hour late within a configured tolerance", mutate: func(r *hook.Request) {
			r.Now = arrival.Add(time.Hour)
			r.Options[generic.OptionTolerance] = "2h"
		}},
		{name: "re-signed with a fresh timestamp", mutate: func(r *hook.Request) {
			r.Now = arrival.Add(time.Hour)
			fresh := strconv.FormatInt(r.Now.Unix(), 10)
			r.Header.Set("Webhook-Timestamp", fresh)
			r.Header.Set("Webhook-Signature", standardSign(standardSecret, id, fresh, body))
		}},
		{name: "v1a only", wantErr: true, mutate: func(r *hook.Request) {
			r.Header.Set("Webhook-Signature", strings.Replace(r.Header.Get("Webhook-Signature"), "v1,", "v1a,", 1))
		}},
		{name: "wrong secret", wantErr: true, mutate: func(r *hook.Request) {
			r.Header.Set("Webhook-Signature", standardSign("whsec_"+base64.StdEncoding.EncodeToString([]byte("wrong")), id, ts, body))
		}},
		{name: "undecodable whsec_ secret", wantErr: true, mutate: func(r *hook.Request) { r.Secrets = [][]byte{[]byte("whsec_!!!")} }},
		{name: "no secret configured", wantErr: true, mutate: func(r *hook.Request) { r.Secrets = nil }},
		{name: "empty body", wantErr: true, mutate: func(r *hook.Request) { r.Body = nil }},
		{name: "tampered body", wantErr: true, mutate: func(r *hook.Request) {
			r.Body = bytes.Replace(bytes.Clone(r.Body), []byte(`4200`), []byte(`42000`), 1)
		}},
		{name: "rotation: new secret", mutate: func(r *hook.Request) {
			newSecret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("new key"))
			r.Secrets = [][]byte{[]byte(newSecret), []byte(standardSecret)}
			r.Header.Set("Webhook-Signature", standardSign(newSecret, id, ts, body))
		}},
		{name: "rotation: old secret", mutate: func(r *hook.Request) {
			r.Secrets = [][]byte{[]byte("whsec_" + base64.StdEncoding.EncodeToString([]byte("new key"))), []byte(standardSecret)}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := load(t, file)
			tt.mutate(req)
			err := generic.Source{}.Verify(req)
			if !tt.wantErr {
				require.NoError(t, err)
				return
			}
			requireHookError(t, err, http.StatusUnauthorized, "unauthorized")
		})
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	bodySum := sha256.Sum256([]byte(`{"status":"ok"}`))
	tests := []struct {
		name     string
		options  map[string]string
		header   http.Header
		body     string
		typ      string
		delivery string
		keys     map[string]string
	}{
		{
			name: "type header wins", options: map[string]string{generic.OptionTypeHeader: "X-Event-Type"},
			header: http.Header{"X-Event-Type": {"release"}, "X-Request-Id": {"r1"}}, body: `{"type":"other"}`,
			typ: "release", delivery: "r1", keys: map[string]string{},
		},
		{
			name: "custom id header replaces the defaults", options: map[string]string{generic.OptionIDHeader: "X-Delivery"},
			header: http.Header{"X-Delivery": {"d1"}, "X-Request-Id": {"r1"}}, body: `{"event":"x"}`,
			typ: "x", delivery: "d1", keys: map[string]string{},
		},
		{
			name: "body hash when no header names the delivery", header: http.Header{}, body: `{"status":"ok"}`,
			typ: generic.DefaultType, delivery: "sha256:" + hex.EncodeToString(bodySum[:]), keys: map[string]string{},
		},
		{
			name: "keys: scalars only, missing ones skipped", options: map[string]string{generic.OptionKeys: "a,b,c,d,e,f,"},
			header: http.Header{"X-Request-Id": {"r"}}, body: `{"a":"x","b":12.50,"c":true,"d":null,"e":{"x":1},"f":[1]}`,
			typ: generic.DefaultType, delivery: "r", keys: map[string]string{"a": "x", "b": "12.50", "c": "true"},
		},
		{
			name: "type not a string", header: http.Header{"X-Request-Id": {"r"}}, body: `{"type":{"name":"x"},"event":"fallback"}`,
			typ: "fallback", delivery: "r", keys: map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := &hook.Request{Header: tt.header, Body: []byte(tt.body), Options: tt.options}
			ev, err := generic.Source{}.Parse(req)
			require.NoError(t, err)
			require.Equal(t, tt.typ, ev.Type)
			require.Equal(t, tt.delivery, ev.DeliveryID)
			require.Equal(t, tt.keys, ev.Keys)
			require.Equal(t, tt.body, string(ev.Payload))
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"", "null", "[]", `"x"`, "12", `{"a":`, "a=b&c=d"} {
		t.Run(strconv.Quote(body), func(t *testing.T) {
			t.Parallel()
			_, err := generic.Source{}.Parse(&hook.Request{Header: http.Header{}, Body: []byte(body)})
			requireHookError(t, err, http.StatusBadRequest, "malformed_json")
		})
	}
}

// hasEntry reports whether a webhook-signature value has a v1 entry whose
// signature, in any base64 alphabet, is want.
func hasEntry(sigs string, want []byte) bool {
	for _, e := range strings.Fields(sigs) {
		b64, ok := strings.CutPrefix(e, "v1,")
		if !ok {
			continue
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(b64); err == nil && bytes.Equal(b, want) {
				return true
			}
		}
	}
	return false
}

func FuzzVerify(f *testing.F) {
	std := load(f, "standard.invoice_paid.http")
	f.Add(std.Body, std.Header.Get("Webhook-Signature"), []byte(standardSecret), true)
	h := load(f, "hmac.build_finished.http")
	f.Add(h.Body, h.Header.Get("X-Signature"), []byte(hmacSecret), false)
	f.Add([]byte{}, "", []byte{}, false)
	f.Fuzz(func(t *testing.T, body []byte, sig string, key []byte, standard bool) {
		req := &hook.Request{Header: http.Header{}, Body: body, Secrets: [][]byte{key}, Options: map[string]string{}, Now: arrival}
		ts := strconv.FormatInt(arrival.Unix(), 10)
		good := "sha256=" + hex.EncodeToString(mac(key, body))
		req.Options[generic.OptionPrefix] = "sha256="
		if standard {
			req.Options[generic.OptionScheme] = generic.SchemeStandard
			req.Header.Set("Webhook-Id", "msg_1")
			req.Header.Set("Webhook-Timestamp", ts)
			good = "v1," + base64.StdEncoding.EncodeToString(mac(key, []byte("msg_1."+ts+"."), body))
			req.Header.Set("Webhook-Signature", sig)
		} else {
			req.Header.Set("X-Signature", sig)
		}
		if err := (generic.Source{}).Verify(req); err == nil && !bytes.HasPrefix(key, []byte("whsec_")) {
			if standard {
				require.True(t, hasEntry(sig, mac(key, []byte("msg_1."+ts+"."), body)), "accepted %q", sig)
			} else {
				require.Equal(t, strings.ToLower(good), strings.ToLower(sig))
			}
		}
		// What the key signs never verifies under another key.
		if standard {
			req.Header.Set("Webhook-Signature", good)
		} else {
			req.Header.Set("X-Signature", good)
		}
		req.Secrets = [][]byte{append([]byte("other"), key...)}
		require.Error(t, generic.Source{}.Verify(req))
	})
}

func FuzzParse(f *testing.F) {
	for name := range recorded {
		f.Add(load(f, name).Body, "a,type,build")
	}
	f.Add([]byte(`{"type":1e999,"a":"\u0000"}`), "a")
	f.Fuzz(func(t *testing.T, body []byte, keys string) {
		req := &hook.Request{Header: http.Header{}, Body: body, Options: map[string]string{generic.OptionKeys: keys}}
		ev, err := generic.Source{}.Parse(req)
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
