package gitlab_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/gitlab"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/hook/hooktest"
)

// token is the secret token of the webhook that sent the recorded deliveries.
const token = "glwt-5c0ff33-t0ken"

// load reads a recorded delivery from testdata.
func load(t testing.TB, name string) *hook.Request {
	return hooktest.Load(t, name, token)
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
			file: "push.http", typ: "push", delivery: "5f1c8a0e-3b7d-4e2a-9c61-0d8e2f4a7b10",
			keys: map[string]string{"host": "gitlab.example.com", "repo_path": "mike/diaspora", "owner": "mike", "repo_name": "diaspora", "project_id": "15", "ref": "refs/heads/master", "sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"},
		},
		{
			file: "tag_push.http", typ: "tag_push", delivery: "7a0e4d2c-1f3b-4c5d-8e9f-a0b1c2d3e4f5",
			keys: map[string]string{"host": "gitlab.example.com", "repo_path": "jsmith/example", "owner": "jsmith", "repo_name": "example", "project_id": "1", "ref": "refs/tags/v1.0.0", "sha": "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7"},
		},
		{
			file: "merge_request.open.http", typ: "merge_request", action: "open", delivery: "0c9e8d7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f",
			keys: map[string]string{"host": "gitlab.example.com",
				"repo_path": "gitlabhq/gitlab-test", "owner": "gitlabhq", "repo_name": "gitlab-test", "project_id": "1", "pull_request": "1",
				"sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
			},
		},
		{
			file: "merge_request.merge.http", typ: "merge_request", action: "merge", delivery: "1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a",
			keys: map[string]string{"host": "gitlab.example.com",
				"repo_path": "gitlabhq/gitlab-test", "owner": "gitlabhq", "repo_name": "gitlab-test", "project_id": "1", "pull_request": "1",
				"sha": "b83d6e391c22777fca1ed3012fce84f633d7fed0",
			},
		},
		{
			file: "issue.open.http", typ: "issue", action: "open", delivery: "2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b",
			keys: map[string]string{"host": "gitlab.example.com", "repo_path": "gitlabhq/gitlab-test", "owner": "gitlabhq", "repo_name": "gitlab-test", "project_id": "1", "issue": "23"},
		},
		{
			file: "note.merge_request.http", typ: "note", action: "create", delivery: "3f4a5b6c-7d8e-4f9a-0b1c-2d3e4f5a6b7c",
			keys: map[string]string{"host": "gitlab.example.com", "repo_path": "gitlabhq/gitlab-test", "owner": "gitlabhq", "repo_name": "gitlab-test", "project_id": "5", "pull_request": "1"},
		},
		{
			file: "pipeline.success.http", typ: "pipeline", action: "success", delivery: "4a5b6c7d-8e9f-4a0b-1c2d-3e4f5a6b7c8d",
			keys: map[string]string{"host": "gitlab.example.com",
				"repo_path": "gitlab-org/gitlab-test", "owner": "gitlab-org", "repo_name": "gitlab-test", "project_id": "1", "pipeline": "31", "pull_request": "1",
				"ref": "refs/heads/master", "sha": "bcbb5ec396a2c0f828686f14fac9b80b780504f2",
			},
		},
		{
			file: "build.created.http", typ: "build", action: "created", delivery: "5b6c7d8e-9f0a-4b1c-2d3e-4f5a6b7c8d9e",
			keys: map[string]string{"host": "gitlab.example.com",
				"repo_path": "gitlab-org/gitlab-test", "owner": "gitlab-org", "repo_name": "gitlab-test", "project_id": "380", "pipeline": "2366", "job": "1977",
				"ref": "refs/heads/gitlab-script-trigger", "sha": "2293ada6b400935a1378653304eaf6221e0fdb8f", "environment": "staging",
			},
		},
		{
			file: "deployment.success.http", typ: "deployment", action: "success", delivery: "6c7d8e9f-0a1b-4c2d-3e4f-5a6b7c8d9e0f",
			keys: map[string]string{"host": "gitlab.example.com", "repo_path": "root/test-deployment-webhooks", "owner": "root", "repo_name": "test-deployment-webhooks", "project_id": "30", "deployment": "15", "environment": "staging"},
		},
		{
			file: "release.create.http", typ: "release", action: "create", delivery: "7d8e9f0a-1b2c-4d3e-4f5a-6b7c8d9e0f1a",
			keys: map[string]string{"host": "gitlab.example.com", "repo_path": "root/release-webhook-example", "owner": "root", "repo_name": "release-webhook-example", "project_id": "2", "tag": "v1.1", "sha": "ee0a3fb31ac16e11b9dbb596ad16d4af654d08f8"},
		},
		{
			file: "system.project_create.http", typ: "project_create", delivery: "8e9f0a1b-2c3d-4e4f-5a6b-7c8d9e0f1a2b",
			keys: map[string]string{"host": "gitlab.example.com", "repo_path": "jsmith/storecloud", "owner": "jsmith", "repo_name": "storecloud", "project_id": "74"},
		},
		{
			file: "system.merge_request.http", typ: "merge_request", action: "open", delivery: "9f0a1b2c-3d4e-4f5a-6b7c-8d9e0f1a2b3c",
			keys: map[string]string{"host": "gitlab.example.com",
				"repo_path": "example/example", "owner": "example", "repo_name": "example", "project_id": "1", "pull_request": "4",
				"sha": "ba3e0d8ff79c80d5b0bbb4f3e2e343e0aaa662b7",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			req := load(t, tt.file)
			require.NoError(t, gitlab.Source{}.Verify(req))
			ev, err := gitlab.Source{}.Parse(req)
			require.NoError(t, err)
			require.Equal(t, gitlab.Name, ev.Source)
			require.Equal(t, tt.typ, ev.Type)
			require.Equal(t, tt.action, ev.Action)
			require.Equal(t, tt.delivery, ev.DeliveryID)
			require.Equal(t, tt.keys, ev.Keys)
			require.Equal(t, req.Header.Get("X-Gitlab-Event"), ev.Meta["x-gitlab-event"])
			require.Equal(t, "https://gitlab.example.com", ev.Meta["x-gitlab-instance"])
			require.Equal(t, string(req.Body), string(ev.Payload))
			hooktest.RequireHidden(t, ev, token) // the token must never reach the event
		})
	}
}

func TestDeliveryID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		drop []string
		want string
		body bool
	}{
		{name: "idempotency key first", want: "5f1c8a0e-3b7d-4e2a-9c61-0d8e2f4a7b10"},
		{name: "event UUID before GitLab 17.4", drop: []string{"Idempotency-Key"}, want: "13792a34-cac6-4fda-95a8-c58e00a3954e"},
		{name: "webhook UUID last", drop: []string{"Idempotency-Key", "X-Gitlab-Event-UUID"}, want: "02affd2d-2cba-4033-917d-ec22d5dc4b38"},
		{name: "none: the body's hash", drop: []string{"Idempotency-Key", "X-Gitlab-Event-UUID", "X-Gitlab-Webhook-UUID"}, body: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := load(t, "push.http")
			for _, h := range tt.drop {
				req.Header.Del(h)
			}
			ev, err := gitlab.Source{}.Parse(req)
			require.NoError(t, err)
			if tt.body {
				tt.want = hook.BodyDeliveryID(req.Body)
			}
			require.Equal(t, tt.want, ev.DeliveryID)
		})
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	tests := []hooktest.VerifyCase{
		{Name: "recorded token", Mutate: func(*hook.Request) {}},
		{Name: "missing token", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Del("X-Gitlab-Token") }},
		{Name: "wrong token", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Set("X-Gitlab-Token", "glwt-5c0ff33-t0keN") }},
		{Name: "prefix of the token", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Set("X-Gitlab-Token", token[:5]) }},
		{Name: "token plus suffix", WantErr: true, Mutate: func(r *hook.Request) { r.Header.Set("X-Gitlab-Token", token+" ") }},
		{Name: "no secret configured", WantErr: true, Mutate: func(r *hook.Request) { r.Secrets = nil }},
		{Name: "empty secret configured", WantErr: true, Mutate: func(r *hook.Request) {
			r.Secrets = [][]byte{{}}
			r.Header.Set("X-Gitlab-Token", "")
		}},
		{Name: "rotation: new token", Mutate: func(r *hook.Request) {
			r.Secrets = [][]byte{[]byte("new-token"), []byte(token)}
			r.Header.Set("X-Gitlab-Token", "new-token")
		}},
		{Name: "rotation: old token", Mutate: func(r *hook.Request) { r.Secrets = [][]byte{[]byte("new-token"), []byte(token)} }},
		{Name: "rotation: neither", WantErr: true, Mutate: func(r *hook.Request) { r.Secrets = [][]byte{[]byte("new-token"), []byte("old-token")} }},
		// The token authenticates the sender, not the body: a tampered body
		// still verifies, which is why GitLab integrations must be HTTPS only.
		{Name: "tampered body, token intact", Mutate: func(r *hook.Request) { r.Body = []byte(`{"object_kind":"push"}`) }},
		{Name: "empty body", Mutate: func(r *hook.Request) { r.Body = nil }},
	}
	hooktest.RunVerify(t, gitlab.Source{}, load, "push.http", tests, token)
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []hooktest.ParseErrorCase{
		{Name: "empty body", Code: "malformed_json", Mutate: func(r *hook.Request) { r.Body = nil }},
		{Name: "truncated JSON", Code: "malformed_json", Mutate: func(r *hook.Request) { r.Body = r.Body[:len(r.Body)/2] }},
		{Name: "JSON array", Code: "malformed_json", Mutate: func(r *hook.Request) { r.Body = []byte(`[]`) }},
		{Name: "no type anywhere", Code: "missing_event_type", Mutate: func(r *hook.Request) {
			r.Header.Del("X-Gitlab-Event")
			r.Body = []byte(`{"project":{"id":1}}`)
		}},
	}
	hooktest.RunParseErrors(t, gitlab.Source{}, load, "push.http", tests, token)
}

func TestParseEdgeCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string
		body   string
		typ    string
		action string
		keys   map[string]string
	}{
		{
			name: "type from header when the body has none", header: "Merge Request Hook",
			body: `{"project":{"path_with_namespace":"g/p"}}`, typ: "merge_request", keys: map[string]string{"repo_path": "g/p", "owner": "g", "repo_name": "p"},
		},
		{
			name: "branch deleted: no sha", header: "Push Hook", typ: "push",
			body: `{"object_kind":"push","ref":"refs/heads/gone","before":"95790bf891e76fee5e1747ab589903a6a1f80f22","after":"0000000000000000000000000000000000000000","checkout_sha":null,"project_id":3}`,
			keys: map[string]string{"ref": "refs/heads/gone", "project_id": "3"},
		},
		{
			name: "tag pipeline gets a tag ref", header: "Pipeline Hook", typ: "pipeline", action: "running",
			body: `{"object_kind":"pipeline","object_attributes":{"id":7,"ref":"v2.0","tag":true,"sha":"abc","status":"running"}}`,
			keys: map[string]string{"pipeline": "7", "ref": "refs/tags/v2.0", "sha": "abc"},
		},
		{
			name: "unexpected field types keep the rest", header: "Issue Hook", typ: "issue", action: "close",
			body: `{"object_kind":"issue","project":{"id":"one","path_with_namespace":"g/p"},"object_attributes":{"iid":5,"action":"close"}}`,
			keys: map[string]string{"repo_path": "g/p", "owner": "g", "repo_name": "p", "issue": "5"},
		},
		{
			name: "unknown kind keeps type and payload", header: "Emoji Hook", typ: "emoji", action: "award",
			body: `{"object_kind":"emoji","event_type":"award","object_attributes":{"name":"thumbsup","action":"award"},"project":{"id":9,"path_with_namespace":"g/p"}}`,
			keys: map[string]string{"repo_path": "g/p", "owner": "g", "repo_name": "p", "project_id": "9"},
		},
		{
			name: "host from the project's web URL", header: "Merge Request Hook", typ: "merge_request",
			body: `{"object_kind":"merge_request","project":{"id":9,"path_with_namespace":"g/s/p","web_url":"https://GitLab.Corp.Example:443/g/s/p"},"object_attributes":{"iid":3}}`,
			keys: map[string]string{"host": "gitlab.corp.example", "repo_path": "g/s/p", "owner": "g/s", "repo_name": "p", "project_id": "9", "pull_request": "3"},
		},
		{
			name: "host from the repository's homepage", header: "Push Hook", typ: "push",
			body: `{"object_kind":"push","ref":"refs/heads/main","after":"abc","project_id":3,"repository":{"homepage":"http://gitlab.corp.example:8080/g/p"}}`,
			keys: map[string]string{"host": "gitlab.corp.example:8080", "project_id": "3", "ref": "refs/heads/main", "sha": "abc"},
		},
		{
			name: "host from the project's web URL", header: "Merge Request Hook", typ: "merge_request",
			body: `{"object_kind":"merge_request","project":{"id":9,"path_with_namespace":"g/s/p","web_url":"https://GitLab.Corp.Example:443/g/s/p"},"object_attributes":{"iid":3}}`,
			keys: map[string]string{"host": "gitlab.corp.example", "repo_path": "g/s/p", "owner": "g/s", "repo_name": "p", "project_id": "9", "pull_request": "3"},
		},
		{
			name: "host from the repository's homepage", header: "Push Hook", typ: "push",
			body: `{"object_kind":"push","ref":"refs/heads/main","after":"abc","project_id":3,"repository":{"homepage":"http://gitlab.corp.example:8080/g/p"}}`,
			keys: map[string]string{"host": "gitlab.corp.example:8080", "project_id": "3", "ref": "refs/heads/main", "sha": "abc"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := load(t, "push.http")
			req.Header.Set("X-Gitlab-Event", tt.header)
			req.Header.Del("X-Gitlab-Instance") // GitLab before 15.5: the host comes from the body
			req.Body = []byte(tt.body)
			ev, err := gitlab.Source{}.Parse(req)
			require.NoError(t, err)
			require.Equal(t, tt.typ, ev.Type)
			require.Equal(t, tt.action, ev.Action)
			require.Equal(t, tt.keys, ev.Keys)
			require.Equal(t, tt.body, string(ev.Payload))
		})
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(token, []byte(token))
	f.Add("", []byte{})
	f.Add("a", []byte("b"))
	f.Fuzz(func(t *testing.T, sent string, secret []byte) {
		req := &hook.Request{Header: http.Header{"X-Gitlab-Token": {sent}}, Secrets: [][]byte{secret}}
		if err := (gitlab.Source{}).Verify(req); err == nil {
			require.Equal(t, string(secret), sent)
			require.NotEmpty(t, sent)
		}
		req.Header.Set("X-Gitlab-Token", string(secret))
		req.Secrets = [][]byte{append(bytes.Clone(secret), 'x')}
		require.Error(t, gitlab.Source{}.Verify(req))
	})
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"push.http", "merge_request.open.http", "pipeline.success.http", "build.created.http", "release.create.http", "system.project_create.http"} {
		req := load(f, name)
		f.Add(req.Body, req.Header.Get("X-Gitlab-Event"))
	}
	f.Add([]byte(`{"tag":{"x":1},"environment":[1],"commit":{"id":{}}}`), "")
	f.Fuzz(func(t *testing.T, body []byte, event string) {
		req := &hook.Request{Header: http.Header{"X-Gitlab-Event": {event}, "Idempotency-Key": {"k"}}, Body: body}
		ev, err := gitlab.Source{}.Parse(req)
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
