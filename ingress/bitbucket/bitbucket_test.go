package bitbucket_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/bitbucket"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/hook/hooktest"
)

// secret signs every recorded delivery in testdata.
const secret = "bb-s3cr3t-2f7e"

// load reads a recorded delivery from testdata.
func load(t testing.TB, name string) *hook.Request {
	return hooktest.Load(t, name, secret)
}

func TestParseRecorded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file     string
		typ      string
		action   string
		delivery string
		edition  string
		keys     map[string]string
	}{
		{
			file: "cloud.repo_push.http", typ: "repo:push", action: "push", edition: "cloud",
			delivery: "6f1b9c2e-4d3a-4e8b-b7f0-2a5c9d1e8f34",
			keys: map[string]string{
				"host": "bitbucket.org", "repo_path": "acme/payments", "owner": "acme", "repo_name": "payments",
				"ref": "refs/heads/main", "sha": "709d658dc5b6d6afcd46049c2f332ee3f515a67d",
			},
		},
		{
			file: "cloud.pullrequest_created.http", typ: "pullrequest:created", action: "created", edition: "cloud",
			delivery: "0a4e7c1d-9b2f-4c6e-8d3a-5f7b1e9c2d40",
			keys: map[string]string{
				"host": "bitbucket.org", "repo_path": "acme/payments", "owner": "acme", "repo_name": "payments",
				"pull_request": "42", "sha": "d3b5f4a1c2e0",
			},
		},
		{
			file: "cloud.pullrequest_fulfilled.http", typ: "pullrequest:fulfilled", action: "fulfilled", edition: "cloud",
			delivery: "3e8a2b6f-1c4d-4a9e-b0f7-6d2c8e4a1b95",
			keys: map[string]string{
				"host": "bitbucket.org", "repo_path": "acme/payments", "owner": "acme", "repo_name": "payments",
				"pull_request": "42", "sha": "d3b5f4a1c2e0",
			},
		},
		{
			file: "dc.repo_refs_changed.http", typ: "repo:refs_changed", action: "refs_changed", edition: "datacenter",
			delivery: "5dbb2ab7-0c1e-4e2a-8f3d-9b7a6c5d4e3f",
			keys: map[string]string{
				"repo_path": "PROJ/repository", "owner": "PROJ", "repo_name": "repository",
				"ref": "refs/heads/master", "sha": "178864a7d521b6f5e720b386b2c2b0ef8563e0dc",
			},
		},
		{
			file: "dc.pr_opened.http", typ: "pr:opened", action: "opened", edition: "datacenter",
			delivery: "7c2d9e4a-6b1f-4d8c-a3e5-0f9b2c7d1e86",
			keys: map[string]string{
				"repo_path": "PROJ/repository", "owner": "PROJ", "repo_name": "repository",
				"pull_request": "1", "sha": "ef8755f06ee4b28c96a847a95cb8ec8ed6ddd1ca",
			},
		},
		{
			file: "dc.pr_reviewer_approved.http", typ: "pr:reviewer:approved", action: "reviewer:approved", edition: "datacenter",
			delivery: "9e4f1a7b-3c8d-4e2f-b6a0-1d5c9e3f7a28",
			keys: map[string]string{
				"repo_path": "PROJ/repository", "owner": "PROJ", "repo_name": "repository",
				"pull_request": "1", "sha": "ef8755f06ee4b28c96a847a95cb8ec8ed6ddd1ca",
			},
		},
		{
			file: "dc.diagnostics_ping.http", typ: "diagnostics:ping", action: "ping", edition: "datacenter",
			delivery: "1b6e3d9f-8a2c-4f7e-9d0b-4c1a7e5f3b62", keys: map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			req := load(t, tt.file)
			require.NoError(t, bitbucket.Source{}.Verify(req))
			ev, err := bitbucket.Source{}.Parse(req)
			require.NoError(t, err)
			require.Equal(t, bitbucket.Name, ev.Source)
			require.Equal(t, tt.typ, ev.Type)
			require.Equal(t, tt.action, ev.Action)
			require.Equal(t, tt.delivery, ev.DeliveryID)
			require.Equal(t, tt.keys, ev.Keys)
			require.Equal(t, tt.edition, ev.Meta["edition"])
			require.Equal(t, string(req.Body), string(ev.Payload))
			hooktest.RequireHidden(t, ev, secret, strings.TrimPrefix(req.Header.Get("X-Hub-Signature"), "sha256="))
		})
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	body := load(t, "dc.pr_opened.http").Body
	tests := []hooktest.VerifyCase{
		{Name: "recorded signature", Mutate: func(*hook.Request) {}},
		{Name: "missing signature", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Del("X-Hub-Signature") }},
		{Name: "no prefix", WantErr: true, Mutate: func(r *hook.Request) {
			r.Header.Set("X-Hub-Signature", strings.TrimPrefix(hooktest.Sign(secret, body), "sha256="))
		}},
		{Name: "sha1 prefix", WantErr: true, Mutate: func(r *hook.Request) {
			r.Header.Set("X-Hub-Signature", "sha1="+strings.TrimPrefix(hooktest.Sign(secret, body), "sha256="))
		}},
		{Name: "not hex", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Set("X-Hub-Signature", "sha256=not-hex") }},
		{Name: "wrong secret", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Set("X-Hub-Signature", hooktest.Sign("wrong", body)) }},
		{Name: "no secret configured", WantErr: true, Mutate: func(r *hook.Request) { r.Secrets = nil }},
		{Name: "empty body", WantErr: true, Mutate: func(r *hook.Request) { r.Body = nil }},
		{Name: "tampered body", WantErr: true, Mutate: func(r *hook.Request) {
			r.Body = bytes.Replace(bytes.Clone(r.Body), []byte(`"id":1,`), []byte(`"id":2,`), 1)
		}},
		{Name: "rotation: new secret", Mutate: func(r *hook.Request) {
			r.Secrets = [][]byte{[]byte("new"), []byte(secret)}
			r.Header.Set("X-Hub-Signature", hooktest.Sign("new", body))
		}},
		{Name: "rotation: old secret", Mutate: func(r *hook.Request) { r.Secrets = [][]byte{[]byte("new"), []byte(secret)} }},
		{Name: "rotation: neither", WantErr: true, Mutate: func(r *hook.Request) { r.Secrets = [][]byte{[]byte("new"), []byte("old")} }},
	}
	hooktest.RunVerify(t, bitbucket.Source{}, load, "dc.pr_opened.http", tests, secret)
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []hooktest.ParseErrorCase{
		{Name: "cloud without event key", File: "cloud.repo_push.http", Code: "missing_event_type",
			Mutate: func(r *hook.Request) { r.Header.Del("X-Event-Key") }},
		{Name: "empty body", File: "cloud.repo_push.http", Code: "malformed_json", Mutate: func(r *hook.Request) { r.Body = nil }},
		{Name: "truncated JSON", File: "dc.pr_opened.http", Code: "malformed_json", Mutate: func(r *hook.Request) { r.Body = r.Body[:len(r.Body)/2] }},
		{Name: "JSON scalar", File: "dc.pr_opened.http", Code: "malformed_json", Mutate: func(r *hook.Request) { r.Body = []byte(`42`) }},
	}
	hooktest.RunParseErrors(t, bitbucket.Source{}, load, "", tests, secret)
}

func TestParseEdgeCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string
		key  string
		body string
		typ  string
		host string // the integration option host
		keys map[string]string
	}{
		{
			name: "data center event key from the body", file: "dc.pr_opened.http", typ: "pr:opened",
			body: `{"eventKey":"pr:opened","pullRequest":{"id":3}}`, keys: map[string]string{"pull_request": "3"},
		},
		{
			name: "cloud branch deleted", file: "cloud.repo_push.http", key: "repo:push", typ: "repo:push",
			body: `{"push":{"changes":[{"old":{"type":"branch","name":"gone","target":{"hash":"abc"}},"new":null,"closed":true}]},"repository":{"full_name":"a/b"}}`,
			keys: map[string]string{"host": "bitbucket.org", "repo_path": "a/b", "owner": "a", "repo_name": "b", "ref": "refs/heads/gone"},
		},
		{
			name: "cloud tag", file: "cloud.repo_push.http", key: "repo:push", typ: "repo:push",
			body: `{"push":{"changes":[{"new":{"type":"tag","name":"v1","target":{"hash":"abc"}}}]}}`,
			keys: map[string]string{"host": "bitbucket.org", "ref": "refs/tags/v1", "sha": "abc"},
		},
		{
			name: "data center branch deleted", file: "dc.repo_refs_changed.http", key: "repo:refs_changed", typ: "repo:refs_changed",
			body: `{"changes":[{"refId":"refs/heads/gone","fromHash":"abc","toHash":"0000000000000000000000000000000000000000","type":"DELETE"}]}`,
			keys: map[string]string{"ref": "refs/heads/gone"},
		},
		{
			name: "unknown event keeps type and payload", file: "cloud.repo_push.http", key: "repo:future_thing", typ: "repo:future_thing",
			body: `{"future":[1,{"x":null}],"repository":{"full_name":"a/b","project":"not an object"}}`,
			keys: map[string]string{"host": "bitbucket.org", "repo_path": "a/b", "owner": "a", "repo_name": "b"},
		},
		{
			name: "data center host from the repository's self link", file: "dc.repo_refs_changed.http", key: "repo:refs_changed", typ: "repo:refs_changed",
			body: `{"repository":{"slug":"r","project":{"key":"P"},"links":{"self":[null,{"href":"https://Bitbucket.Corp.Example/projects/P/repos/r/browse"}]}}}`,
			keys: map[string]string{"host": "bitbucket.corp.example", "repo_path": "P/r", "owner": "P", "repo_name": "r"},
		},
		{
			name: "data center host from the pull request's self link", file: "dc.pr_opened.http", key: "pr:opened", typ: "pr:opened",
			body: `{"pullRequest":{"id":4,"toRef":{"repository":{"slug":"r","project":{"key":"P"}}},"links":{"self":[{"href":"http://bitbucket.corp.example:7990/projects/P/repos/r/pull-requests/4"}]}}}`,
			keys: map[string]string{"host": "bitbucket.corp.example:7990", "repo_path": "P/r", "owner": "P", "repo_name": "r", "pull_request": "4"},
		},
		{
			name: "data center host from the integration option", file: "dc.repo_refs_changed.http", key: "repo:refs_changed", typ: "repo:refs_changed", host: "BB.Corp.Example",
			body: `{"repository":{"slug":"r","project":{"key":"P"},"links":{"self":[{"href":"https://other.example/projects/P/repos/r/browse"}]}}}`,
			keys: map[string]string{"host": "bb.corp.example", "repo_path": "P/r", "owner": "P", "repo_name": "r"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := load(t, tt.file)
			if tt.key == "" {
				req.Header.Del("X-Event-Key")
			} else {
				req.Header.Set("X-Event-Key", tt.key)
			}
			req.Body = []byte(tt.body)
			if tt.host != "" {
				req.Options[bitbucket.OptionHost] = tt.host
			}
			ev, err := bitbucket.Source{}.Parse(req)
			require.NoError(t, err)
			require.Equal(t, tt.typ, ev.Type)
			require.Equal(t, tt.keys, ev.Keys)
			require.Equal(t, tt.body, string(ev.Payload))
		})
	}
}

func FuzzVerify(f *testing.F) {
	for _, name := range []string{"cloud.repo_push.http", "dc.pr_opened.http"} {
		req := load(f, name)
		f.Add(req.Body, req.Header.Get("X-Hub-Signature"), []byte(secret))
	}
	f.Add([]byte{}, "sha256=", []byte{})
	f.Fuzz(func(t *testing.T, body []byte, sig string, key []byte) {
		req := &hook.Request{Header: http.Header{"X-Hub-Signature": {sig}}, Body: body, Secrets: [][]byte{key}}
		if err := (bitbucket.Source{}).Verify(req); err == nil {
			require.Equal(t, hooktest.Sign(string(key), body), strings.ToLower(sig))
		}
		req.Header.Set("X-Hub-Signature", hooktest.Sign(string(key), body))
		req.Secrets = [][]byte{append(bytes.Clone(key), 'x')}
		require.Error(t, bitbucket.Source{}.Verify(req))
	})
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"cloud.repo_push.http", "cloud.pullrequest_created.http", "dc.repo_refs_changed.http", "dc.pr_opened.http"} {
		req := load(f, name)
		f.Add(req.Body, req.Header.Get("X-Event-Key"))
	}
	f.Fuzz(func(t *testing.T, body []byte, key string) {
		req := &hook.Request{Header: http.Header{"X-Event-Key": {key}, "X-Request-Id": {"d"}}, Body: body}
		ev, err := bitbucket.Source{}.Parse(req)
		if err != nil {
			hooktest.RequireStatus(t, err, http.StatusBadRequest)
			return
		}
		require.NotEmpty(t, ev.Type)
		require.True(t, json.Valid(ev.Payload))
		for k, v := range ev.Keys {
			require.NotEmpty(t, v, "key %s", k)
		}
	})
}

func TestWithoutDeliveryHeaderTheBodyIsTheID(t *testing.T) {
	t.Parallel()
	hooktest.RequireBodyDeliveryID(t, bitbucket.Source{}, load, "cloud.repo_push.http", nil, "X-Request-UUID")
	hooktest.RequireBodyDeliveryID(t, bitbucket.Source{}, load, "dc.pr_opened.http", nil, "X-Request-Id")
}
