package dora_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	actall "github.com/hookflow/hookflow/activities/all"
	"github.com/hookflow/hookflow/blueprints/blueprinttest"
	"github.com/hookflow/hookflow/blueprints/dora"
	"github.com/hookflow/hookflow/ingress/dorametrics"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/workflows"
	"github.com/hookflow/hookflow/workflows/dorabatch"
)

const ghToken = "ghp_compareTestToken0123456789"

// fakeIngress serves the worker endpoints of the ingress's admin API
// (apply, unresolved, commits) over a real store, as ingress/dora_admin.go
// does, so the workflow's calls change real rows.
func fakeIngress(t *testing.T) (*httptest.Server, *dorametrics.Store) {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "dora.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	store, err := dorametrics.OpenStore(context.Background(), db)
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer worker-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var out any
		var err error
		switch r.Method + " " + r.URL.Path {
		case "POST /admin/v1/dora/apply":
			var in struct {
				BatchID string          `json:"batch_id"`
				Source  string          `json:"source"`
				Payload json.RawMessage `json:"payload"`
			}
			if err = json.NewDecoder(r.Body).Decode(&in); err == nil {
				ds, is := dorametrics.FromBatch(dorabatch.Parse(in.Payload), in.BatchID, in.Source, nil)
				if err = store.UpsertDeployments(r.Context(), ds); err == nil {
					err = store.UpsertIncidents(r.Context(), is)
				}
				out = map[string]int{"deployments": len(ds), "incidents": len(is)}
			}
		case "GET /admin/v1/dora/unresolved":
			var list []dorametrics.Unresolved
			list, err = store.Unresolved(r.Context(), r.URL.Query().Get("batch"))
			out = map[string]any{"deployments": list}
		case "POST /admin/v1/dora/commits":
			var in struct {
				Resolutions []dorametrics.Resolution `json:"resolutions"`
			}
			if err = json.NewDecoder(r.Body).Decode(&in); err == nil {
				out, err = store.RecordCommits(r.Context(), in.Resolutions)
			}
		default:
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv, store
}

// batch is a dora batch event carrying deployments.
func batch(id string, deployments ...map[string]any) workflows.Event {
	body, _ := json.Marshal(map[string]any{"deployments": deployments})
	return workflows.Event{Source: dora.Source, Type: dora.Type, DeliveryID: id, Integration: blueprinttest.Integration,
		Payload: body, Meta: map[string]string{"accepted": "1"}}
}

func deployment(id, sha, status, finished string, commits ...map[string]string) map[string]any {
	d := map[string]any{"deployment_id": id, "repo": "acme/api", "environment": "production", "sha": sha,
		"status": status, "finished_at": finished, "started_at": "2026-10-01T00:00:00Z"}
	if commits != nil {
		d["commits"] = commits
	}
	return d
}

// compareAnswer is GitHub's "Compare two commits" answer for s0...s2, in
// the documented shape: c1 was committed at 08:00 (written the day
// before: the committer date counts), c2 at 11:00.
const compareAnswer = `{
  "url": "https://api.github.com/repos/acme/api/compare/s0...s2",
  "html_url": "https://github.com/acme/api/compare/s0...s2",
  "base_commit": {"sha": "s0"}, "merge_base_commit": {"sha": "s0"},
  "status": "ahead", "ahead_by": 2, "behind_by": 0, "total_commits": 2,
  "commits": [
    {"sha": "c1", "url": "https://api.github.com/repos/acme/api/commits/c1",
     "commit": {"author": {"name": "Mona", "email": "mona@example.com", "date": "2026-11-01T08:00:00Z"},
                "committer": {"name": "GitHub", "email": "noreply@github.com", "date": "2026-11-02T08:00:00Z"},
                "message": "fix the gateway", "comment_count": 0},
     "author": {"login": "mona", "id": 1}, "parents": [{"sha": "s0"}]},
    {"sha": "c2", "url": "https://api.github.com/repos/acme/api/commits/c2",
     "commit": {"author": {"name": "Hubot", "email": "hubot@example.com", "date": "2026-11-02T11:00:00Z"},
                "committer": {"name": "Hubot", "email": "hubot@example.com", "date": "2026-11-02T11:00:00Z"},
                "message": "docs", "comment_count": 0},
     "author": {"login": "hubot", "id": 2}, "parents": [{"sha": "c1"}]}
  ],
  "files": [{"sha": "bbcd538c8e72b8c175046e27cc8f907076331401", "filename": "README.md", "status": "modified", "additions": 1, "deletions": 0, "changes": 1}]
}`

const comparePath = "/repos/acme/api/compare/s0...s2"

var window = dorametrics.Query{Repo: "acme/api", Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 11, 0, 0, 0, 0, time.UTC)}

// runBatches runs the integration workflow over evs (one a second) with
// the real activities, GitHub at gh, and returns the store's report.
func runBatches(t *testing.T, gh *blueprinttest.Fake, evs ...workflows.Event) dorametrics.Metrics {
	t.Helper()
	m, _ := runBatchesWith(t, gh, map[string]string{"github": ghToken}, evs...)
	return m
}

// runBatchesWith is runBatches with the token store's secrets given, and
// the store.
func runBatchesWith(t *testing.T, gh *blueprinttest.Fake, secrets map[string]string, evs ...workflows.Event) (dorametrics.Metrics, *dorametrics.Store) {
	t.Helper()
	ingress, store := fakeIngress(t)
	env := blueprinttest.NewEnv(t, dora.Blueprint)
	require.NoError(t, actall.Register(env, actall.Sites{PayloadURL: ingress.URL, PayloadToken: "worker-token", GitHubAPIURL: gh.URL,
		Tokens: actall.StaticTokens(secrets)}))
	route := blueprinttest.Routes(dora.Blueprint, nil, evs[0])[0]
	for i, ev := range evs {
		env.Send(time.Duration(i+1)*time.Second, route, ev)
	}
	env.RegisterDelayedCallback(env.CancelWorkflow, 2*time.Hour)
	env.Run()
	require.True(t, env.IsWorkflowCompleted())
	r, err := store.Report(context.Background(), window)
	require.NoError(t, err)
	require.Len(t, r.Repositories, 1)
	return r.Repositories[0], store
}

// The fixture: p0 (before the window) lists its commit; f1 fails; p2
// succeeds without commits: its range s0...s2 is c1 (shipped first by the
// failed f1, counts for p2: 4 h) and c2 (1 h). Median 9000 s, p90 14400 s.
func fixtureBatches() (first, second workflows.Event) {
	first = batch("batch_1", deployment("p0", "s0", "success", "2026-10-30T12:00:00Z", map[string]string{"sha": "c0", "committed_at": "2026-10-30T11:00:00Z"}))
	second = batch("batch_2", deployment("f1", "s1", "failure", "2026-11-02T10:00:00Z"), deployment("p2", "s2", "success", "2026-11-02T12:00:00Z"))
	return first, second
}

func compareCalls(gh *blueprinttest.Fake) []string {
	var out []string
	for _, r := range gh.Requests() {
		out = append(out, r.Method+" "+r.Path+"?"+r.Query+" "+r.Header.Get("Authorization"))
	}
	return out
}

func TestCommitsResolvedThroughCompare(t *testing.T) {
	t.Parallel()
	gh := blueprinttest.NewFake(t)
	gh.Handle("GET "+comparePath, blueprinttest.Response{Body: compareAnswer})
	first, second := fixtureBatches()
	// The same batch redelivered, and a CI resending p2 (another body,
	// another batch): GitHub is not asked again.
	resend := batch("batch_3", deployment("p2", "s2", "success", "2026-11-02T12:00:00Z"))
	m := runBatches(t, gh, first, second, second, resend)

	require.Equal(t, []string{"GET " + comparePath + "?per_page=100 Bearer " + ghToken}, compareCalls(gh), "one comparison, from the previous success")
	require.Equal(t, 9000.0, *m.LeadTimeMedianSeconds)
	require.Equal(t, 14400.0, *m.LeadTimeP90Seconds)
	require.Equal(t, 2, m.Deployments)
}

func TestCommitsResolvedWhenGitHubComesBack(t *testing.T) {
	t.Parallel()
	gh := blueprinttest.NewFake(t)
	down := blueprinttest.Response{Status: http.StatusServiceUnavailable, Body: `{"message":"Service Unavailable"}`}
	gh.Handle("GET "+comparePath, down, down, blueprinttest.Response{Body: compareAnswer})
	first, second := fixtureBatches()
	m := runBatches(t, gh, first, second)

	require.Len(t, compareCalls(gh), 3, "two 503s, then the answer")
	require.Equal(t, 9000.0, *m.LeadTimeMedianSeconds)
}

func TestUnknownRangeIsRecordedOnce(t *testing.T) {
	t.Parallel()
	for status, body := range map[int]string{
		http.StatusNotFound: `{"message":"Not Found","documentation_url":"https://docs.github.com/rest/commits/commits#compare-two-commits","status":"404"}`,
		// No common history between base and head.
		http.StatusUnprocessableEntity: `{"message":"No common ancestor between s0 and s2.","documentation_url":"https://docs.github.com/rest/commits/commits#compare-two-commits","status":"422"}`,
	} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			gh := blueprinttest.NewFake(t)
			gh.Handle("GET "+comparePath, blueprinttest.Response{Status: status, Body: body})
			first, second := fixtureBatches()
			resend := batch("batch_3", deployment("p2", "s2", "success", "2026-11-02T12:00:00Z"))
			m := runBatches(t, gh, first, second, resend)

			require.Len(t, compareCalls(gh), 1, "final, and recorded: the resend asks nothing")
			require.Nil(t, m.LeadTimeMedianSeconds, "p2's commits are unknown")
			require.Equal(t, 2, m.Deployments)
		})
	}
}

// A worker without a GitHub token fails the comparison as a
// configuration problem: nothing is recorded, so the deployment is still
// to resolve (a resend after the token is stored resolves it).
func TestMissingTokenLeavesTheDeploymentUnresolved(t *testing.T) {
	t.Parallel()
	gh := blueprinttest.NewFake(t)
	first, second := fixtureBatches()
	m, store := runBatchesWith(t, gh, map[string]string{}, first, second)
	require.Empty(t, gh.Requests())
	require.Nil(t, m.LeadTimeMedianSeconds)
	un, err := store.Unresolved(context.Background(), "batch_2")
	require.NoError(t, err)
	require.Len(t, un, 1)
	require.Equal(t, "p2", un[0].DeploymentID)
}

func TestFirstDeploymentHasNoRange(t *testing.T) {
	t.Parallel()
	gh := blueprinttest.NewFake(t)
	_, second := fixtureBatches()
	m := runBatches(t, gh, second)
	require.Empty(t, gh.Requests(), "no previous success: nothing to compare")
	require.Nil(t, m.LeadTimeMedianSeconds)
}

func TestResolveCommitsOff(t *testing.T) {
	t.Parallel()
	off := false
	s := dora.Settings{ResolveCommits: &off}
	require.False(t, s.ResolvesCommits())
	require.True(t, dora.DefaultSettings().ResolvesCommits())
}
