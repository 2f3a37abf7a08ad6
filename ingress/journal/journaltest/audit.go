package journaltest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/journal"
)

// auditLog: records come back newest first, bounded by Since and Limit,
// with every field; oversized fields are clipped; incomplete ones refused.
func auditLog(t *testing.T, open func() journal.Journal) {
	ctx := context.Background()
	j := open()
	defer j.Close()
	a, ok := j.(journal.Audit)
	if !ok {
		t.Skipf("%T does not implement journal.Audit", j)
	}
	old := time.Now().Add(-2 * time.Hour).UTC().Truncate(time.Microsecond)
	require.NoError(t, a.RecordAudit(ctx, journal.AuditRecord{At: old, Actor: "admin-token", Role: "admin", Via: "cli", Action: "integration.create", Target: "int_1"}))
	require.NoError(t, a.RecordAudit(ctx, journal.AuditRecord{Actor: "alice@example.com", Role: "operator", Via: "console", Action: "delivery.replay", Target: "7", Detail: strings.Repeat("x", 5000)}))
	require.Error(t, a.RecordAudit(ctx, journal.AuditRecord{Actor: "x"}), "no action, no via")

	all, err := a.AuditLog(ctx, journal.AuditFilter{})
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, "delivery.replay", all[0].Action, "newest first")
	require.Equal(t, "alice@example.com", all[0].Actor)
	require.Equal(t, "console", all[0].Via)
	require.Len(t, all[0].Detail, 1000, "clipped")
	require.WithinDuration(t, time.Now(), all[0].At, time.Minute)
	require.Equal(t, journal.AuditRecord{Seq: all[1].Seq, At: old, Actor: "admin-token", Role: "admin", Via: "cli", Action: "integration.create", Target: "int_1"}, all[1])
	require.Greater(t, all[0].Seq, all[1].Seq)

	recent, err := a.AuditLog(ctx, journal.AuditFilter{Since: time.Now().Add(-time.Hour)})
	require.NoError(t, err)
	require.Len(t, recent, 1)
	one, err := a.AuditLog(ctx, journal.AuditFilter{Limit: 1})
	require.NoError(t, err)
	require.Len(t, one, 1)
}
