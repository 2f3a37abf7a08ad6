package changegate_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/blueprints/changegate"
	"github.com/hookflow/hookflow/internal/config"
)

// The settings as operators write them in hookflow.yaml, through the
// configuration loader the binary uses.
func TestSettingsFromHookflowYAML(t *testing.T) {
	t.Parallel()
	list := []blueprints.Blueprint{changegate.Blueprint}
	f, err := config.Parse([]byte(`
blueprints:
  changegate:
    settings:
      environments: [production, prod-eu]
      assignment_group: Release Management
      reminders: [2h, 1d]
      reject_after: 3d
      poll_interval: 30m
      fields: {cmdb_ci: payments}
`), list)
	require.NoError(t, err)
	s, err := f.Settings(changegate.Blueprint)
	require.NoError(t, err)
	got := s.(*changegate.Settings)
	require.Equal(t, []string{"production", "prod-eu"}, got.Environments)
	require.Equal(t, []changegate.Duration{changegate.Duration(2 * time.Hour), changegate.Duration(24 * time.Hour)}, got.Reminders)
	require.Equal(t, 72*time.Hour, got.RejectAfter.D())
	require.Equal(t, 24*time.Hour, got.DeployTimeout.D(), "defaults kept")
	require.Equal(t, "payments", got.Fields["cmdb_ci"])

	for yaml, key := range map[string]string{
		"reject_after: 30d":   "reject_after",
		"reject_after: soon":  "line 4",
		"remindrs: [1h]":      "remindrs",
		"events: [push]":      "events",
		"poll_interval: 10s":  "poll_interval",
		"reminders: [80h]":    "reminders",
		"deploy_timeout: 45d": "deploy_timeout",
	} {
		f, err := config.Parse([]byte("blueprints:\n  changegate:\n    settings:\n      "+yaml+"\n"), list)
		if err == nil {
			_, err = f.Settings(changegate.Blueprint)
		}
		require.Error(t, err, yaml)
		require.Contains(t, err.Error(), key, yaml)
	}
}
