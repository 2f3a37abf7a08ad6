package github_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the legacy signature is part of what is tested.
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/github"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/hook/hooktest"
)

// secret signs every recorded delivery in testdata. It is the example secret
// of GitHub's "Validating webhook deliveries" page.
const secret = "It's a Secret to Everybody"

// load reads a recorded delivery from testdata.
func load(t testing.TB, name string) *hook.Request {
	return hooktest.Load(t, name, secret)
}

func sign1(key string, body []byte) string {
	m := hmac.New(sha1.New, []byte(key))
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

// TestKnownAnswer pins the signature scheme to the test vector GitHub
// publishes, so the fixtures and the verifier cannot drift together.
func TestKnownAnswer(t *testing.T) {
	t.Parallel()
	req := &hook.Request{
		Header:  http.Header{"X-Hub-Signature-256": {"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}},
		Body:    []byte("Hello, World!"),
		Secrets: [][]byte{[]byte(secret)},
	}
	require.NoError(t, github.Source{}.Verify(req))
}

func TestParseRecorded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file     string
		typ      string
		action   string
		delivery string
		keys     map[string]string
		meta     map[string]string
	}{
		{
			file: "pull_request.opened.http", typ: "pull_request", action: "opened",
			delivery: "5b0a3c40-7d1e-11ef-8b1c-2a7c9e4b1f01",
			keys: map[string]string{
				"host":      "github.com",
				"repo_path": "Codertocat/Hello-World", "repo_name": "Hello-World", "owner": "Codertocat",
				"installation": "2311213", "pull_request": "2",
				"sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
			},
			meta: map[string]string{
				"x-github-hook-id": "503817644", "x-github-hook-installation-target-id": "375204",
				"x-github-hook-installation-target-type": "integration",
			},
		},
		{
			file: "pull_request.synchronize.http", typ: "pull_request", action: "synchronize",
			delivery: "8e2f61d0-7d1e-11ef-9a57-0f1f3d2c7b22",
			keys: map[string]string{
				"host":      "github.com",
				"repo_path": "Codertocat/Hello-World", "repo_name": "Hello-World", "owner": "Codertocat",
				"installation": "2311213", "pull_request": "2",
				"sha": "34c5c7793cb3b279e22454cb6750c80560547b3a",
			},
		},
		{
			file: "pull_request.closed.http", typ: "pull_request", action: "closed",
			delivery: "b41c77f0-7d20-11ef-8f0e-6a1e0b9c3d44",
			keys: map[string]string{
				"host":      "github.com",
				"repo_path": "Octocoders/Hello-World", "repo_name": "Hello-World", "owner": "Octocoders", "pull_request": "2",
				"sha": "34c5c7793cb3b279e22454cb6750c80560547b3a",
			},
		},
		{
			file: "push.http", typ: "push", delivery: "0f6b9e12-7d21-11ef-80d5-9b8f2f6a1c55",
			keys: map[string]string{
				"host":      "github.com",
				"repo_path": "Codertocat/Hello-World", "repo_name": "Hello-World", "owner": "Codertocat",
				"ref": "refs/heads/main", "sha": "9049f1265b7d61be4a8904a9a27120d2064dab3b",
			},
		},
		{
			file: "push.form.http", typ: "push", delivery: "1a7c0f24-7d21-11ef-8a1f-0c9d8e7f6a55",
			keys: map[string]string{
				"host":      "github.com",
				"repo_path": "Codertocat/Hello-World", "repo_name": "Hello-World", "owner": "Codertocat",
				"ref": "refs/heads/main", "sha": "9049f1265b7d61be4a8904a9a27120d2064dab3b",
			},
		},
		{
			file: "issues.opened.http", typ: "issues", action: "opened", delivery: "3c1d2e80-7d22-11ef-9d3e-4c2b7a8f6e66",
			keys: map[string]string{
				"host":      "github.com",
				"repo_path": "Codertocat/Hello-World", "repo_name": "Hello-World", "owner": "Codertocat",
				"issue": "1",
			},
		},
		{
			file: "issue_comment.issue.http", typ: "issue_comment", action: "created", delivery: "6a7e0c20-7d22-11ef-8c4a-1b3f5d7e9a77",
			keys: map[string]string{
				"host":      "github.com",
				"repo_path": "Codertocat/Hello-World", "repo_name": "Hello-World", "owner": "Codertocat",
				"issue": "1",
			},
		},
		{
			// A comment on a pull request arrives as issue_comment; the
			// issue's pull_request link makes it routable by pr.
			file: "issue_comment.pr.http", typ: "issue_comment", action: "created", delivery: "9d4b1a60-7d22-11ef-95f1-7e2c4a6b8c88",
			keys: map[string]string{
				"host":      "github.com",
				"repo_path": "Codertocat/Hello-World", "repo_name": "Hello-World", "owner": "Codertocat",
				"installation": "2311213", "issue": "2", "pull_request": "2",
			},
		},
		{
			file: "ping.http", typ: "ping", delivery: "c8a9e1f0-7d1d-11ef-8e2b-3a5c7e9b1d00",
			keys: map[string]string{
				"host":      "github.com",
				"repo_path": "Octocoders/Hello-World", "repo_name": "Hello-World", "owner": "Octocoders",
			},
		},
		{
			file: "ghes.pull_request.opened.http", typ: "pull_request", action: "opened", delivery: "e2f40a7c-7d23-11ef-9b8a-5d6e7f8a9b10",
			keys: map[string]string{
				"host":      "ghe.corp.example",
				"repo_path": "platform/payments", "repo_name": "payments", "owner": "platform",
				"pull_request": "57", "sha": "1f0c3f5d2b8e4a6c9d7e0a1b2c3d4e5f60718293",
			},
			meta: map[string]string{
				"x-github-enterprise-host": "ghe.corp.example", "x-github-enterprise-version": "3.13.2",
				"x-github-hook-id": "412", "x-github-hook-installation-target-id": "1031",
				"x-github-hook-installation-target-type": "repository",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			req := load(t, tt.file)
			require.NoError(t, github.Source{}.Verify(req))
			ev, err := github.Source{}.Parse(req)
			require.NoError(t, err)
			require.Equal(t, github.Name, ev.Source)
			require.Equal(t, tt.typ, ev.Type)
			require.Equal(t, tt.action, ev.Action)
			require.Equal(t, tt.delivery, ev.DeliveryID)
			require.Equal(t, tt.keys, ev.Keys)
			if tt.meta != nil {
				require.Equal(t, tt.meta, ev.Meta)
			}
			require.True(t, json.Valid(ev.Payload))
			if req.ContentType == "application/json" {
				require.Equal(t, string(req.Body), string(ev.Payload), "payload is the body, unchanged")
			}
			// The event ends up in workflow histories: no secret, no signature.
			hooktest.RequireHidden(t, ev, secret)
			for _, h := range []string{"X-Hub-Signature-256", "X-Hub-Signature"} {
				hooktest.RequireHidden(t, ev, strings.SplitN(req.Header.Get(h), "=", 2)[1])
			}
		})
	}
}

func TestFormPayloadIsDecoded(t *testing.T) {
	t.Parallel()
	form, plain := load(t, "push.form.http"), load(t, "push.http")
	ev, err := github.Source{}.Parse(form)
	require.NoError(t, err)
	require.Equal(t, string(plain.Body), string(ev.Payload))
}

func TestVerify(t *testing.T) {
	t.Parallel()
	body := load(t, "pull_request.opened.http").Body
	tests := []hooktest.VerifyCase{
		{Name: "recorded signature", Mutate: func(*hook.Request) {}},
		{Name: "missing signature", WantErr: true, Mutate: func(r *hook.Request) {
			r.Header.Del("X-Hub-Signature-256")
			r.Header.Del("X-Hub-Signature")
		}},
		{Name: "not hex", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Set("X-Hub-Signature-256", "sha256=zz") }},
		{Name: "no prefix", WantErr: true, Mutate: func(r *hook.Request) {
			r.Header.Set("X-Hub-Signature-256", strings.TrimPrefix(hooktest.Sign(secret, body), "sha256="))
		}},
		{Name: "sha1 prefix in sha256 header", WantErr: true, Mutate: func(r *hook.Request) {
			r.Header.Set("X-Hub-Signature-256", "sha1="+strings.TrimPrefix(hooktest.Sign(secret, body), "sha256="))
		}},
		{Name: "truncated", WantErr: true, Mutate: func(r *hook.Request) {
			r.Header.Set("X-Hub-Signature-256", hooktest.Sign(secret, body)[:40])
		}},
		{Name: "upper-case hex", Mutate: func(r *hook.Request) {
			r.Header.Set("X-Hub-Signature-256", "sha256="+strings.ToUpper(strings.TrimPrefix(hooktest.Sign(secret, body), "sha256=")))
		}},
		{Name: "wrong secret", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Set("X-Hub-Signature-256", hooktest.Sign("not the secret", body)) }},
		{Name: "no secret configured", WantErr: true, Mutate: func(r *hook.Request) { r.Secrets = nil }},
		{Name: "empty body", WantErr: true, Mutate: func(r *hook.Request) { r.Body = nil }},
		{Name: "tampered body", WantErr: true, Mutate: func(r *hook.Request) {
			r.Body = bytes.Replace(bytes.Clone(r.Body), []byte(`"number":2`), []byte(`"number":3`), 1)
		}},
		{Name: "trailing newline added", WantErr: true, Mutate: func(r *hook.Request) { r.Body = append(bytes.Clone(r.Body), '\n') }},
		{Name: "rotation: signed with the new secret", Mutate: func(r *hook.Request) {
			r.Secrets = [][]byte{[]byte("new secret"), []byte(secret)}
			r.Header.Set("X-Hub-Signature-256", hooktest.Sign("new secret", body))
		}},
		{Name: "rotation: signed with the old secret", Mutate: func(r *hook.Request) {
			r.Secrets = [][]byte{[]byte("new secret"), []byte(secret)}
		}},
		{Name: "rotation: signed with neither", WantErr: true, Mutate: func(r *hook.Request) {
			r.Secrets = [][]byte{[]byte("new secret"), []byte("old secret")}
		}},
		{Name: "sha1 only, not allowed", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Del("X-Hub-Signature-256") }},
		{Name: "sha1 only, allowed", Mutate: func(r *hook.Request) {
			r.Header.Del("X-Hub-Signature-256")
			r.Options[github.OptionAllowSHA1] = "true"
		}},
		{Name: "sha1 only, allowed, wrong secret", WantErr: true, Mutate: func(r *hook.Request) {
			r.Header.Del("X-Hub-Signature-256")
			r.Header.Set("X-Hub-Signature", sign1("not the secret", body))
			r.Options[github.OptionAllowSHA1] = "true"
		}},
		{Name: "bad sha256 is not rescued by a good sha1", WantErr: true, Mutate: func(r *hook.Request) {
			r.Header.Set("X-Hub-Signature-256", hooktest.Sign("not the secret", body))
			r.Options[github.OptionAllowSHA1] = "true"
		}},
	}
	hooktest.RunVerify(t, github.Source{}, load, "pull_request.opened.http", tests, secret)
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []hooktest.ParseErrorCase{
		{Name: "missing event header", Code: "missing_event_type", Mutate: func(r *hook.Request) { r.Header.Del("X-GitHub-Event") }},
		{Name: "empty body", Code: "malformed_json", Mutate: func(r *hook.Request) { r.Body = nil }},
		{Name: "truncated JSON", Code: "malformed_json", Mutate: func(r *hook.Request) { r.Body = r.Body[:len(r.Body)/2] }},
		{Name: "not JSON", Code: "malformed_json", Mutate: func(r *hook.Request) { r.Body = []byte("action=opened") }},
		{Name: "JSON array", Code: "malformed_json", Mutate: func(r *hook.Request) { r.Body = []byte(`[{"action":"opened"}]`) }},
		{Name: "JSON null", Code: "malformed_json", Mutate: func(r *hook.Request) { r.Body = []byte(`null`) }},
		{Name: "JSON string", Code: "malformed_json", Mutate: func(r *hook.Request) { r.Body = []byte(`"opened"`) }},
		{Name: "form without payload", Code: "malformed_form", Mutate: func(r *hook.Request) {
			r.ContentType = "application/x-www-form-urlencoded"
			r.Body = []byte("other=1")
		}},
		{Name: "form with malformed JSON", Code: "malformed_json", Mutate: func(r *hook.Request) {
			r.ContentType = "application/x-www-form-urlencoded"
			r.Body = []byte("payload=" + url.QueryEscape(`{"action":`))
		}},
	}
	hooktest.RunParseErrors(t, github.Source{}, load, "pull_request.opened.http", tests, secret)
}

func TestParseToleratesUnexpectedFieldTypes(t *testing.T) {
	t.Parallel()
	req := load(t, "pull_request.opened.http")
	// number as a string and installation as a list: routing keeps the rest.
	req.Body = []byte(`{"action":"opened","number":"two","installation":[1],"repository":{"full_name":"o/r"}}`)
	ev, err := github.Source{}.Parse(req)
	require.NoError(t, err)
	require.Equal(t, "opened", ev.Action)
	require.Equal(t, "o/r", ev.Keys["repo_path"])
	require.Equal(t, "o", ev.Keys["owner"], "the owner is the path's first element when the payload has no owner")
	require.NotContains(t, ev.Keys, "installation")
}

func TestUnknownEventTypeKeepsTypeAndPayload(t *testing.T) {
	t.Parallel()
	req := load(t, "ping.http")
	req.Header.Set("X-GitHub-Event", "merge_group_v9")
	req.Body = []byte(`{"action":"checks_requested","future":{"field":[1,2,3]},"repository":{"full_name":"o/r","name":"r","owner":{"login":"o"}}}`)
	ev, err := github.Source{}.Parse(req)
	require.NoError(t, err)
	require.Equal(t, "merge_group_v9", ev.Type)
	require.Equal(t, "checks_requested", ev.Action)
	require.Equal(t, string(req.Body), string(ev.Payload))
	require.Equal(t, map[string]string{"host": "github.com", "repo_path": "o/r", "repo_name": "r", "owner": "o"}, ev.Keys)
}

func TestHostKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string
		body   string
		want   string
	}{
		{name: "github.com has no host header", body: `{"repository":{"full_name":"o/r"}}`, want: "github.com"},
		{name: "GHES header", header: "GHE.Corp.Example", body: `{"repository":{"full_name":"o/r","html_url":"https://other.example/o/r"}}`, want: "ghe.corp.example"},
		{name: "repository URL without the header", body: `{"repository":{"full_name":"o/r","html_url":"https://ghe.corp.example:8443/o/r"}}`, want: "ghe.corp.example:8443"},
		{name: "default port dropped", body: `{"repository":{"full_name":"o/r","html_url":"https://ghe.corp.example:443/o/r"}}`, want: "ghe.corp.example"},
		{name: "not a URL", body: `{"repository":{"full_name":"o/r","html_url":"o/r"}}`, want: "github.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := load(t, "ping.http")
			req.Header.Del("X-GitHub-Enterprise-Host")
			if tt.header != "" {
				req.Header.Set("X-GitHub-Enterprise-Host", tt.header)
			}
			req.Body = []byte(tt.body)
			ev, err := github.Source{}.Parse(req)
			require.NoError(t, err)
			require.Equal(t, tt.want, ev.Keys["host"])
		})
	}
}

func TestDeletedBranchHasNoSHA(t *testing.T) {
	t.Parallel()
	req := load(t, "push.http")
	req.Body = []byte(`{"ref":"refs/heads/gone","after":"0000000000000000000000000000000000000000","deleted":true,"repository":{"full_name":"o/r"}}`)
	ev, err := github.Source{}.Parse(req)
	require.NoError(t, err)
	require.Equal(t, "refs/heads/gone", ev.Keys["ref"])
	require.NotContains(t, ev.Keys, "sha")
}

func FuzzVerify(f *testing.F) {
	for _, name := range []string{"ping.http", "push.http"} {
		req := load(f, name)
		f.Add(req.Body, req.Header.Get("X-Hub-Signature-256"), []byte(secret))
	}
	f.Add([]byte{}, "sha256=", []byte{})
	f.Add([]byte("Hello, World!"), "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17", []byte(secret))
	f.Fuzz(func(t *testing.T, body []byte, sig string, key []byte) {
		req := &hook.Request{
			Header:  http.Header{"X-Hub-Signature-256": {sig}},
			Body:    body,
			Secrets: [][]byte{key},
			Options: map[string]string{},
		}
		if err := (github.Source{}).Verify(req); err == nil {
			// Success means sig is exactly the HMAC of body under key.
			require.Equal(t, strings.ToLower(hooktest.Sign(string(key), body)), strings.ToLower(sig))
		}
		// A signature made with the key never verifies under another key.
		req.Header.Set("X-Hub-Signature-256", hooktest.Sign(string(key), body))
		req.Secrets = [][]byte{append(bytes.Clone(key), 'x')}
		require.Error(t, github.Source{}.Verify(req))
	})
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"pull_request.opened.http", "issue_comment.pr.http", "push.http", "ping.http"} {
		f.Add(load(f, name).Body, "application/json")
	}
	f.Add(load(f, "push.form.http").Body, "application/x-www-form-urlencoded")
	f.Add([]byte(`{"pull_request":{"number":1e400}}`), "application/json")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		req := &hook.Request{
			Header:      http.Header{"X-Github-Event": {"pull_request"}, "X-Github-Delivery": {"d"}},
			Body:        body,
			ContentType: contentType,
		}
		ev, err := github.Source{}.Parse(req)
		if err != nil {
			hooktest.RequireStatus(t, err, http.StatusBadRequest)
			return
		}
		require.True(t, json.Valid(ev.Payload), "payload must be JSON: it is marshalled into histories")
		for k, v := range ev.Keys {
			require.NotEmpty(t, v, "key %s", k)
		}
	})
}

func TestWithoutDeliveryHeaderTheBodyIsTheID(t *testing.T) {
	t.Parallel()
	hooktest.RequireBodyDeliveryID(t, github.Source{}, load, "pull_request.opened.http", nil, "X-GitHub-Delivery")
}
