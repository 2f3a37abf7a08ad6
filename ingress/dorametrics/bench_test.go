package dorametrics

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/postgres"
	"github.com/hookflow/hookflow/ingress/postgres/pgtest"
	"github.com/hookflow/hookflow/ingress/sqlite"
)

// seed writes n deployments over 10 repositories and 90 days, three
// commits each, one in ten failed, and an incident per 20 deployments.
func seed(b *testing.B, s *Store, n int) {
	ctx := context.Background()
	base := at("2026-08-01T00:00:00Z")
	step := 90 * 24 * time.Hour / time.Duration(n)
	var ds []Deployment
	var is []Incident
	flush := func() {
		require.NoError(b, s.UpsertDeployments(ctx, ds))
		require.NoError(b, s.UpsertIncidents(ctx, is))
		ds, is = ds[:0], is[:0]
	}
	for i := range n {
		fin := base.Add(time.Duration(i) * step)
		d := Deployment{ID: fmt.Sprintf("d%d", i), Repo: fmt.Sprintf("acme/r%d", i%10), Environment: "production",
			SHA: fmt.Sprintf("s%d", i), Status: StatusSuccess, FinishedAt: fin}
		if i%10 == 3 {
			d.Status = StatusFailure
		}
		for c := range 3 {
			d.Commits = append(d.Commits, Commit{SHA: fmt.Sprintf("c%d-%d", i, c), CommittedAt: fin.Add(-time.Duration(c+1) * time.Hour)})
		}
		ds = append(ds, d)
		if i%20 == 0 {
			is = append(is, Incident{Key: fmt.Sprintf("i%d", i), Repo: d.Repo, CreatedAt: fin.Add(time.Hour),
				ResolvedAt: fin.Add(3 * time.Hour), CauseDeploymentID: d.ID})
		}
		if len(ds) == 500 {
			flush()
		}
	}
	if len(ds) > 0 {
		flush()
	}
}

// BenchmarkReport10000 is the report over 10,000 deployments (30,000
// commits, 500 incidents), every repository, a 90-day window.
func BenchmarkReport10000(b *testing.B) {
	open := map[string]func(b *testing.B) *Store{
		"sqlite": func(b *testing.B) *Store {
			db, err := sqlite.Open(filepath.Join(b.TempDir(), "dora.db"))
			require.NoError(b, err)
			b.Cleanup(func() { db.Close() })
			s, err := OpenStore(context.Background(), db)
			require.NoError(b, err)
			return s
		},
		"postgres": func(b *testing.B) *Store {
			db, err := postgres.Open(context.Background(), pgtest.Schema(b))
			require.NoError(b, err)
			b.Cleanup(func() { db.Close() })
			s, err := OpenPostgresStore(context.Background(), db)
			require.NoError(b, err)
			return s
		},
	}
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			s := open[name](b)
			seed(b, s, 10000)
			q := Query{Since: at("2026-08-01T00:00:00Z"), Until: at("2026-10-30T00:00:00Z")}
			b.ResetTimer()
			for b.Loop() {
				r, err := s.Report(context.Background(), q)
				require.NoError(b, err)
				require.Len(b, r.Repositories, 10)
			}
		})
	}
}
