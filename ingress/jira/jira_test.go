package jira_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/hook/hooktest"
	"github.com/hookflow/hookflow/ingress/jira"
)

// secret signs every recorded Jira Cloud delivery in testdata.
const secret = "jira-whs-61c0ffee"

// load reads a recorded delivery from testdata.
func load(t testing.TB, name string) *hook.Request {
	return hooktest.Load(t, name, secret)
}

func TestParseRecorded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file     string
		options  map[string]string
		typ      string
		action   string
		delivery string
		keys     map[string]string
		meta     map[string]string
	}{
		{
			file: "cloud.issue_created.http", typ: "jira:issue_created", action: "created",
			delivery: "1d6f2a8c-4b3e-4a9d-8c7f-0e5b2a1d9c43",
			keys:     map[string]string{"host": "acme.atlassian.net", "issue": "SP-4", "issue_id": "10003", "project": "SP", "project_id": "10000"},
			meta:     map[string]string{"issue_event_type": "issue_created"},
		},
		{
			file: "cloud.issue_updated.http", typ: "jira:issue_updated", action: "updated",
			delivery: "7a3e9c1b-2f4d-4e6a-b8c0-9d1e3f5a7b62",
			keys:     map[string]string{"host": "acme.atlassian.net", "issue": "SP-4", "issue_id": "10003", "project": "SP", "project_id": "10000"},
			meta:     map[string]string{"issue_event_type": "issue_generic"},
		},
		{
			file: "cloud.issue_deleted.http", typ: "jira:issue_deleted", action: "deleted",
			delivery: "4c8b0d2e-6a1f-4b3c-9e7d-5f0a2c4e6b81",
			keys:     map[string]string{"issue": "SP-8", "issue_id": "10007", "project": "SP", "project_id": "10000"},
			meta:     map[string]string{"issue_event_type": "issue_deleted"},
		},
		{
			file: "cloud.comment_created.http", typ: "comment_created", action: "created",
			delivery: "9b1d3f5a-7c2e-4d8f-a0b6-1e3c5a7d9f24",
			keys:     map[string]string{"host": "acme.atlassian.net", "issue": "SP-4", "issue_id": "10003", "project": "SP", "project_id": "10000"},
		},
		{
			file: "cloud.sprint_started.http", typ: "sprint_started", action: "started",
			delivery: "2e4a6c8d-0f1b-4c3d-8e5f-7a9b1c3d5e06", keys: map[string]string{"host": "acme.atlassian.net", "sprint": "5"},
		},
		{
			file: "cloud.version_released.http", typ: "jira:version_released", action: "released",
			delivery: "5f7b9d1e-3a2c-4e4f-b6a8-0c2e4a6b8d17", keys: map[string]string{"host": "acme.atlassian.net", "version": "10010", "project_id": "10000"},
		},
		{
			// Data Center without a secret: the integration URL is the secret,
			// and the delivery ID comes from the body.
			file: "dc.issue_updated.http", options: map[string]string{jira.OptionAuth: jira.AuthURL},
			typ: "jira:issue_updated", action: "updated", delivery: "1727692800555-jira:issue_updated-issue-20418",
			keys: map[string]string{"host": "jira.corp.example", "issue": "CHG-112", "issue_id": "20418", "project": "CHG", "project_id": "10200"},
			meta: map[string]string{"issue_event_type": "issue_assigned"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			req := load(t, tt.file)
			if tt.options != nil {
				req.Options = tt.options
			}
			require.NoError(t, jira.Source{}.Verify(req))
			ev, err := jira.Source{}.Parse(req)
			require.NoError(t, err)
			require.Equal(t, jira.Name, ev.Source)
			require.Equal(t, tt.typ, ev.Type)
			require.Equal(t, tt.action, ev.Action)
			require.Equal(t, tt.delivery, ev.DeliveryID)
			require.Equal(t, tt.keys, ev.Keys)
			require.Equal(t, tt.meta, ev.Meta)
			require.Equal(t, string(req.Body), string(ev.Payload))
			hooktest.RequireHidden(t, ev, secret)
			if sig := req.Header.Get("X-Hub-Signature"); sig != "" {
				hooktest.RequireHidden(t, ev, strings.TrimPrefix(sig, "sha256="))
			}
		})
	}
}

func TestDeliveryIDFromBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want string
	}{
		{file: "cloud.issue_created.http", want: "1727688645123-jira:issue_created-issue-10003"},
		{file: "cloud.comment_created.http", want: "1727690400789-comment_created-comment-10045"},
		{file: "cloud.sprint_started.http", want: "1727683200000-sprint_started-sprint-5"},
		{file: "cloud.version_released.http", want: "1727701200000-jira:version_released-version-10010"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			req := load(t, tt.file)
			req.Header.Del("X-Atlassian-Webhook-Identifier")
			ev, err := jira.Source{}.Parse(req)
			require.NoError(t, err)
			require.Equal(t, tt.want, ev.DeliveryID)
		})
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	body := load(t, "cloud.issue_updated.http").Body
	tests := []hooktest.VerifyCase{
		{Name: "recorded signature", Mutate: func(*hook.Request) {}},
		{Name: "method in upper case", Mutate: func(r *hook.Request) {
			r.Header.Set("X-Hub-Signature", "SHA256="+strings.TrimPrefix(hooktest.Sign(secret, body), "sha256="))
		}},
		{Name: "missing signature", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Del("X-Hub-Signature") }},
		{Name: "missing signature, auth=url", Mutate: func(r *hook.Request) {
			r.Header.Del("X-Hub-Signature")
			r.Options[jira.OptionAuth] = jira.AuthURL
		}},
		{Name: "other auth option still needs a signature", WantErr: true, Mutate: func(r *hook.Request) {
			r.Header.Del("X-Hub-Signature")
			r.Options[jira.OptionAuth] = "URL"
		}},
		{Name: "unsupported method", WantErr: true, Mutate: func(r *hook.Request) {
			r.Header.Set("X-Hub-Signature", "sha1="+strings.TrimPrefix(hooktest.Sign(secret, body), "sha256="))
		}},
		{Name: "no method", WantErr: true, Mutate: func(r *hook.Request) {
			r.Header.Set("X-Hub-Signature", strings.TrimPrefix(hooktest.Sign(secret, body), "sha256="))
		}},
		{Name: "wrong secret", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Set("X-Hub-Signature", hooktest.Sign("wrong", body)) }},
		{Name: "no secret configured", WantErr: true, Mutate: func(r *hook.Request) { r.Secrets = nil }},
		{Name: "empty body", WantErr: true, Mutate: func(r *hook.Request) { r.Body = nil }},
		{Name: "tampered body", WantErr: true, Mutate: func(r *hook.Request) {
			r.Body = bytes.Replace(bytes.Clone(r.Body), []byte(`"SP-4"`), []byte(`"SP-5"`), 1)
		}},
		{Name: "rotation: new secret", Mutate: func(r *hook.Request) {
			r.Secrets = [][]byte{[]byte("new"), []byte(secret)}
			r.Header.Set("X-Hub-Signature", hooktest.Sign("new", body))
		}},
		{Name: "rotation: old secret", Mutate: func(r *hook.Request) { r.Secrets = [][]byte{[]byte("new"), []byte(secret)} }},
		{Name: "rotation: neither", WantErr: true, Mutate: func(r *hook.Request) { r.Secrets = [][]byte{[]byte("new"), []byte("old")} }},
	}
	hooktest.RunVerify(t, jira.Source{}, load, "cloud.issue_updated.http", tests, secret)
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []hooktest.ParseErrorCase{
		{Name: "empty body", Code: "malformed_json", Mutate: func(r *hook.Request) { r.Body = nil }},
		{Name: "truncated JSON", Code: "malformed_json", Mutate: func(r *hook.Request) { r.Body = r.Body[:len(r.Body)/2] }},
		{Name: "JSON array", Code: "malformed_json", Mutate: func(r *hook.Request) { r.Body = []byte(`[]`) }},
		{Name: "no webhookEvent", Code: "missing_event_type", Mutate: func(r *hook.Request) { r.Body = []byte(`{"timestamp":1}`) }},
	}
	hooktest.RunParseErrors(t, jira.Source{}, load, "cloud.issue_created.http", tests, secret)
}

func TestParseEdgeCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string
		typ    string
		action string
		keys   map[string]string
	}{
		{
			name: "IDs as numbers or strings", typ: "jira:issue_updated", action: "updated",
			body: `{"webhookEvent":"jira:issue_updated","issue":{"id":10003,"key":"SP-4","fields":{"project":{"id":10000,"key":"SP"}}}}`,
			keys: map[string]string{"issue": "SP-4", "issue_id": "10003", "project": "SP", "project_id": "10000"},
		},
		{
			name: "unexpected types keep the rest", typ: "jira:issue_updated", action: "updated",
			body: `{"webhookEvent":"jira:issue_updated","timestamp":"soon","issue":{"id":{"x":1},"key":"SP-4"}}`,
			keys: map[string]string{"issue": "SP-4"},
		},
		{
			name: "project event", typ: "project_created", action: "created",
			body: `{"timestamp":1,"webhookEvent":"project_created","project":{"id":10300,"key":"NEW","name":"New"}}`,
			keys: map[string]string{"project": "NEW", "project_id": "10300"},
		},
		{
			name: "unknown event keeps type and payload", typ: "jira:something", action: "",
			body: `{"webhookEvent":"jira:something","future":[true]}`, keys: map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := load(t, "cloud.issue_created.http")
			req.Body = []byte(tt.body)
			ev, err := jira.Source{}.Parse(req)
			require.NoError(t, err)
			require.Equal(t, tt.typ, ev.Type)
			require.Equal(t, tt.action, ev.Action)
			require.Equal(t, tt.keys, ev.Keys)
			require.Equal(t, tt.body, string(ev.Payload))
		})
	}
}

func FuzzVerify(f *testing.F) {
	req := load(f, "cloud.issue_created.http")
	f.Add(req.Body, req.Header.Get("X-Hub-Signature"), []byte(secret))
	f.Add([]byte{}, "sha256=", []byte{})
	f.Add([]byte("{}"), "=", []byte("k"))
	f.Fuzz(func(t *testing.T, body []byte, sig string, key []byte) {
		req := &hook.Request{Header: http.Header{"X-Hub-Signature": {sig}}, Body: body, Secrets: [][]byte{key}, Options: map[string]string{}}
		if err := (jira.Source{}).Verify(req); err == nil {
			require.Equal(t, hooktest.Sign(string(key), body), strings.ToLower(sig))
		}
		req.Header.Set("X-Hub-Signature", hooktest.Sign(string(key), body))
		req.Secrets = [][]byte{append(bytes.Clone(key), 'x')}
		require.Error(t, jira.Source{}.Verify(req))
	})
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"cloud.issue_updated.http", "cloud.comment_created.http", "cloud.sprint_started.http", "cloud.version_released.http", "dc.issue_updated.http"} {
		f.Add(load(f, name).Body, "")
	}
	f.Add([]byte(`{"webhookEvent":"x","timestamp":1,"sprint":{"id":1e999}}`), "id")
	f.Fuzz(func(t *testing.T, body []byte, identifier string) {
		req := &hook.Request{Header: http.Header{}, Body: body}
		if identifier != "" {
			req.Header.Set("X-Atlassian-Webhook-Identifier", identifier)
		}
		ev, err := jira.Source{}.Parse(req)
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

func TestWithoutIdentifierOrTimestampTheBodyIsTheID(t *testing.T) {
	t.Parallel()
	hooktest.RequireBodyDeliveryID(t, jira.Source{}, load, "cloud.issue_created.http", func(r *hook.Request) {
		r.Body = []byte(`{"webhookEvent":"jira:issue_created","issue":{"id":"1"}}`)
	}, "X-Atlassian-Webhook-Identifier")
}
