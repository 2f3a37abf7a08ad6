package catalog_test

import (
	"testing"

	"github.com/hookflow/hookflow/blueprints/blueprinttest"
	"github.com/hookflow/hookflow/blueprints/catalog"
)

// TestReplayRecordedHistories replays histories recorded under hookflow dev
// (internal/e2e TestCatalogEndToEnd with HOOKFLOW_RECORD_HISTORY_CATALOG):
// a change that would break running repositories' workflows fails here and
// must go behind workflow.GetVersion.
func TestReplayRecordedHistories(t *testing.T) {
	t.Parallel()
	blueprinttest.Replay(t, catalog.Blueprint, "testdata/histories")
}
