package devinfo_test

import (
	"testing"

	"github.com/hookflow/hookflow/blueprints/blueprinttest"
	"github.com/hookflow/hookflow/blueprints/devinfo"
)

// TestReplayRecordedHistories replays histories recorded under `hookflow
// dev` (internal/e2e TestDevinfoEndToEnd with
// HOOKFLOW_RECORD_DEVINFO_HISTORY): a change to the workflow that would
// break running repositories fails here, and must go behind
// workflow.GetVersion.
func TestReplayRecordedHistories(t *testing.T) {
	t.Parallel()
	blueprinttest.Replay(t, devinfo.Blueprint, "testdata/histories")
}
