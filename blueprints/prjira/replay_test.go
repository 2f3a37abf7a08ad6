package prjira_test

import (
	"testing"

	"github.com/hookflow/hookflow/blueprints/blueprinttest"
	"github.com/hookflow/hookflow/blueprints/prjira"
)

// TestReplayRecordedHistories replays histories recorded under `hookflow
// dev` (internal/e2e TestPullRequestsReachJiraEndToEnd with
// HOOKFLOW_RECORD_PRJIRA_HISTORY): a change to the workflow that would
// break running pull requests fails here, and must go behind
// workflow.GetVersion.
func TestReplayRecordedHistories(t *testing.T) {
	t.Parallel()
	blueprinttest.Replay(t, prjira.Blueprint, "testdata/histories")
}
