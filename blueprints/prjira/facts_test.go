package prjira_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/blueprints/blueprinttest"
	"github.com/hookflow/hookflow/blueprints/prjira"
	"github.com/hookflow/hookflow/workflows"
)

func TestKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"PROJ-12: fix", []string{"PROJ-12"}},
		{"feature/PROJ-12-retry", []string{"PROJ-12"}},
		{"[PROJ-1] and (OPS_2-7), PROJ-1 again", []string{"PROJ-1", "OPS_2-7"}},
		{"xPROJ-1 proj-2 PROJ-0 PROJ-01 P-1 PROJ-3a", []string{"PROJ-3"}},
		{"PROJ-123456 utf-8 ü-AB-9", []string{"PROJ-123456", "AB-9"}},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, prjira.Keys(tt.in))
		})
	}
}

func TestSettingsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(s *prjira.Settings)
		wantErr string
	}{
		{"defaults", func(*prjira.Settings) {}, ""},
		{"lower-case project", func(s *prjira.Settings) { s.Projects = []string{"proj"} }, `projects: "proj" is not a Jira project key`},
		{"status with spaces", func(s *prjira.Settings) { s.DoneStatus = " Done" }, "done_status"},
		{"settle too long", func(s *prjira.Settings) { s.Settle = 2 * time.Hour }, "settle: 2h0m0s is not between 0s and 1h"},
		{"override's project", func(s *prjira.Settings) {
			s.Overrides = map[string]prjira.Override{"int_1": {Projects: []string{"A-1"}}}
		}, `overrides.int_1.projects: "A-1"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := prjira.DefaultSettings()
			tt.edit(s)
			err := s.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestSettingsFor(t *testing.T) {
	t.Parallel()
	no := false
	s := prjira.DefaultSettings()
	s.Projects = []string{"PROJ"}
	s.Overrides = map[string]prjira.Override{"int_ops": {Projects: []string{"OPS"}, ReviewStatus: "-", DoneStatus: "Closed", CommentOnMerge: &no}}
	require.Equal(t, prjira.Effective{Projects: []string{"PROJ"}, ReviewStatus: "In Review", DoneStatus: "Done", CommentOnMerge: true, CommentOnClose: true,
		Settle: 5 * time.Second, CommentOnPullRequest: true, ReadCommits: true}, s.For("int_other"))
	require.Equal(t, prjira.Effective{Projects: []string{"OPS"}, DoneStatus: "Closed", CommentOnClose: true, Settle: 5 * time.Second,
		CommentOnPullRequest: true, ReadCommits: true}, s.For("int_ops"))
}

// Fold is order-insensitive and idempotent.
func TestFoldIsOrderInsensitive(t *testing.T) {
	t.Parallel()
	a := prjira.Observation{Provider: "github", Number: 1, Title: "AA-1", State: "open", Version: 1, Commits: []string{"BB-2 x"}}
	b := prjira.Observation{Provider: "github", Number: 1, Title: "AA-1 CC-3", State: "open", Version: 2, Review: true}
	c := prjira.Observation{Provider: "github", Number: 1, Title: "AA-1", State: "merged", Version: 0, MergeSHA: "abc"}
	orders := [][]prjira.Observation{{a, b, c}, {c, b, a}, {b, a, c, a}, {c, c, b, a, b}}
	var want prjira.Facts
	for i, order := range orders {
		var f prjira.Facts
		for _, o := range order {
			f = f.Fold(o)
		}
		if i == 0 {
			want = f
			continue
		}
		require.Equal(t, want, f, "order %d", i)
	}
	require.Equal(t, "merged", want.Latest.State, "merged is final even with an older version")
	require.Equal(t, []string{"AA-1", "BB-2"}, want.Wanted(nil))
	require.Equal(t, []string{"AA-1"}, want.Wanted([]string{"AA"}))
	require.True(t, want.Review)
}

// A payload held by reference (over 256 KiB) is read through a projection
// of ProjectedPaths: the observation is the same as from the payload.
func TestProjectionGivesTheSameObservation(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarios() {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			for _, d := range sc.events {
				ev := blueprinttest.Event(t, d)
				want, err := prjira.Observe(ev, ev.Payload)
				require.NoError(t, err)
				p, err := workflows.Project(ev.Payload, prjira.ProjectedPaths[ev.Source])
				require.NoError(t, err)
				got, err := prjira.Observe(ev, prjira.Rebuild(p.Values))
				require.NoError(t, err)
				require.Equal(t, want, got, d.File)
				require.NotZero(t, want.Version)
			}
		})
	}
	_, err := prjira.Observe(workflows.Event{Source: "github", Type: "push"}, json.RawMessage(`{}`))
	require.Error(t, err)
}
