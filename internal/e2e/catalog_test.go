package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/blueprints/blueprinttest"
	"github.com/hookflow/hookflow/blueprints/catalog"
	"github.com/hookflow/hookflow/internal/backstagetest"
)

// TestCatalogEndToEnd runs the catalog blueprint under hookflow dev against
// a fake GitHub (the descriptor) and the recording fake Backstage: a new
// repository is registered, a burst of pushes refreshes it once, and the
// repository is found by its entity search attribute.
// HOOKFLOW_RECORD_HISTORY_CATALOG=path writes the workflow's history for
// the blueprint's replay test (blueprints/catalog/testdata/histories).
func TestCatalogEndToEnd(t *testing.T) {
	bin := hookflowBinary(t)
	const descriptor = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: payments\nspec:\n  type: service\n  owner: team-a\n"
	gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/repos/acme/payments/contents/catalog-info.yaml" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"type":"file","encoding":"base64","name":"catalog-info.yaml","path":"catalog-info.yaml","sha":"3d21ec53a331a6f037a91c368710b99387d012c1","size":%d,"content":%q}`,
			len(descriptor), base64.StdEncoding.EncodeToString([]byte(descriptor)))
	}))
	defer gh.Close()
	const bsToken = "bs-e2e-token-0123456789abcdef"
	bs := backstagetest.New(t, bsToken)
	target := "https://github.com/acme/payments/blob/main/catalog-info.yaml"
	bs.Declare(target, backstagetest.Entity{Kind: "Component", Name: "payments"})

	dataDir := t.TempDir()
	cfg := filepath.Join(dataDir, "hookflow.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("blueprints:\n  catalog:\n    settings:\n      refresh_window: 2s\n"), 0o600))
	tokenFile := filepath.Join(dataDir, "bs-token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(bsToken), 0o600))
	h := startDev(t, bin, dataDir, gh.URL+"/", "--config", cfg, "--backstage-url", bs.URL)
	h.cli(t, "tokens", "put", "--system", "backstage", "--from-file", tokenFile)

	var in struct{ ID, URL, Secret string }
	require.NoError(t, json.Unmarshal(h.cli(t, "integrations", "create", "--source", "github", "--name", "catalog-e2e", "--output", "json"), &in))
	body := func(name string) []byte {
		raw, err := os.ReadFile(filepath.Join("..", "..", "blueprints", "catalog", "testdata", name))
		require.NoError(t, err)
		_, b, ok := bytes.Cut(raw, []byte("\n\n"))
		require.True(t, ok)
		return b
	}
	code, answer := post(t, in.URL, in.Secret, "repository", "e2e-created", body("repository.created.http"))
	require.Equal(t, http.StatusAccepted, code, answer)
	require.Eventually(t, func() bool { return len(bs.Received(http.MethodPost, "/api/catalog/locations")) == 1 }, 60*time.Second, 200*time.Millisecond, "the location is registered")

	for i := range 3 {
		code, answer := post(t, in.URL, in.Secret, "push", fmt.Sprint("e2e-push-", i), body("push.catalog-info.http"))
		require.Equal(t, http.StatusAccepted, code, answer)
	}
	require.Eventually(t, func() bool { return len(bs.Received(http.MethodPost, "/api/catalog/refresh")) == 1 }, 60*time.Second, 200*time.Millisecond, "the burst is refreshed")
	time.Sleep(4 * time.Second) // two windows: a second refresh would show now
	require.Len(t, bs.Received(http.MethodPost, "/api/catalog/refresh"), 1, "one refresh for the burst")
	require.Equal(t, "Bearer "+bsToken, bs.Received(http.MethodPost, "/api/catalog/refresh")[0].Authorization)

	tc, err := client.Dial(client.Options{HostPort: h.temporal})
	require.NoError(t, err)
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	wfID := "catalog/github.com/acme/payments"
	v, err := tc.QueryWorkflow(ctx, wfID, "", catalog.QueryState)
	require.NoError(t, err)
	var st catalog.State
	require.NoError(t, v.Get(&st))
	require.True(t, st.Registered)
	require.Equal(t, 1, st.Refreshes)
	require.Equal(t, []string{"component:default/payments"}, st.EntityRefs)
	require.Eventually(t, func() bool {
		resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default",
			Query: `HookflowEntity = "acme/payments" AND HookflowBlueprint = "catalog"`})
		return err == nil && len(resp.GetExecutions()) == 1
	}, 30*time.Second, 200*time.Millisecond)

	// The search attributes exist from the namespace's creation: no
	// workflow task failed on an upsert (they did when they were added
	// after start, until the namespace cache refreshed).
	iter := tc.GetWorkflowHistory(ctx, wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		require.NotEqual(t, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED, ev.GetEventType(), "%v", ev.GetWorkflowTaskFailedEventAttributes().GetFailure().GetMessage())
	}

	if path := os.Getenv("HOOKFLOW_RECORD_HISTORY_CATALOG"); path != "" {
		require.NoError(t, blueprinttest.WriteHistory(ctx, tc, wfID, "", path))
	}
	h.stop(t)
}
