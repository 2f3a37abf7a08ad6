package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

func newDevCmd(g *globals) *cobra.Command {
	var (
		httpAddr     string
		publicURL    string
		temporalPort int
		uiPort       int
		taskQueue    string
		components   string
		wc           workerConfig
		ic           ingressConfig
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything on this machine: Temporal, the Temporal UI, the ingress, the forwarder and a worker",
		Long: `Run a complete Hookflow in one process, with one data directory (--data-dir):

  - a Temporal dev server persisted in <data-dir>/temporal.db (gRPC on --temporal-port,
    which also takes the next four ports for its internal services; Web UI on --ui-port)
  - the ingress on --http, with the journal and integrations in <data-dir>/hookflow.db
  - the forwarder, and a worker with every blueprint registered

GitHub calls use the token store (see hookflow tokens), then HOOKFLOW_GITHUB_TOKEN (or
GITHUB_TOKEN), or act as the GitHub App given with --github-app-id, against the API at
--github-api-url. Stop with Ctrl-C or SIGTERM; a second start on the same data directory
keeps the workflows, the journal and the integrations.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := g.logger()
			run, err := parseComponents(components)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(g.dataDir, 0o700); err != nil {
				return fmt.Errorf("create data directory: %w", err)
			}
			host, _, err := net.SplitHostPort(httpAddr)
			if err != nil {
				return fmt.Errorf("--http %q: %w", httpAddr, err)
			}
			if host == "" || host == "0.0.0.0" || host == "::" {
				host = "127.0.0.1"
			}
			out := cmd.OutOrStdout()
			temporalAddr := net.JoinHostPort(host, strconv.Itoa(temporalPort))
			uiURL := ""
			if run["temporal"] {
				fmt.Fprintf(out, "starting Temporal dev server (data in %s)...\n", filepath.Join(g.dataDir, "temporal.db"))
				dev, err := startTemporal(host, temporalPort, uiPort, filepath.Join(g.dataDir, "temporal.db"))
				if err != nil {
					return err
				}
				defer dev.Stop()
				temporalAddr, uiURL = dev.Address(), dev.UIAddress()
			}
			banner := func(ingressAddr string) {
				fmt.Fprintf(out, "hookflow dev is running\n")
				if ingressAddr != "" {
					fmt.Fprintf(out, "  ingress      http://%s  (webhooks at /hooks/<path>, admin API at /admin/v1)\n", ingressAddr)
				}
				fmt.Fprintf(out, "  temporal     %s  (namespace default, task queue %s)\n", temporalAddr, taskQueue)
				if uiURL != "" {
					fmt.Fprintf(out, "  temporal UI  %s\n", uiURL)
				}
				fmt.Fprintf(out, "  data dir     %s\n", g.dataDir)
				if ingressAddr != "" {
					fmt.Fprintf(out, "  admin token  %s\n", filepath.Join(g.dataDir, adminTokenFile))
				}
				fmt.Fprintf(out, "press Ctrl-C to stop\n")
			}
			if !run["worker"] && !run["ingress"] {
				banner("")
				<-ctx.Done()
				return nil
			}

			tr, err := newTracing(ctx, "dev")
			if err != nil {
				return err
			}
			defer tr.shutdown(context.WithoutCancel(ctx))
			c, err := lazyTemporal(temporalAddr, "default", log, tr)
			if err != nil {
				return err
			}
			defer c.Close()
			if run["worker"] {
				wc.TaskQueue = taskQueue
				w, err := startWorker(c, g.dataDir, wc)
				if err != nil {
					return err
				}
				defer w.Stop()
			}
			if !run["ingress"] {
				banner("")
				<-ctx.Done()
				return nil
			}
			token, _, err := ensureAdminToken(g.dataDir)
			if err != nil {
				return err
			}
			if publicURL == "" {
				publicURL = "http://" + httpAddr
			}
			ic.HTTPAddr, ic.PublicURL, ic.DataDir, ic.TaskQueue = httpAddr, publicURL, g.dataDir, taskQueue
			ic.Temporal, ic.Tracing, ic.AdminToken = c, tr, token
			ic.Recovery = recoverySettings{GitHubAPIURL: wc.GitHubAPIURL, GitHubAppID: wc.GitHubAppID}
			ic.Ready = func(a net.Addr) { banner(a.String()) }
			return runIngress(ctx, ic, log)
		},
	}
	f := cmd.Flags()
	f.StringVar(&httpAddr, "http", "127.0.0.1:8080", "ingress listen address")
	f.StringVar(&publicURL, "public-url", "", "base URL senders use to reach the ingress (default http://<--http>)")
	f.IntVar(&temporalPort, "temporal-port", 7233, "Temporal gRPC port (the next four ports are used too)")
	f.IntVar(&uiPort, "ui-port", 8233, "Temporal Web UI port (0 disables the UI)")
	f.StringVar(&taskQueue, "task-queue", "hookflow", "Temporal task queue of the blueprints")
	wc.addFlags(f)
	ic.addFlags(f, 0)
	f.StringVar(&components, "components", "temporal,worker,ingress", "what to run: any of temporal, worker, ingress (the others are reached at --temporal-port)")
	return cmd
}

func parseComponents(v string) (map[string]bool, error) {
	run := map[string]bool{}
	for _, c := range strings.Split(v, ",") {
		switch c = strings.TrimSpace(c); c {
		case "temporal", "worker", "ingress":
			run[c] = true
		default:
			return nil, fmt.Errorf("--components: unknown component %q (want temporal, worker, ingress)", c)
		}
	}
	return run, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// temporalServer is a running embedded Temporal server (temporal_*.go).
type temporalServer interface {
	Address() string
	UIAddress() string
	Stop()
}
