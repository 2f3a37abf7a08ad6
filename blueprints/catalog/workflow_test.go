package catalog_test

import (
	"encoding/base64"
	"fmt"
	actall "github.com/hookflow/hookflow/activities/all"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/blueprints/blueprinttest"
	"github.com/hookflow/hookflow/blueprints/catalog"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/internal/backstagetest"
	"github.com/hookflow/hookflow/workflows"
)

const (
	target        = "https://github.com/acme/payments/blob/main/catalog-info.yaml"
	renamedTarget = "https://github.com/acme/payments-api/blob/main/catalog-info.yaml"
	descriptor    = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: payments\nspec:\n  type: service\n  owner: team-a\n"
)

func delivery(file string) blueprinttest.Delivery {
	return blueprinttest.Delivery{File: "testdata/" + file, Source: "github", Secret: blueprinttest.GitHubSecret}
}

// another is the recorded delivery under another delivery ID: a distinct
// push with the same content (the ID header is not signed).
func another(file string, n int) blueprinttest.Delivery {
	d := delivery(file)
	d.Mutate = func(r *hook.Request) { r.Header.Set("X-GitHub-Delivery", fmt.Sprintf("burst-%d", n)) }
	return d
}

// world is a fake GitHub serving the repository's descriptor and a fake
// Backstage, both recording every request, behind the real activities.
type world struct {
	gh  *blueprinttest.Fake
	bs  *backstagetest.Server
	env *blueprinttest.Env
	st  catalog.State
}

// sites points the activities at the world's fakes.
func (w *world) sites() actall.Sites {
	return actall.Sites{GitHubAPIURL: w.gh.URL + "/", BackstageURL: w.bs.URL,
		Tokens: actall.StaticTokens(map[string]string{"github": "ghp_test", "backstage": "bs-token"})}
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{gh: blueprinttest.NewFake(t), bs: backstagetest.New(t, "bs-token")}
	for _, repo := range []string{"payments", "payments-api"} {
		w.gh.Handle("GET /repos/acme/"+repo+"/contents/catalog-info.yaml", blueprinttest.Response{Body: fmt.Sprintf(
			`{"type":"file","encoding":"base64","name":"catalog-info.yaml","path":"catalog-info.yaml","sha":"3d21ec53a331a6f037a91c368710b99387d012c1","size":%d,"content":%q}`,
			len(descriptor), base64.StdEncoding.EncodeToString([]byte(descriptor)))})
	}
	payments := backstagetest.Entity{Kind: "Component", Name: "payments"}
	w.bs.Declare(target, payments)
	w.bs.Declare(renamedTarget, payments)
	w.env = blueprinttest.NewEnv(t, catalog.Blueprint)
	require.NoError(t, actall.Register(w.env, w.sites()))
	return w
}

// send delivers the recorded deliveries at the given offsets.
func (w *world) send(t *testing.T, at time.Duration, ds ...blueprinttest.Delivery) workflows.Route {
	t.Helper()
	var route workflows.Route
	for _, d := range ds {
		ev, r := blueprinttest.Deliver(t, catalog.Blueprint, d)
		w.env.Send(at, r, ev)
		route = r
	}
	return route
}

// run runs the workflow until end, reading its state just before.
func (w *world) run(t *testing.T, end time.Duration) {
	t.Helper()
	w.env.RegisterDelayedCallback(func() {
		v, err := w.env.QueryWorkflow(catalog.QueryState)
		require.NoError(t, err)
		require.NoError(t, v.Get(&w.st))
		w.env.CancelWorkflow()
	}, end)
	w.env.Run()
	require.True(t, w.env.IsWorkflowCompleted())
}

func (w *world) posts(path string) []backstagetest.Request {
	return w.bs.Received(http.MethodPost, "/api/catalog/"+path)
}

func TestNewRepositoryRegistersItsDescriptor(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	route := w.send(t, time.Second, delivery("repository.created.http"))
	require.Equal(t, "catalog/github.com/acme/payments", route.WorkflowID)
	w.run(t, time.Hour)

	locations := w.posts("locations")
	require.Len(t, locations, 1)
	require.JSONEq(t, `{"type":"url","target":"`+target+`"}`, locations[0].Body)
	require.Equal(t, "Bearer bs-token", locations[0].Authorization)
	require.Empty(t, w.posts("refresh"), "a new location is read by Backstage as it is registered")
	require.Len(t, w.gh.Calls(http.MethodGet, "/repos/acme/payments/contents/catalog-info.yaml"), 1)
	require.True(t, w.st.Registered)
	require.Equal(t, []string{"component:default/payments"}, w.st.EntityRefs)
	require.Contains(t, w.bs.Locations(), target)
}

// Backstage answers 409 for a location registered before: the blueprint
// takes it as registered and refreshes the entities it reads from the
// descriptor.
func TestAlreadyRegisteredLocationIsRefreshed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.bs.Register(target)
	w.send(t, time.Second, delivery("repository.created.http"))
	w.run(t, time.Hour)

	require.Len(t, w.posts("locations"), 1)
	require.Equal(t, http.StatusConflict, w.posts("locations")[0].Status)
	refresh := w.posts("refresh")
	require.Len(t, refresh, 1)
	require.JSONEq(t, `{"entityRef":"component:default/payments"}`, refresh[0].Body)
	require.Equal(t, catalog.State{Owner: "acme", Repo: "payments", Installation: "4242", DefaultBranch: "main", Target: target,
		Registered: true, EntityRefs: []string{"component:default/payments"}, Registrations: 1, Refreshes: 1}, w.st)
}

// Five pushes touching the descriptor within the window cause one
// refresh; a push of another file or to another branch none; a push a
// while later one more.
func TestBurstOfPushesRefreshesOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.bs.Register(target)
	for i := range 5 {
		w.send(t, time.Duration(i+1)*5*time.Second, another("push.catalog-info.http", i))
	}
	w.send(t, 26*time.Second, delivery("push.readme.http"), delivery("push.branch.http"))
	w.send(t, 27*time.Second, another("push.catalog-info.http", 2)) // a redelivery
	w.send(t, 10*time.Minute, another("push.catalog-info.http", 9))
	w.send(t, 20*time.Minute, delivery("push.readme.http")) // alone: nothing to do
	w.run(t, time.Hour)

	require.Len(t, w.posts("locations"), 1, "registered once (409: it was there)")
	require.Len(t, w.posts("refresh"), 2, "one refresh for the burst, one for the later push")
	require.Len(t, w.gh.Calls(http.MethodGet, "/repos/acme/payments/contents/catalog-info.yaml"), 2)
	require.Equal(t, 2, w.st.Refreshes)
	require.False(t, w.st.Pending)
}

// A renamed repository's events reach the workflow of its new name, which
// registers the descriptor at its new URL.
func TestRenameRegistersTheNewLocation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.bs.Register(target) // registered under the old name
	route := w.send(t, time.Second, delivery("repository.renamed.http"))
	require.Equal(t, "catalog/github.com/acme/payments-api", route.WorkflowID)
	w.run(t, time.Hour)

	locations := w.posts("locations")
	require.Len(t, locations, 1)
	require.JSONEq(t, `{"type":"url","target":"`+renamedTarget+`"}`, locations[0].Body)
	require.Len(t, w.gh.Calls(http.MethodGet, "/repos/acme/payments-api/contents/catalog-info.yaml"), 1)
	require.Equal(t, renamedTarget, w.st.Target)
	require.True(t, w.st.Registered)
}

// An archive is reflected by a refresh of the registered entities.
func TestArchiveRefreshes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.send(t, time.Second, delivery("repository.created.http"))
	w.send(t, 5*time.Minute, delivery("repository.archived.http"))
	w.run(t, time.Hour)
	require.Len(t, w.posts("locations"), 1)
	require.Len(t, w.posts("refresh"), 1)
	require.True(t, w.st.Archived)
}

// Backstage down (503) then up: the activity's retries register the
// location once it answers.
func TestBackstageDownThenUp(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.bs.FailNext(3, http.StatusServiceUnavailable, "")
	w.send(t, time.Second, delivery("repository.created.http"))
	w.run(t, 2*time.Hour)

	locations := w.posts("locations")
	require.Len(t, locations, 4, "three refused, the fourth registered")
	for _, r := range locations[:3] {
		require.Equal(t, http.StatusServiceUnavailable, r.Status)
	}
	require.Equal(t, http.StatusCreated, locations[3].Status)
	require.True(t, w.st.Registered)
	require.Empty(t, w.st.LastError)
}

// Without a descriptor on the default branch there is nothing to register:
// the workflow waits for a push that adds one.
func TestRepositoryWithoutDescriptor(t *testing.T) {
	t.Parallel()
	w := &world{gh: blueprinttest.NewFake(t), bs: backstagetest.New(t, "bs-token")}
	w.gh.Handle("GET /repos/acme/payments/contents/catalog-info.yaml", blueprinttest.Response{Status: http.StatusNotFound, Body: `{"message":"Not Found"}`})
	w.env = blueprinttest.NewEnv(t, catalog.Blueprint)
	require.NoError(t, actall.Register(w.env, w.sites()))
	w.send(t, time.Second, delivery("repository.created.http"))
	w.run(t, time.Hour)
	require.Empty(t, w.bs.Requests())
	require.False(t, w.st.Registered)
	require.Contains(t, w.st.LastError, "catalog-info.yaml not found on main")
}

func TestRouting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*workflows.Event)
		want   string
	}{
		{"push to a branch", func(*workflows.Event) {}, "catalog/github.com/acme/payments"},
		{"push of a tag", func(e *workflows.Event) { e.Keys[workflows.KeyRef] = "refs/tags/v1" }, ""},
		{"repository edited", func(e *workflows.Event) { e.Type, e.Action = "repository", "edited" }, ""},
		{"repository transferred", func(e *workflows.Event) { e.Type, e.Action = "repository", "transferred" }, "catalog/github.com/acme/payments"},
		{"another event", func(e *workflows.Event) { e.Type = "issues" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := blueprinttest.Event(t, delivery("push.branch.http"))
			tt.mutate(&ev)
			require.Equal(t, tt.want, catalog.WorkflowID(ev))
		})
	}
}

func TestEntityRefs(t *testing.T) {
	t.Parallel()
	refs, err := catalog.EntityRefs([]byte(descriptor + "---\nkind: API\nmetadata:\n  name: Payments-API\n  namespace: billing\n---\n# empty\n"))
	require.NoError(t, err)
	require.Equal(t, []string{"component:default/payments", "api:billing/payments-api"}, refs)
	_, err = catalog.EntityRefs([]byte("just: text\n"))
	require.Error(t, err)
	_, err = catalog.EntityRefs([]byte("kind: [\n"))
	require.Error(t, err)
}

func TestSettings(t *testing.T) {
	t.Parallel()
	require.NoError(t, catalog.Blueprint.Check())
	for _, bad := range []catalog.Settings{
		{RefreshWindow: 0, File: "catalog-info.yaml"},
		{RefreshWindow: 2 * time.Hour, File: "catalog-info.yaml"},
		{RefreshWindow: time.Minute, File: "/etc/passwd"},
		{RefreshWindow: time.Minute, File: "../x.yaml"},
	} {
		require.Error(t, bad.Validate(), "%+v", bad)
	}
}
