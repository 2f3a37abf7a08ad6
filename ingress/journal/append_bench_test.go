package journal_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/workflows"
)

// BenchmarkSQLiteAppend appends routed deliveries from 64 goroutines
// (group commit), with one pause in the paused set that none of them
// matches: the cost of the paused check every route insert makes. The
// payloads are pseudo-random words, which compress about as well as real
// webhook JSON (2-3x). The delivery IDs are random GUIDs, as GitHub's are:
// each lands on its own page of the dedup index.
func BenchmarkSQLiteAppend(b *testing.B) {
	for _, size := range []int{1 << 10, 8 << 10, 22 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) { benchmarkSQLiteAppend(b, size) })
	}
}

func benchmarkSQLiteAppend(b *testing.B, size int) {
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(b.TempDir(), "j.db"))
	require.NoError(b, err)
	j, err := journal.OpenSQLite(ctx, db)
	require.NoError(b, err)
	b.Cleanup(func() { j.Close(); db.Close() })
	_, err = j.Pause(ctx, journal.Pause{Kind: journal.PauseWorkflow, ID: "someone-else"})
	require.NoError(b, err)
	payload := []byte(fmt.Sprintf(`{"body":%q}`, words(size-11)))
	var n atomic.Int64 // routes spread over 100 workflows
	b.SetBytes(int64(len(payload)))
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			_, err := j.Append(ctx, journal.Entry{Status: journal.Accepted, Event: workflows.Event{
				DeliveryID: uuid.NewString(), Integration: "int_b", Source: "github", Type: "push", Payload: payload,
			}, Routes: []journal.Route{{Blueprint: "bp", Workflow: "W", WorkflowID: fmt.Sprint("wf-", i%100)}}})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// words returns n bytes of words drawn at random from a small vocabulary.
func words(n int) string {
	vocab := strings.Fields("the a to of and in is for fix add update test build deploy release webhook request retry event payload journal branch commit merge review issue pipeline")
	r := rand.New(rand.NewPCG(1, 2))
	var s strings.Builder
	for s.Len() < n {
		s.WriteString(vocab[r.IntN(len(vocab))])
		s.WriteByte(' ')
	}
	return s.String()[:n]
}
