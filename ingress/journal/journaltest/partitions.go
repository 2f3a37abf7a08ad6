package journaltest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/journal"
)

// Replica opens one more process's view of the shared store under test
// (its own connections), closed when the test ends; kill, when not nil,
// ends every database session of that replica without closing it, as a
// crash or a network cut would.
type Replica func(t *testing.T) (p journal.Partitioner, kill func())

// RunPartitions runs the partition-leasing suite: newStore returns a
// function opening replicas of one fresh store.
func RunPartitions(t *testing.T, newStore func(t *testing.T) Replica) {
	t.Run("OneReplicaHoldsAll", func(t *testing.T) { t.Parallel(); oneHoldsAll(t, newStore(t)) })
	for _, how := range []string{"release", "kill"} {
		t.Run("SplitAndTakeOver/"+how, func(t *testing.T) { t.Parallel(); splitAndTakeOver(t, newStore(t), how) })
	}
}

// rounds calls Partitions of each lease, as forwarders do between rounds,
// until cond holds for what they returned.
func rounds(t *testing.T, within time.Duration, cond func(held [][]int) bool, leases ...journal.PartitionLease) [][]int {
	t.Helper()
	var held [][]int
	require.Eventually(t, func() bool {
		held = held[:0]
		for _, l := range leases {
			held = append(held, l.Partitions())
		}
		return cond(held)
	}, within, 50*time.Millisecond, "partitions held: %v", held)
	return held
}

func all() []int {
	out := make([]int, journal.Partitions)
	for i := range out {
		out[i] = i
	}
	return out
}

func oneHoldsAll(t *testing.T, open Replica) {
	p, _ := open(t)
	l, err := p.LeasePartitions(context.Background())
	require.NoError(t, err)
	defer l.Release()
	rounds(t, 5*time.Second, func(h [][]int) bool { return slices.Equal(h[0], all()) }, l)
	l.Release()
	l.Release()
	select {
	case <-l.Lost():
	default:
		t.Fatal("Release closes Lost")
	}
	require.Empty(t, l.Partitions())
}

// splitAndTakeOver: a second replica gets half the partitions, disjoint
// from the first's; when it goes away the first holds them all again,
// within journal.PartitionLeaseBound.
func splitAndTakeOver(t *testing.T, open Replica, how string) {
	ctx := context.Background()
	p1, _ := open(t)
	p2, kill2 := open(t)
	l1, err := p1.LeasePartitions(ctx)
	require.NoError(t, err)
	defer l1.Release()
	rounds(t, 5*time.Second, func(h [][]int) bool { return len(h[0]) == journal.Partitions }, l1)
	l2, err := p2.LeasePartitions(ctx)
	require.NoError(t, err)
	defer l2.Release()
	held := rounds(t, 10*time.Second, func(h [][]int) bool {
		return len(h[0]) == journal.Partitions/2 && len(h[1]) == journal.Partitions/2
	}, l1, l2)
	require.Equal(t, all(), slices.Sorted(slices.Values(append(slices.Clone(held[0]), held[1]...))), "disjoint, and together every partition")

	switch how {
	case "release":
		l2.Release()
	case "kill":
		kill2()
	}
	start := time.Now()
	rounds(t, journal.PartitionLeaseBound+2*time.Second, func(h [][]int) bool { return len(h[0]) == journal.Partitions }, l1)
	t.Logf("partitions moved in %v (%s)", time.Since(start).Round(time.Millisecond), how)
	if how == "kill" {
		select {
		case <-l2.Lost():
		case <-time.After(5 * time.Second):
			t.Fatal("the killed replica did not notice it lost its lease")
		}
		require.Empty(t, l2.Partitions())
	}
	select {
	case <-l1.Lost():
		t.Fatal("the first lease is intact")
	default:
	}
}
