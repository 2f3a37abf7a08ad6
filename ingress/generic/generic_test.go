package generic_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/generic"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/hook/hooktest"
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

// load reads a recorded delivery from testdata, on the integration it
// arrived on, at the time it arrived.
func load(t testing.TB, name string) *hook.Request {
	req := hooktest.Load(t, name, recorded[name].secret)
	for k, v := range recorded[name].options {
		req.Options[k] = v
	}
	req.Now = arrival
	return req
}

func standardSign(secret, id, ts string, body []byte) string {
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	return "v1," + base64.StdEncoding.EncodeToString(hooktest.MAC(key, []byte(id+"."+ts+"."), body))
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
			hooktest.RequireHidden(t, ev, recorded[tt.file].secret, "sha256=")
		})
	}
}

func TestVerifyHMAC(t *testing.T) {
	t.Parallel()
	const file = "hmac.build_finished.http"
	body := load(t, file).Body
	good := hooktest.MAC([]byte(hmacSecret), body)
	tests := []hooktest.VerifyCase{
		{Name: "recorded signature", Mutate: func(*hook.Request) {}},
		{Name: "scheme defaults to hmac", Mutate: func(r *hook.Request) { delete(r.Options, generic.OptionScheme) }},
		{Name: "no prefix configured, prefix sent", WantErr: true, Mutate: func(r *hook.Request) { delete(r.Options, generic.OptionPrefix) }},
		{Name: "prefix configured, none sent", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Set("X-Signature", hex.EncodeToString(good)) }},
		{Name: "base64", Mutate: func(r *hook.Request) {
			r.Options[generic.OptionEncoding] = "base64"
			r.Header.Set("X-Signature", "sha256="+base64.StdEncoding.EncodeToString(good))
		}},
		{Name: "hex sent, base64 configured", WantErr: true, Mutate: func(r *hook.Request) { r.Options[generic.OptionEncoding] = "base64" }},
		{Name: "custom header", Mutate: func(r *hook.Request) {
			r.Options[generic.OptionHeader] = "X-CI-Signature"
			r.Header.Set("X-CI-Signature", r.Header.Get("X-Signature"))
			r.Header.Del("X-Signature")
		}},
		{Name: "missing signature", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Del("X-Signature") }},
		{Name: "wrong secret", WantErr: true, Mutate: func(r *hook.Request) {
			r.Header.Set("X-Signature", "sha256="+hex.EncodeToString(hooktest.MAC([]byte("wrong"), body)))
		}},
		{Name: "no secret configured", WantErr: true, Mutate: func(r *hook.Request) { r.Secrets = nil }},
		{Name: "empty body", WantErr: true, Mutate: func(r *hook.Request) { r.Body = nil }},
		{Name: "tampered body", WantErr: true, Mutate: func(r *hook.Request) {
			r.Body = bytes.Replace(bytes.Clone(r.Body), []byte(`"build":1842`), []byte(`"build":1843`), 1)
		}},
		{Name: "rotation: new secret", Mutate: func(r *hook.Request) {
			r.Secrets = [][]byte{[]byte("new"), []byte(hmacSecret)}
			r.Header.Set("X-Signature", "sha256="+hex.EncodeToString(hooktest.MAC([]byte("new"), body)))
		}},
		{Name: "rotation: old secret", Mutate: func(r *hook.Request) { r.Secrets = [][]byte{[]byte("new"), []byte(hmacSecret)} }},
		{Name: "rotation: neither", WantErr: true, Mutate: func(r *hook.Request) { r.Secrets = [][]byte{[]byte("new"), []byte("old")} }},
		{Name: "unknown scheme", WantErr: true, Mutate: func(r *hook.Request) { r.Options[generic.OptionScheme] = "none" }},
	}
	hooktest.RunVerify(t, generic.Source{}, load, file, tests, hmacSecret, apiKey, standardSecret)
}

func TestVerifyAPIKey(t *testing.T) {
	t.Parallel()
	const file = "apikey.deployment.http"
	hashed := sha256.Sum256([]byte(apiKey))
	hashedStore := generic.Source{VerifyKey: func(_ *hook.Request, key string) bool {
		sum := sha256.Sum256([]byte(key))
		return hmac.Equal(sum[:], hashed[:])
	}}
	tests := []hooktest.VerifyCase{
		{Name: "recorded bearer key", Mutate: func(*hook.Request) {}},
		{Name: "lower-case bearer", Mutate: func(r *hook.Request) { r.Header.Set("Authorization", "bearer "+apiKey) }},
		{Name: "X-API-Key", Mutate: func(r *hook.Request) {
			r.Header.Del("Authorization")
			r.Header.Set("X-API-Key", apiKey)
		}},
		{Name: "basic auth is not a key", WantErr: true, Mutate: func(r *hook.Request) {
			r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("u:"+apiKey)))
		}},
		{Name: "missing key", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Del("Authorization") }},
		{Name: "wrong key", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Set("Authorization", "Bearer hf_live_2Jq8c1YyZ4tR7pXW") }},
		{Name: "no secret configured", WantErr: true, Mutate: func(r *hook.Request) { r.Secrets = nil }},
		{Name: "rotation: new key", Mutate: func(r *hook.Request) {
			r.Secrets = [][]byte{[]byte("hf_live_new"), []byte(apiKey)}
			r.Header.Set("Authorization", "Bearer hf_live_new")
		}},
		{Name: "rotation: old key", Mutate: func(r *hook.Request) { r.Secrets = [][]byte{[]byte("hf_live_new"), []byte(apiKey)} }},
		{Name: "hashed store: right key", Source: hashedStore, Mutate: func(r *hook.Request) { r.Secrets = nil }},
		{Name: "hashed store: wrong key", Source: hashedStore, WantErr: true, Mutate: func(r *hook.Request) {
			r.Header.Set("Authorization", "Bearer nope")
		}},
	}
	hooktest.RunVerify(t, generic.Source{}, load, file, tests, hmacSecret, apiKey, standardSecret)
}

func TestVerifyStandard(t *testing.T) {
	t.Parallel()
	const file = "standard.invoice_paid.http"
	base := load(t, file)
	id, ts, body := base.Header.Get("Webhook-Id"), base.Header.Get("Webhook-Timestamp"), base.Body
	tests := []hooktest.VerifyCase{
		{Name: "recorded signature", Mutate: func(*hook.Request) {}},
		{Name: "several signatures, one good", Mutate: func(r *hook.Request) {
			r.Header.Set("Webhook-Signature", "v1a,AAAA v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32))+" "+r.Header.Get("Webhook-Signature"))
		}},
		{Name: "raw secret without whsec_", Mutate: func(r *hook.Request) {
			r.Secrets = [][]byte{[]byte("plain secret")}
			m := hooktest.MAC([]byte("plain secret"), []byte(id+"."+ts+"."), body)
			r.Header.Set("Webhook-Signature", "v1,"+base64.StdEncoding.EncodeToString(m))
		}},
		{Name: "missing signature", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Del("Webhook-Signature") }},
		{Name: "missing id", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Del("Webhook-Id") }},
		{Name: "missing timestamp", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Del("Webhook-Timestamp") }},
		{Name: "timestamp in milliseconds", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Set("Webhook-Timestamp", ts+"000") }},
		{Name: "timestamp not a number", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Set("Webhook-Timestamp", "soon") }},
		{Name: "id changed", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Set("Webhook-Id", "msg_other") }},
		{Name: "replayed an hour later", WantErr: true, Mutate: func(r *hook.Request) { r.Now = arrival.Add(time.Hour) }},
		{Name: "from the future", WantErr: true, Mutate: func(r *hook.Request) { r.Now = arrival.Add(-10 * time.Minute) }},
		{Name: "an hour late within a configured tolerance", Mutate: func(r *hook.Request) {
			r.Now = arrival.Add(time.Hour)
			r.Options[generic.OptionTolerance] = "2h"
		}},
		{Name: "re-signed with a fresh timestamp", Mutate: func(r *hook.Request) {
			r.Now = arrival.Add(time.Hour)
			fresh := strconv.FormatInt(r.Now.Unix(), 10)
			r.Header.Set("Webhook-Timestamp", fresh)
			r.Header.Set("Webhook-Signature", standardSign(standardSecret, id, fresh, body))
		}},
		{Name: "v1a only", WantErr: true, Mutate: func(r *hook.Request) {
			r.Header.Set("Webhook-Signature", strings.Replace(r.Header.Get("Webhook-Signature"), "v1,", "v1a,", 1))
		}},
		{Name: "wrong secret", WantErr: true, Mutate: func(r *hook.Request) {
			r.Header.Set("Webhook-Signature", standardSign("whsec_"+base64.StdEncoding.EncodeToString([]byte("wrong")), id, ts, body))
		}},
		{Name: "undecodable whsec_ secret", WantErr: true, Mutate: func(r *hook.Request) { r.Secrets = [][]byte{[]byte("whsec_!!!")} }},
		{Name: "no secret configured", WantErr: true, Mutate: func(r *hook.Request) { r.Secrets = nil }},
		{Name: "empty body", WantErr: true, Mutate: func(r *hook.Request) { r.Body = nil }},
		{Name: "tampered body", WantErr: true, Mutate: func(r *hook.Request) {
			r.Body = bytes.Replace(bytes.Clone(r.Body), []byte(`4200`), []byte(`42000`), 1)
		}},
		{Name: "rotation: new secret", Mutate: func(r *hook.Request) {
			newSecret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("new key"))
			r.Secrets = [][]byte{[]byte(newSecret), []byte(standardSecret)}
			r.Header.Set("Webhook-Signature", standardSign(newSecret, id, ts, body))
		}},
		{Name: "rotation: old secret", Mutate: func(r *hook.Request) {
			r.Secrets = [][]byte{[]byte("whsec_" + base64.StdEncoding.EncodeToString([]byte("new key"))), []byte(standardSecret)}
		}},
	}
	hooktest.RunVerify(t, generic.Source{}, load, file, tests, hmacSecret, apiKey, standardSecret)
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
			hooktest.RequireError(t, err, http.StatusBadRequest, "malformed_json", hmacSecret, apiKey, standardSecret)
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
		good := "sha256=" + hex.EncodeToString(hooktest.MAC(key, body))
		req.Options[generic.OptionPrefix] = "sha256="
		if standard {
			req.Options[generic.OptionScheme] = generic.SchemeStandard
			req.Header.Set("Webhook-Id", "msg_1")
			req.Header.Set("Webhook-Timestamp", ts)
			good = "v1," + base64.StdEncoding.EncodeToString(hooktest.MAC(key, []byte("msg_1."+ts+"."), body))
			req.Header.Set("Webhook-Signature", sig)
		} else {
			req.Header.Set("X-Signature", sig)
		}
		if err := (generic.Source{}).Verify(req); err == nil && !bytes.HasPrefix(key, []byte("whsec_")) {
			if standard {
				require.True(t, hasEntry(sig, hooktest.MAC(key, []byte("msg_1."+ts+"."), body)), "accepted %q", sig)
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
