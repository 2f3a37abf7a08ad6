package workflows_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/bitbucket"
	"github.com/hookflow/hookflow/ingress/github"
	"github.com/hookflow/hookflow/ingress/gitlab"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/jira"
	"github.com/hookflow/hookflow/ingress/servicenow"
	"github.com/hookflow/hookflow/workflows"
)

// The views are tested over the deliveries the senders' tests record
// (ingress/<source>/testdata), parsed by the senders themselves: what a
// blueprint gets is what production builds.

var sources = map[string]hook.Source{
	workflows.SourceGitHub:     github.Source{},
	workflows.SourceGitLab:     gitlab.Source{},
	workflows.SourceBitbucket:  bitbucket.Source{},
	workflows.SourceJira:       jira.Source{},
	workflows.SourceServiceNow: servicenow.Source{},
}

// recorded parses ingress/<source>/testdata/<file> with the source.
func recorded(t testing.TB, source, file string) workflows.Event {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "ingress", source, "testdata", file))
	require.NoError(t, err)
	head, body, ok := bytes.Cut(raw, []byte("\n\n"))
	require.True(t, ok, "%s: no blank line after the headers", file)
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(append(head, "\n\n"...))))
	require.NoError(t, err)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	ev, err := sources[source].Parse(&hook.Request{Header: r.Header, Body: body, ContentType: ct, Options: map[string]string{}})
	require.NoError(t, err)
	return ev
}

func TestPullRequestOfRecordedDeliveries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		source, file string
		want         workflows.PullRequest
	}{
		{source: "github", file: "pull_request.opened.http", want: workflows.PullRequest{
			Provider: "github", Host: "github.com", Owner: "Codertocat", Repo: "Hello-World", Number: 2,
			Title: "Update the README with new information.", Branch: "changes", Base: "master",
			HeadSHA: "ec26c3e57ca3a959ca5aad62de7213c562f8c821", Author: "Codertocat", State: "open",
			URL: "https://github.com/Codertocat/Hello-World/pull/2",
		}},
		{source: "github", file: "pull_request.closed.http", want: workflows.PullRequest{
			Provider: "github", Host: "github.com", Owner: "Octocoders", Repo: "Hello-World", Number: 2,
			Title: "Update the README with new information.", Branch: "changes", Base: "master",
			HeadSHA: "34c5c7793cb3b279e22454cb6750c80560547b3a", Author: "Codertocat", State: "merged", Merged: true,
			URL: "https://github.com/Octocoders/Hello-World/pull/2",
		}},
		{source: "github", file: "ghes.pull_request.opened.http", want: workflows.PullRequest{
			Provider: "github", Host: "ghe.corp.example", Owner: "platform", Repo: "payments", Number: 57,
			Title: "Retry settlement on 503", Branch: "retry-503", Base: "main",
			HeadSHA: "1f0c3f5d2b8e4a6c9d7e0a1b2c3d4e5f60718293", Author: "jdoe", State: "open",
			URL: "https://ghe.corp.example/platform/payments/pull/57",
		}},
		{source: "gitlab", file: "merge_request.open.http", want: workflows.PullRequest{
			// The acting user (root, id 1) is not the author (id 51): GitLab
			// names the author by ID only.
			Provider: "gitlab", Host: "gitlab.example.com", Owner: "gitlabhq", Repo: "gitlab-test", Number: 1,
			Title: "MS-Viewport", Branch: "ms-viewport", Base: "master",
			HeadSHA: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", AuthorID: "51", State: "open",
			URL: "http://example.com/diaspora/merge_requests/1",
		}},
		{source: "gitlab", file: "merge_request.merge.http", want: workflows.PullRequest{
			Provider: "gitlab", Host: "gitlab.example.com", Owner: "gitlabhq", Repo: "gitlab-test", Number: 1,
			Title: "MS-Viewport", Branch: "ms-viewport", Base: "master",
			HeadSHA: "b83d6e391c22777fca1ed3012fce84f633d7fed0", State: "merged", Merged: true,
		}},
		{source: "gitlab", file: "system.merge_request.http", want: workflows.PullRequest{
			Provider: "gitlab", Host: "gitlab.example.com", Owner: "example", Repo: "example", Number: 4,
			Branch: "ci-test", Base: "main", HeadSHA: "ba3e0d8ff79c80d5b0bbb4f3e2e343e0aaa662b7", State: "open",
		}},
		{source: "bitbucket", file: "cloud.pullrequest_created.http", want: workflows.PullRequest{
			Provider: "bitbucket", Host: "bitbucket.org", Owner: "acme", Repo: "payments", Number: 42,
			Title: "Retry settlement on 503", Branch: "feature/retry-503", Base: "main", HeadSHA: "d3b5f4a1c2e0",
			Author: "Emma", State: "open", URL: "https://bitbucket.org/acme/payments/pull-requests/42",
		}},
		{source: "bitbucket", file: "cloud.pullrequest_fulfilled.http", want: workflows.PullRequest{
			Provider: "bitbucket", Host: "bitbucket.org", Owner: "acme", Repo: "payments", Number: 42,
			Title: "Retry settlement on 503", Branch: "feature/retry-503", Base: "main", HeadSHA: "d3b5f4a1c2e0",
			State: "merged", Merged: true,
		}},
		{source: "bitbucket", file: "dc.pr_opened.http", want: workflows.PullRequest{
			// The recorded payload's self link is null: no host.
			Provider: "bitbucket", Owner: "PROJ", Repo: "repository", Number: 1, Title: "a new file added",
			Branch: "a-branch", Base: "master", HeadSHA: "ef8755f06ee4b28c96a847a95cb8ec8ed6ddd1ca", Author: "admin", State: "open",
		}},
		{source: "bitbucket", file: "dc.pr_reviewer_approved.http", want: workflows.PullRequest{
			Provider: "bitbucket", Owner: "PROJ", Repo: "repository", Number: 1, Title: "a new file added",
			Branch: "a-branch", Base: "master", HeadSHA: "ef8755f06ee4b28c96a847a95cb8ec8ed6ddd1ca", State: "open",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.source+"/"+tt.file, func(t *testing.T) {
			t.Parallel()
			ev := recorded(t, tt.source, tt.file)
			got, err := workflows.PullRequestOfEvent(ev)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			// The view names the repository and number the keys route by.
			require.Equal(t, ev.Key(workflows.KeyRepoPath), got.Owner+"/"+got.Repo)
			require.Equal(t, ev.Key(workflows.KeyPullRequest), json.Number(itoa(got.Number)).String())
			// The bytes form gives the same answer, but for a host the
			// payload does not name.
			bytesForm, err := workflows.PullRequestOf(ev.Source, ev.Type, ev.Payload)
			require.NoError(t, err)
			bytesForm.Host = got.Host
			require.Equal(t, got, bytesForm)
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestPullRequestOfEdgeCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		source    string
		eventType string
		payload   string
		want      workflows.PullRequest
		err       string
	}{
		{
			name: "github closed without merging", source: "github", eventType: "pull_request",
			payload: `{"number":3,"pull_request":{"number":3,"state":"closed","merged":false},"repository":{"full_name":"o/r"}}`,
			want:    workflows.PullRequest{Provider: "github", Host: "github.com", Owner: "o", Repo: "r", Number: 3, State: "closed"},
		},
		{
			name: "github review event: merged_at says merged", source: "github", eventType: "pull_request_review",
			payload: `{"pull_request":{"number":3,"state":"closed","merged_at":"2024-01-01T00:00:00Z","draft":true,"base":{"ref":"main","repo":{"full_name":"o/r","name":"r","owner":{"login":"o"}}}}}`,
			want:    workflows.PullRequest{Provider: "github", Host: "github.com", Owner: "o", Repo: "r", Number: 3, Base: "main", State: "merged", Merged: true, Draft: true},
		},
		{
			name: "gitlab author is the acting user", source: "gitlab", eventType: "merge_request",
			payload: `{"user":{"id":7,"username":"ana"},"project":{"path_with_namespace":"g/s/p","web_url":"https://gl.example/g/s/p"},"object_attributes":{"iid":9,"author_id":7,"state":"locked","draft":true}}`,
			want:    workflows.PullRequest{Provider: "gitlab", Host: "gl.example", Owner: "g/s", Repo: "p", Number: 9, Author: "ana", AuthorID: "7", State: "open", Draft: true},
		},
		{
			name: "gitlab closed", source: "gitlab", eventType: "merge_request",
			payload: `{"project":{"path_with_namespace":"g/p"},"object_attributes":{"iid":9,"state":"closed"}}`,
			want:    workflows.PullRequest{Provider: "gitlab", Owner: "g", Repo: "p", Number: 9, State: "closed"},
		},
		{
			name: "bitbucket cloud declined", source: "bitbucket", eventType: "pullrequest:rejected",
			payload: `{"pullrequest":{"id":5,"state":"DECLINED","author":{"nickname":"emma","display_name":"Emma"},"destination":{"branch":{"name":"main"},"repository":{"full_name":"w/r"}}}}`,
			want:    workflows.PullRequest{Provider: "bitbucket", Host: "bitbucket.org", Owner: "w", Repo: "r", Number: 5, Base: "main", Author: "emma", State: "closed"},
		},
		{
			name: "bitbucket data center host from the repository link", source: "bitbucket", eventType: "pr:merged",
			payload: `{"pullRequest":{"id":5,"state":"MERGED","toRef":{"displayId":"main","repository":{"slug":"r","project":{"key":"P"},"links":{"self":[{"href":"https://bb.corp.example/projects/P/repos/r/browse"}]}}}}}`,
			want:    workflows.PullRequest{Provider: "bitbucket", Host: "bb.corp.example", Owner: "P", Repo: "r", Number: 5, Base: "main", State: "merged", Merged: true},
		},
		{name: "a push is not a pull request", source: "github", eventType: "push", payload: `{}`, err: "not of a kind"},
		{name: "jira is not a pull request", source: "jira", eventType: "pull_request", payload: `{}`, err: "not of a kind"},
		{name: "no pull_request object", source: "github", eventType: "pull_request", payload: `{"number":1}`, err: "no pull_request"},
		{name: "no number", source: "github", eventType: "pull_request", payload: `{"pull_request":{"title":"x"}}`, err: "no pull request number"},
		{name: "negative number", source: "bitbucket", eventType: "pullrequest:created", payload: `{"pullrequest":{"id":-1}}`, err: "no pull request number"},
		{name: "not an object", source: "gitlab", eventType: "merge_request", payload: `[1]`, err: "not a JSON object"},
		{name: "malformed", source: "gitlab", eventType: "merge_request", payload: `{"object_attributes":`, err: "unexpected end"},
		{name: "no payload", source: "github", eventType: "pull_request", payload: ``, err: "no payload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := workflows.PullRequestOf(tt.source, tt.eventType, []byte(tt.payload))
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				require.Zero(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestViewErrorsAreTyped(t *testing.T) {
	t.Parallel()
	_, err := workflows.PullRequestOfEvent(workflows.Event{Source: "github", Type: "push", Payload: []byte(`{}`)})
	require.ErrorIs(t, err, workflows.ErrNotThisView)
	_, err = workflows.PullRequestOfEvent(workflows.Event{Source: "github", Type: "pull_request"})
	require.ErrorIs(t, err, workflows.ErrNoPayload, "a payload held by reference must be read first")
	_, err = workflows.PushesOfEvent(workflows.Event{Source: "jira", Type: "push", Payload: []byte(`{}`)})
	require.ErrorIs(t, err, workflows.ErrNotThisView)
	_, err = workflows.DeploymentOfEvent(workflows.Event{Source: "gitlab", Type: "deployment", Payload: []byte(` `)})
	require.ErrorIs(t, err, workflows.ErrNoPayload)
	_, err = workflows.JiraIssueOfEvent(workflows.Event{Source: "jira", Type: "sprint_started", Payload: []byte(`{}`)})
	require.ErrorIs(t, err, workflows.ErrNotThisView)
	_, err = workflows.RecordOfEvent(workflows.Event{Source: "generic", Type: "incident", Payload: []byte(`{}`)})
	require.ErrorIs(t, err, workflows.ErrNotThisView)
}

func TestPullRequestOfEventPrefersTheHostKey(t *testing.T) {
	t.Parallel()
	// A GHES payload reduced to no URL names no host; the ingress read the
	// host from X-GitHub-Enterprise-Host.
	ev := workflows.Event{Source: "github", Type: "pull_request", Keys: map[string]string{workflows.KeyHost: "ghe.corp.example"},
		Payload: []byte(`{"pull_request":{"number":1,"state":"open"},"repository":{"full_name":"o/r"}}`)}
	pr, err := workflows.PullRequestOfEvent(ev)
	require.NoError(t, err)
	require.Equal(t, "ghe.corp.example", pr.Host)
	pr, err = workflows.PullRequestOf(ev.Source, ev.Type, ev.Payload)
	require.NoError(t, err)
	require.Equal(t, "github.com", pr.Host)
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return v.UTC()
}

func TestPushesOfRecordedDeliveries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		source, file string
		want         []workflows.Push
	}{
		{source: "github", file: "push.http", want: []workflows.Push{{
			Provider: "github", Host: "github.com", Owner: "Codertocat", Repo: "Hello-World", Ref: "refs/heads/main",
			Before: "6113728f27ae82c7b1a177c8d03f9e96e0adf246", After: "9049f1265b7d61be4a8904a9a27120d2064dab3b",
			Pusher: "Codertocat", HasCommits: true,
			Commits: []workflows.Commit{{
				ID: "9049f1265b7d61be4a8904a9a27120d2064dab3b", Message: "Update README.md", Author: "Codertocat",
				AuthorEmail: "21031067+Codertocat@users.noreply.github.com", Timestamp: mustTime(t, "2019-05-15T15:20:30-05:00"),
				URL: "https://github.com/Codertocat/Hello-World/commit/9049f1265b7d61be4a8904a9a27120d2064dab3b",
			}},
		}}},
		{source: "gitlab", file: "push.http", want: []workflows.Push{{
			Provider: "gitlab", Host: "gitlab.example.com", Owner: "mike", Repo: "diaspora", Ref: "refs/heads/master",
			Before: "95790bf891e76fee5e1747ab589903a6a1f80f22", After: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
			Pusher: "jsmith", HasCommits: true,
			Commits: []workflows.Commit{{
				ID: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7", Message: "fixed readme", Author: "GitLab dev user",
				AuthorEmail: "gitlabdev@dv6700.(none)", Timestamp: mustTime(t, "2012-01-03T23:36:29+02:00"),
				URL: "http://example.com/mike/diaspora/commit/da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
			}},
		}}},
		{source: "gitlab", file: "tag_push.http", want: []workflows.Push{{
			Provider: "gitlab", Host: "gitlab.example.com", Owner: "jsmith", Repo: "example", Ref: "refs/tags/v1.0.0",
			After: "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7", Created: true, Pusher: "jsmith", HasCommits: true,
		}}},
		{source: "bitbucket", file: "cloud.repo_push.http", want: []workflows.Push{{
			Provider: "bitbucket", Host: "bitbucket.org", Owner: "acme", Repo: "payments", Ref: "refs/heads/main",
			Before: "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", After: "709d658dc5b6d6afcd46049c2f332ee3f515a67d",
			Pusher: "Emma", HasCommits: true,
			Commits: []workflows.Commit{{ID: "709d658dc5b6d6afcd46049c2f332ee3f515a67d", Message: "Fix settlement retry\n"}},
		}}},
		{source: "bitbucket", file: "dc.repo_refs_changed.http", want: []workflows.Push{{
			// Data Center sends no commits: HasCommits is false.
			Provider: "bitbucket", Owner: "PROJ", Repo: "repository", Ref: "refs/heads/master",
			Before: "ecddabb624f6f5ba43816f5926e580a5f680a932", After: "178864a7d521b6f5e720b386b2c2b0ef8563e0dc", Pusher: "admin",
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.source+"/"+tt.file, func(t *testing.T) {
			t.Parallel()
			ev := recorded(t, tt.source, tt.file)
			got, err := workflows.PushesOfEvent(ev)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			require.Equal(t, ev.Key(workflows.KeyRef), got[0].Ref)
		})
	}
}

func TestPushesOfEdgeCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		source    string
		eventType string
		payload   string
		want      []workflows.Push
		err       string
	}{
		{
			name: "github branch deleted", source: "github", eventType: "push",
			payload: `{"ref":"refs/heads/gone","before":"abc","after":"0000000000000000000000000000000000000000","deleted":true,"commits":[],"repository":{"full_name":"o/r"}}`,
			want:    []workflows.Push{{Provider: "github", Host: "github.com", Owner: "o", Repo: "r", Ref: "refs/heads/gone", Before: "abc", Deleted: true, HasCommits: true}},
		},
		{
			name: "gitlab lists 20 of 25 commits", source: "gitlab", eventType: "push",
			payload: `{"ref":"refs/heads/main","before":"a","after":"b","total_commits_count":25,"commits":[{"id":"b","timestamp":"not a time"}]}`,
			want:    []workflows.Push{{Provider: "gitlab", Ref: "refs/heads/main", Before: "a", After: "b", HasCommits: true, Truncated: true, Commits: []workflows.Commit{{ID: "b"}}}},
		},
		{
			name: "bitbucket cloud: one push, two refs", source: "bitbucket", eventType: "repo:push",
			payload: `{"repository":{"full_name":"w/r"},"actor":{"display_name":"Emma"},"push":{"changes":[` +
				`{"new":{"type":"tag","name":"v1","target":{"hash":"abc"}},"old":null,"created":true,"commits":[{"hash":"abc","message":"m","date":"2024-09-30T10:02:44+00:00","author":{"raw":"Emma Doe <emma@example.com>"},"links":{"html":{"href":"https://bitbucket.org/w/r/commits/abc"}}}],"truncated":true},` +
				`{"new":null,"old":{"type":"branch","name":"gone","target":{"hash":"def"}},"closed":true},` +
				`{"new":null,"old":null}]}}`,
			want: []workflows.Push{
				{
					Provider: "bitbucket", Host: "bitbucket.org", Owner: "w", Repo: "r", Ref: "refs/tags/v1", After: "abc", Created: true,
					Pusher: "Emma", HasCommits: true, Truncated: true,
					Commits: []workflows.Commit{{ID: "abc", Message: "m", Author: "Emma Doe", AuthorEmail: "emma@example.com",
						Timestamp: mustTime(t, "2024-09-30T10:02:44Z"), URL: "https://bitbucket.org/w/r/commits/abc"}},
				},
				{Provider: "bitbucket", Host: "bitbucket.org", Owner: "w", Repo: "r", Ref: "refs/heads/gone", Before: "def", Deleted: true, Pusher: "Emma", HasCommits: true},
			},
		},
		{
			name: "bitbucket data center branch added and deleted", source: "bitbucket", eventType: "repo:refs_changed",
			payload: `{"repository":{"slug":"r","project":{"key":"P"},"links":{"self":[{"href":"http://bb.corp.example:7990/projects/P/repos/r/browse"}]}},"changes":[` +
				`{"ref":{"id":"refs/heads/new"},"fromHash":"0000000000000000000000000000000000000000","toHash":"abc","type":"ADD"},` +
				`{"refId":"refs/heads/old","fromHash":"def","toHash":"0000000000000000000000000000000000000000","type":"DELETE"}]}`,
			want: []workflows.Push{
				{Provider: "bitbucket", Host: "bb.corp.example:7990", Owner: "P", Repo: "r", Ref: "refs/heads/new", After: "abc", Created: true},
				{Provider: "bitbucket", Host: "bb.corp.example:7990", Owner: "P", Repo: "r", Ref: "refs/heads/old", Before: "def", Deleted: true},
			},
		},
		{name: "github push without ref", source: "github", eventType: "push", payload: `{"commits":[]}`, err: "no ref"},
		{name: "bitbucket cloud without push", source: "bitbucket", eventType: "repo:push", payload: `{}`, err: "no push"},
		{name: "bitbucket cloud without refs", source: "bitbucket", eventType: "repo:push", payload: `{"push":{"changes":[]}}`, err: "no changed ref"},
		{name: "bitbucket data center without refs", source: "bitbucket", eventType: "repo:refs_changed", payload: `{"changes":[{}]}`, err: "no changed ref"},
		{name: "a pull request is not a push", source: "gitlab", eventType: "merge_request", payload: `{}`, err: "not of a kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := workflows.PushesOf(tt.source, tt.eventType, []byte(tt.payload))
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestDeploymentOf(t *testing.T) {
	t.Parallel()
	// GitHub deployment bodies follow the "deployment" and
	// "deployment_status" examples of GitHub's webhook payload reference
	// (octokit/webhooks payload-examples), reduced.
	const ghDeployment = `{"action":"created","deployment":{"url":"https://api.github.com/repos/Codertocat/Hello-World/deployments/326191728","id":326191728,"sha":"4544205a385319fd846d5df4ed2e3b8173529d78","ref":"main","task":"deploy","payload":{},"original_environment":"production","environment":"production","description":null,"creator":{"login":"Codertocat"},"created_at":"2021-02-18T08:22:48Z","updated_at":"2021-02-18T09:47:16Z"},"repository":{"name":"Hello-World","full_name":"Codertocat/Hello-World","html_url":"https://github.com/Codertocat/Hello-World","owner":{"login":"Codertocat"}}}`
	const ghStatus = `{"action":"created","deployment_status":{"id":2,"state":"success","creator":{"login":"Codertocat"},"description":"Deployed","environment":"production","target_url":"https://ci.example/1","log_url":"","environment_url":"https://hello.example","created_at":"2019-05-15T15:20:55Z","updated_at":"2019-05-15T15:20:56Z"},"deployment":{"id":145988746,"sha":"f95f852bd8fca8fcc58a9a2d6c842781e32a215e","ref":"master","environment":"staging","description":null,"creator":{"login":"Codertocat"},"created_at":"2019-05-15T15:20:53Z"},"repository":{"name":"Hello-World","full_name":"Codertocat/Hello-World","owner":{"login":"Codertocat"}}}`
	tests := []struct {
		name      string
		source    string
		eventType string
		payload   string
		want      workflows.Deployment
		err       string
	}{
		{
			name: "github deployment", source: "github", eventType: "deployment", payload: ghDeployment,
			want: workflows.Deployment{
				Provider: "github", Host: "github.com", Owner: "Codertocat", Repo: "Hello-World", ID: 326191728, Environment: "production",
				Ref: "main", SHA: "4544205a385319fd846d5df4ed2e3b8173529d78", Status: "created", Creator: "Codertocat",
				UpdatedAt: mustTime(t, "2021-02-18T08:22:48Z"),
			},
		},
		{
			name: "github deployment status", source: "github", eventType: "deployment_status", payload: ghStatus,
			want: workflows.Deployment{
				Provider: "github", Host: "github.com", Owner: "Codertocat", Repo: "Hello-World", ID: 145988746, Environment: "production",
				Ref: "master", SHA: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", Status: "success", Description: "Deployed", Creator: "Codertocat",
				EnvironmentURL: "https://hello.example", LogURL: "https://ci.example/1", UpdatedAt: mustTime(t, "2019-05-15T15:20:56Z"),
			},
		},
		{
			name: "gitlab deployment with a short SHA only", source: "gitlab", eventType: "deployment",
			payload: `{"object_kind":"deployment","status":"running","deployment_id":3,"environment":"prod","short_sha":"279484c0","commit_url":"","ref":"main"}`,
			want:    workflows.Deployment{Provider: "gitlab", ID: 3, Environment: "prod", Ref: "main", SHA: "279484c0", Status: "running"},
		},
		{name: "github deployment_status without its status", source: "github", eventType: "deployment_status", payload: ghDeployment, err: "no deployment_status"},
		{name: "no deployment", source: "github", eventType: "deployment", payload: `{"action":"created"}`, err: "no deployment"},
		{name: "no deployment ID", source: "gitlab", eventType: "deployment", payload: `{"status":"success"}`, err: "no deployment ID"},
		{name: "a job is not a deployment", source: "gitlab", eventType: "build", payload: `{}`, err: "not of a kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := workflows.DeploymentOf(tt.source, tt.eventType, []byte(tt.payload))
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}

	t.Run("gitlab recorded", func(t *testing.T) {
		t.Parallel()
		ev := recorded(t, "gitlab", "deployment.success.http")
		got, err := workflows.DeploymentOfEvent(ev)
		require.NoError(t, err)
		updated, err := time.Parse("2006-01-02 15:04:05 -0700", "2021-04-28 21:50:00 +0200")
		require.NoError(t, err)
		require.Equal(t, workflows.Deployment{
			Provider: "gitlab", Host: "gitlab.example.com", Owner: "root", Repo: "test-deployment-webhooks", ID: 15,
			Environment: "staging", SHA: "279484c09fbe69ededfced8c1bb6e6d24616b468", Status: "success",
			Description: "Add new file", Creator: "root", EnvironmentURL: "https://staging.example.com",
			LogURL: "http://10.126.0.2:3000/root/test-deployment-webhooks/-/jobs/796", UpdatedAt: updated.UTC(),
		}, got)
		require.Equal(t, ev.Key(workflows.KeyDeployment), "15")
	})
}

func TestJiraIssueOfRealBodies(t *testing.T) {
	t.Parallel()
	dc := "http://some-instance-test.centralus.cloudapp.azure.com:8080"
	tests := []struct {
		file      string
		eventType string
		want      workflows.JiraIssue
		err       string
	}{
		{file: "webhook-issue-updated-reopened.json", eventType: "jira:issue_updated", want: workflows.JiraIssue{
			Site: "some-instance-test.atlassian.net", BaseURL: "https://some-instance-test.atlassian.net", ID: "10040", Key: "TES-41",
			Project: "TES", Summary: "Unit test summary 1", Type: "Story", Status: "To Do", StatusCategory: "new",
			Transition: &workflows.JiraTransition{From: "Done", To: "To Do", FromID: "10002", ToID: "10001"},
			URL:        "https://some-instance-test.atlassian.net/browse/TES-41",
		}},
		{file: "webhook-cloud-issue-updated-custom-field.json", eventType: "jira:issue_updated", want: workflows.JiraIssue{
			// A custom field changed: no transition.
			Site: "mmtest.atlassian.net", BaseURL: "https://mmtest.atlassian.net", ID: "10368", Key: "TES-14", Project: "TES",
			Summary: "v", Type: "Story", Status: "To Do", StatusCategory: "new", URL: "https://mmtest.atlassian.net/browse/TES-14",
		}},
		{file: "webhook-issue-created.json", eventType: "jira:issue_created", want: workflows.JiraIssue{
			Site: "some-instance-test.atlassian.net", BaseURL: "https://some-instance-test.atlassian.net", ID: "10040", Key: "TES-41",
			Project: "TES", Summary: "Unit test summary", Type: "Story", Status: "To Do", StatusCategory: "new",
			Transition: &workflows.JiraTransition{To: "To Do", ToID: "10001"},
			URL:        "https://some-instance-test.atlassian.net/browse/TES-41",
		}},
		{file: "webhook-cloud-comment-created.json", eventType: "comment_created", want: workflows.JiraIssue{
			Site: "some-instance-test.atlassian.net", BaseURL: "https://some-instance-test.atlassian.net", ID: "10040", Key: "TES-41",
			Project: "TES", Summary: "Unit test summary 1", Type: "Story", Status: "To Do", StatusCategory: "new",
			URL: "https://some-instance-test.atlassian.net/browse/TES-41",
		}},
		{file: "webhook-server-issue-updated-resolved.json", eventType: "jira:issue_updated", want: workflows.JiraIssue{
			// Data Center's changelog items have no fieldId.
			Site: "some-instance-test.centralus.cloudapp.azure.com:8080", BaseURL: dc, ID: "10300", Key: "TES-4", Project: "TES",
			Summary: "Unit test summary 1", Type: "Bug", Status: "Resolved", StatusCategory: "done", Resolution: "Done",
			Transition: &workflows.JiraTransition{From: "In Progress", To: "Resolved", FromID: "3", ToID: "5"},
			URL:        dc + "/browse/TES-4",
		}},
		{file: "webhook-server-issue-updated-closed.json", eventType: "jira:issue_updated", want: workflows.JiraIssue{
			Site: "some-instance-test.centralus.cloudapp.azure.com:8080", BaseURL: dc, ID: "10300", Key: "TES-4", Project: "TES",
			Summary: "Unit test summary 1", Type: "Bug", Status: "Closed", StatusCategory: "done", Resolution: "Done",
			Transition: &workflows.JiraTransition{From: "Resolved", To: "Closed", FromID: "5", ToID: "6"},
			URL:        dc + "/browse/TES-4",
		}},
		// Data Center comment events carry the comment, not its issue.
		{file: "webhook-server-comment-created.json", eventType: "comment_created", err: "no issue"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile(filepath.Join("testdata", "jira", tt.file))
			require.NoError(t, err)
			var p struct {
				WebhookEvent string `json:"webhookEvent"`
			}
			require.NoError(t, json.Unmarshal(body, &p))
			require.Equal(t, tt.eventType, p.WebhookEvent)
			got, err := workflows.JiraIssueOf("jira", p.WebhookEvent, body)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestJiraIssueOfRecordedDeliveries(t *testing.T) {
	t.Parallel()
	ev := recorded(t, "jira", "cloud.issue_updated.http")
	got, err := workflows.JiraIssueOfEvent(ev)
	require.NoError(t, err)
	require.Equal(t, "SP-4", got.Key)
	require.Equal(t, ev.Key(workflows.KeyIssue), got.Key)
	require.Equal(t, ev.Key(workflows.KeyHost), got.Site)
	require.Equal(t, &workflows.JiraTransition{From: "To Do", To: "In Progress", FromID: "10000", ToID: "3"}, got.Transition)

	// A workflow post function's webhook names the transition.
	post := `{"webhookEvent":"jira:issue_updated","issue":{"id":"1","key":"P-1","self":"https://jira.corp.example/jira/rest/api/2/issue/1"},` +
		`"transition":{"workflowId":9,"workflowName":"W","transitionId":31,"transitionName":"Start","from_status":"Open","to_status":"In Progress"}}`
	got, err = workflows.JiraIssueOf("jira", "jira:issue_updated", []byte(post))
	require.NoError(t, err)
	require.Equal(t, workflows.JiraIssue{
		Site: "jira.corp.example", BaseURL: "https://jira.corp.example/jira", ID: "1", Key: "P-1", Project: "P",
		Transition: &workflows.JiraTransition{From: "Open", To: "In Progress", ID: "31", Name: "Start"},
		URL:        "https://jira.corp.example/jira/browse/P-1",
	}, got)
}

func TestRecordOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want workflows.Record
	}{
		{file: "change_request.approved.http", want: workflows.Record{
			Table: "change_request", SysID: "8f3c2a1b47d31110a1b2c3d4e5f60718", Number: "CHG0030042", State: "-3",
			Approval: "approved", Action: "approved", ModCount: "4", UpdatedOn: "2024-09-30 12:41:07",
		}},
		{file: "incident.new.http", want: workflows.Record{
			// sys_class_name, and numbers where templates send strings.
			Table: "incident", SysID: "46d44a6f1b2c3110b7e1a9c2d4f6e801", Number: "INC0010023", State: "1",
			Approval: "not requested", ModCount: "0", UpdatedOn: "2024-09-30 09:12:55",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			ev := recorded(t, "servicenow", tt.file)
			got, err := workflows.RecordOfEvent(ev)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			require.Equal(t, ev.Key(workflows.KeySysID), got.SysID)
		})
	}
	got, err := workflows.RecordOf("servicenow", "change_request",
		[]byte(`{"sys_id":"a1","correlation_id":"hookflow:github.com/o/r/pr/7","correlation_display":"o/r#7","instance_url":"https://acme.service-now.com/"}`))
	require.NoError(t, err)
	require.Equal(t, workflows.Record{Instance: "acme.service-now.com", Table: "change_request", SysID: "a1",
		CorrelationID: "hookflow:github.com/o/r/pr/7", CorrelationDisplay: "o/r#7"}, got)
	_, err = workflows.RecordOf("servicenow", "incident", []byte(`{"number":"INC1"}`))
	require.ErrorContains(t, err, "no sys_id")
}

func TestHostOfURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://GitHub.com/o/r":          "github.com",
		"https://ghe.example:443/o":       "ghe.example",
		"http://ghe.example:80/o":         "ghe.example",
		"http://ghe.example:8080/o":       "ghe.example:8080",
		"https://ghe.example:80/o":        "ghe.example:80",
		"https://user:pw@gitlab.example/": "gitlab.example",
		"https://[::1]:8443/x":            "[::1]:8443",
		"ftp://files.example/":            "",
		"github.com/o/r":                  "",
		"":                                "",
		"https:///path":                   "",
	} {
		require.Equal(t, want, workflows.HostOfURL(in), in)
	}
}

// FuzzViews feeds every view any source, type and payload: a view never
// panics, and what it returns without an error keeps its promises.
func FuzzViews(f *testing.F) {
	for source := range sources {
		files, _ := filepath.Glob(filepath.Join("..", "ingress", source, "testdata", "*.http"))
		for _, file := range files {
			ev := recorded(f, source, filepath.Base(file))
			f.Add(ev.Source, ev.Type, []byte(ev.Payload))
		}
	}
	jiraFiles, _ := filepath.Glob(filepath.Join("testdata", "jira", "*.json"))
	for _, file := range jiraFiles {
		body, err := os.ReadFile(file)
		require.NoError(f, err)
		f.Add("jira", "jira:issue_updated", body)
	}
	f.Add("github", "pull_request", []byte(`{"pull_request":{"number":1e400}}`))
	f.Add("bitbucket", "repo:push", []byte(`{"push":{"changes":[null,{"new":null}]}}`))
	f.Fuzz(func(t *testing.T, source, eventType string, payload []byte) {
		if pr, err := workflows.PullRequestOf(source, eventType, payload); err == nil {
			require.Positive(t, pr.Number)
			require.Equal(t, source, pr.Provider)
			require.Equal(t, pr.State == workflows.PullRequestMerged, pr.Merged)
			require.Contains(t, []string{workflows.PullRequestOpen, workflows.PullRequestClosed, workflows.PullRequestMerged}, pr.State)
		}
		if pushes, err := workflows.PushesOf(source, eventType, payload); err == nil {
			require.NotEmpty(t, pushes)
			for _, p := range pushes {
				require.NotEmpty(t, p.Ref)
				require.False(t, p.Deleted && p.After != "", "a deleted ref has no new commit")
			}
		}
		if d, err := workflows.DeploymentOf(source, eventType, payload); err == nil {
			require.Positive(t, d.ID)
		}
		if is, err := workflows.JiraIssueOf(source, eventType, payload); err == nil {
			require.NotEmpty(t, is.Key)
		}
		if r, err := workflows.RecordOf(source, eventType, payload); err == nil {
			require.NotEmpty(t, r.SysID)
		}
	})
}
