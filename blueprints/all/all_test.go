package all_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/blueprints/all"
	"github.com/hookflow/hookflow/blueprints/blueprinttest"
	"github.com/hookflow/hookflow/workflows"
)

func TestListIsValid(t *testing.T) {
	t.Parallel()
	require.NoError(t, blueprints.CheckList(all.List()))
}

// registry records the workflow types registered.
type registry struct {
	worker.WorkflowRegistry
	names map[string]bool
}

func (r *registry) RegisterWorkflowWithOptions(_ any, o workflow.RegisterOptions) {
	r.names[o.Name] = true
}

func TestEveryBlueprintRegistersTheWorkflowsItStarts(t *testing.T) {
	t.Parallel()
	for _, bp := range all.List() {
		t.Run(bp.Name, func(t *testing.T) {
			t.Parallel()
			reg := &registry{names: map[string]bool{}}
			bp.Register(reg)
			for _, s := range bp.Subscriptions(bp.DefaultSettings()) {
				require.True(t, reg.names[s.Workflow], "%s starts %s but does not register it", bp.Name, s.Workflow)
			}
		})
	}
}

// corpus is every recorded delivery: the senders' own (ingress/*/testdata)
// and the blueprints' (blueprints/*/testdata), parsed by their source.
func corpus(t *testing.T) map[string]workflows.Event {
	t.Helper()
	out := map[string]workflows.Event{}
	add := func(pattern string, source func(*http.Header, string) string) {
		files, err := filepath.Glob(pattern)
		require.NoError(t, err)
		for _, f := range files {
			req := blueprinttest.LoadRequest(t, f, "")
			src := source(&req.Header, f)
			s, ok := blueprinttest.Sources()[src]
			if !ok {
				continue
			}
			req.Options["keys"] = "entity"
			ev, err := s.Parse(req)
			if err != nil {
				continue // the senders keep some malformed deliveries on purpose
			}
			ev.Integration, ev.Source = blueprinttest.Integration, src
			out[f] = ev
		}
	}
	add(filepath.Join("..", "..", "ingress", "*", "testdata", "*.http"), func(_ *http.Header, f string) string {
		return filepath.Base(filepath.Dir(filepath.Dir(f)))
	})
	add(filepath.Join("..", "*", "testdata", "*.http"), func(h *http.Header, _ string) string {
		switch {
		case h.Get("X-GitHub-Event") != "":
			return "github"
		case h.Get("X-Gitlab-Event") != "":
			return "gitlab"
		}
		return "generic"
	})
	require.NotEmpty(t, out)
	return out
}

// Every blueprint takes at least one recorded delivery; every workflow ID
// starts with the blueprint's name; and no delivery reaches the same
// workflow ID through two blueprints (SignalWithStart would feed one
// workflow with both blueprints' events).
func TestSubscriptionsRouteRecordedDeliveriesToTheirOwnIDs(t *testing.T) {
	t.Parallel()
	evs := corpus(t)
	list := all.List()
	var enabled []blueprints.Enabled
	for _, bp := range list {
		enabled = append(enabled, blueprints.Enabled{Blueprint: bp, Settings: bp.DefaultSettings()})
	}
	r := blueprints.Router("q", enabled, nil)
	took := map[string]int{}
	for file, ev := range evs {
		owner := map[string]string{}
		for _, rt := range r.Routes(ev) {
			bp := rt.Subscription.Blueprint
			took[bp]++
			require.True(t, strings.HasPrefix(rt.WorkflowID, bp+"/"), "%s: %s routes to %q, outside its namespace", file, bp, rt.WorkflowID)
			if other, ok := owner[rt.WorkflowID]; ok && other != bp {
				t.Fatalf("%s: %s and %s both route to %s", file, other, bp, rt.WorkflowID)
			}
			owner[rt.WorkflowID] = bp
		}
	}
	for _, bp := range list {
		require.NotZero(t, took[bp.Name], "no recorded delivery reaches %s: add one to blueprints/%s/testdata", bp.Name, bp.Name)
	}
}
