package changegate_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/hookflow/hookflow/blueprints/changegate"
)

// TestReplay replays histories recorded under `hookflow dev` by
// TestChangegateEndToEnd (HOOKFLOW_RECORD_HISTORY=path): a change to the
// workflow that would break running gates fails here and must go behind
// workflow.GetVersion. The gate compares correlation IDs with its own
// workflow ID, so the replay runs under the recorded one (the kit's Replay
// uses a placeholder ID).
func TestReplay(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/histories/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		r, err := os.Open(f)
		require.NoError(t, err)
		h, err := client.HistoryFromJSON(r, client.HistoryJSONOptions{})
		r.Close()
		require.NoError(t, err, f)
		rp := worker.NewWorkflowReplayer()
		changegate.Register(rp)
		require.NoError(t, rp.ReplayWorkflowHistoryWithOptions(nil, h, worker.ReplayWorkflowHistoryOptions{
			OriginalExecution: workflow.Execution{ID: wantID, RunID: "recorded"},
		}), f)
	}
}
