package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress"
	"github.com/hookflow/hookflow/ingress/journal"
)

// startTestIngress runs runIngress (SQLite journal, no Temporal) and
// returns its URL.
func startTestIngress(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	cfg := ingressConfig{HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(), TaskQueue: "q", AdminToken: testAdminToken,
		Ready: func(a net.Addr) { ready <- a }}
	done := make(chan error, 1)
	go func() { done <- runIngress(ctx, cfg, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case a := <-ready:
		return "http://" + a.String()
	case err := <-done:
		t.Fatalf("runIngress: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("ingress not up")
	}
	return ""
}

// hookflow deliveries pause, paused and resume against a real ingress;
// the held gauge is on its /metrics.
func TestDeliveriesPauseCommands(t *testing.T) {
	t.Parallel()
	url := startTestIngress(t)
	g := func(output string) *globals {
		return &globals{server: url, output: output, getenv: func(k string) string {
			return map[string]string{"HOOKFLOW_ADMIN_TOKEN": testAdminToken}[k]
		}}
	}
	out, err := runCmd(t, newDeliveriesCmd(g("table")), "", "pause", "--workflow", "github/o/r/pr/1", "--reason", "broken bot")
	require.NoError(t, err, out)
	require.Equal(t, "paused workflow github/o/r/pr/1: 0 deliveries held\n", out)

	out, err = runCmd(t, newDeliveriesCmd(g("json")), "", "paused")
	require.NoError(t, err, out)
	var list []journal.Pause
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	require.Len(t, list, 1)
	require.Equal(t, "broken bot", list[0].Reason)
	out, err = runCmd(t, newDeliveriesCmd(g("table")), "", "paused")
	require.NoError(t, err, out)
	require.Contains(t, out, "KIND")
	require.Contains(t, out, "workflow  github/o/r/pr/1  0")

	resp, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(b), "hookflow_routes_held 0")
	require.Contains(t, string(b), `hookflow_pauses{kind="workflow"} 1`)

	out, err = runCmd(t, newDeliveriesCmd(g("json")), "", "resume", "--workflow", "github/o/r/pr/1")
	require.NoError(t, err, out)
	var res ingress.PauseResult
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Equal(t, ingress.PauseResult{Kind: journal.PauseWorkflow, ID: "github/o/r/pr/1"}, res)

	for _, tc := range []struct {
		name string
		args []string
		err  string
	}{
		{"resume what is not paused", []string{"resume", "--workflow", "github/o/r/pr/1"}, "is not paused"},
		{"unknown integration", []string{"pause", "--integration", "int_nope"}, "no such integration"},
		{"neither flag", []string{"pause"}, "at least one of the flags in the group [workflow integration] is required"},
		{"both flags", []string{"resume", "--workflow", "w", "--integration", "i"}, "were all set"},
	} {
		_, err := runCmd(t, newDeliveriesCmd(g("table")), "", tc.args...)
		require.ErrorContains(t, err, tc.err, tc.name)
	}
}

// hookflow deliveries stuck against a real ingress without Temporal.
func TestDeliveriesStuckCommand(t *testing.T) {
	t.Parallel()
	url := startTestIngress(t)
	g := func(output string) *globals {
		return &globals{server: url, output: output, getenv: func(k string) string {
			return map[string]string{"HOOKFLOW_ADMIN_TOKEN": testAdminToken}[k]
		}}
	}
	out, err := runCmd(t, newDeliveriesCmd(g("table")), "", "stuck")
	require.NoError(t, err, out)
	require.Contains(t, out, "Oldest pending: none")
	require.Contains(t, out, "Backlogged workflows: 0 (the largest backlog is 0)")
	require.Contains(t, out, "Failing forwards: 0")
	require.Contains(t, out, "Ended workflows: not checked")
	out, err = runCmd(t, newDeliveriesCmd(g("json")), "", "stuck", "--backlog-above", "5", "--since", "2h")
	require.NoError(t, err, out)
	var v ingress.StuckView
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.False(t, v.EndedChecked)
	require.Empty(t, v.RecentWorkflows)
	_, err = runCmd(t, newDeliveriesCmd(g("table")), "", "stuck", "--since", "tuesday")
	require.ErrorContains(t, err, "--since")
}
