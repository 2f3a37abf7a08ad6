package dora_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/blueprints/dora"
)

const reportJSON = `{"since":"2026-11-01T00:00:00Z","until":"2026-11-11T00:00:00Z","repositories":[
{"repo":"acme/api","environment":"production","deployments":6,"failed_deployments":3,"incidents":4,"deployment_frequency_per_day":0.5,
 "lead_time_median_seconds":21600,"lead_time_p90_seconds":86400,"change_failure_rate":0.5,"time_to_restore_median_seconds":6300.5},
{"repo":"acme/web","environment":"production","deployments":0,"failed_deployments":0,"incidents":1,"deployment_frequency_per_day":0,
 "lead_time_median_seconds":null,"lead_time_p90_seconds":null,"change_failure_rate":null,"time_to_restore_median_seconds":3600}]}`

type call struct {
	method, path string
	in           any
}

func run(t *testing.T, name, output string, args []string, answer string) (string, []call, error) {
	t.Helper()
	var cmd blueprints.Command
	for _, c := range dora.Commands {
		if c.Name == name {
			cmd = c
		}
	}
	f := pflag.NewFlagSet(name, pflag.ContinueOnError)
	cmd.Flags(f)
	require.NoError(t, f.Parse(args))
	var out bytes.Buffer
	var calls []call
	err := cmd.Run(context.Background(), blueprints.CommandEnv{Flags: f, Out: &out, Output: output,
		Admin: func(_ context.Context, method, path string, in, o any) error {
			calls = append(calls, call{method, path, in})
			return json.Unmarshal([]byte(answer), o)
		}})
	return out.String(), calls, err
}

func TestReportCommand(t *testing.T) {
	t.Parallel()
	out, calls, err := run(t, "report", "json", []string{"--repo", "acme/api", "--env", "production", "--since", "2026-11-01T00:00:00Z", "--until", "2026-11-11T00:00:00Z"}, reportJSON)
	require.NoError(t, err)
	require.JSONEq(t, reportJSON, out, "json is the server's answer, unchanged")
	require.Len(t, calls, 1)
	u, err := url.Parse(calls[0].path)
	require.NoError(t, err)
	require.Equal(t, "/dora/report", u.Path)
	require.Equal(t, url.Values{"repo": {"acme/api"}, "env": {"production"}, "since": {"2026-11-01T00:00:00Z"}, "until": {"2026-11-11T00:00:00Z"}}, u.Query())

	// --since 30d counts back from --until.
	_, calls, err = run(t, "report", "json", []string{"--until", "2026-12-01T00:00:00Z"}, reportJSON)
	require.NoError(t, err)
	u, _ = url.Parse(calls[0].path)
	require.Equal(t, "2026-11-01T00:00:00Z", u.Query().Get("since"))

	out, _, err = run(t, "report", "table", nil, reportJSON)
	require.NoError(t, err)
	require.Contains(t, out, "acme/api")
	require.Contains(t, out, "6h0m0s")
	require.Contains(t, out, "50.0%")
	require.Contains(t, out, "3.50", "per week")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 4)
	require.Contains(t, lines[3], " - ", "no data is a dash")

	_, _, err = run(t, "report", "json", []string{"--since", "last tuesday"}, reportJSON)
	require.ErrorContains(t, err, "--since")
}

func TestPruneCommand(t *testing.T) {
	t.Parallel()
	out, calls, err := run(t, "prune", "table", []string{"--batch", "batch_1", "--dry-run"}, `{"deployments": 2, "incidents": 1, "dry_run": true}`)
	require.NoError(t, err)
	require.Equal(t, "would remove 2 deployments and 1 incidents\n", out)
	require.Equal(t, "/dora/prune", calls[0].path)
	require.Equal(t, dora.PruneRequest{Batch: "batch_1", DryRun: true}, calls[0].in)

	_, calls, err = run(t, "prune", "json", []string{"--repo", "acme/api", "--since", "2026-11-20"}, `{"deployments": 1, "incidents": 0}`)
	require.NoError(t, err)
	require.Equal(t, dora.PruneRequest{Repo: "acme/api", Since: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)}, calls[0].in)

	for _, args := range [][]string{nil, {"--batch", "b", "--repo", "r"}, {"--batch", "b", "--since", "1d"}} {
		_, calls, err := run(t, "prune", "table", args, `{}`)
		require.Error(t, err, "%v", args)
		require.Empty(t, calls)
	}
}
