package journal_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/ingress/journal/journaltest"
	"github.com/hookflow/hookflow/ingress/sqlite"
)

func TestSQLiteConformance(t *testing.T) {
	t.Parallel()
	journaltest.Run(t, func(t *testing.T) func() journal.Journal {
		path := filepath.Join(t.TempDir(), "journal.db")
		return func() journal.Journal {
			db, err := sqlite.Open(path)
			require.NoError(t, err)
			j, err := journal.OpenSQLite(context.Background(), db)
			require.NoError(t, err)
			t.Cleanup(func() { j.Close(); db.Close() })
			return j
		}
	})
}
