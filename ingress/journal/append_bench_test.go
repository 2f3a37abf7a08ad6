package journal_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/workflows"
)

// BenchmarkSQLiteAppend appends routed 1 KiB deliveries from 64
// goroutines (group commit), with one pause in the paused set that none
// of them matches: the cost of the paused check every route insert makes.
func BenchmarkSQLiteAppend(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "j.db"))
	require.NoError(b, err)
	j, err := journal.OpenSQLite(ctx, db)
	require.NoError(b, err)
	b.Cleanup(func() { j.Close(); db.Close() })
	_, err = j.Pause(ctx, journal.Pause{Kind: journal.PauseWorkflow, ID: "someone-else"})
	require.NoError(b, err)
	payload := []byte(fmt.Sprintf(`{"pad":%q}`, make([]byte, 1000)))
	var n atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			_, err := j.Append(ctx, journal.Entry{Status: journal.Accepted, Event: workflows.Event{
				DeliveryID: fmt.Sprint("d", i), Integration: "int_b", Source: "github", Type: "push", Payload: payload,
			}, Routes: []journal.Route{{Blueprint: "bp", Workflow: "W", WorkflowID: fmt.Sprint("wf-", i%100)}}})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}
