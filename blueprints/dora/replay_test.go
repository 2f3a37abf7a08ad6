package dora_test

import (
	"testing"

	"github.com/hookflow/hookflow/blueprints/blueprinttest"
	"github.com/hookflow/hookflow/blueprints/dora"
)

// TestReplayRecordedHistories replays histories recorded from real runs
// (internal/e2e TestDORAEndToEnd with HOOKFLOW_RECORD_HISTORY_DORA):
// batches-v0.json is the integration workflow before commits were
// resolved through the compare API, batches-v1.json after (one
// comparison). A change that would break running
// integration workflows fails here and must go behind workflow.GetVersion.
func TestReplayRecordedHistories(t *testing.T) {
	t.Parallel()
	blueprinttest.Replay(t, dora.Blueprint, "testdata/histories")
}
