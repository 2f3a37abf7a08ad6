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

	"github.com/hookflow/hookflow/ingress/sqlite"
)

func newDevCmd(g *globals) *cobra.Command {
	var (
		httpAddr     string
		publicURL    string
		temporalPort int
		uiPort       int
		// temporalListen is where the embedded Temporal listens (and where
		// the worker and forwarder dial it).
		temporalListen string
		taskQueue      string
		components     string
		wc             workerConfig
		ic             ingressConfig
		ttls           temporalTLS
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything on this machine: Temporal, the Temporal UI, the ingress, the forwarder and a worker",
		Long: `Run a complete Hookflow in one process, with one data directory (--data-dir):

  - a Temporal dev server persisted in <data-dir>/temporal.db (gRPC on --temporal-port,
    which also takes the next four ports for its internal services; Web UI on --ui-port),
    on 127.0.0.1 even when --http is a LAN address: it has no authentication, so only
    --temporal-listen IP puts it on a network
  - the ingress on --http, with the journal and integrations in <data-dir>/hookflow.db
  - the forwarder, and a worker with every enabled blueprint registered

With no configuration file (--config, HOOKFLOW_CONFIG) every blueprint that can run
is enabled, and the banner says which are off and what would turn them on.

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
			file, err := g.loadConfig(cmd.Flags())
			if err != nil {
				return err
			}
			off, err := resolveBlueprints(&wc, file)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(g.dataDir, 0o700); err != nil {
				return fmt.Errorf("create data directory: %w", err)
			}
			if _, _, err := net.SplitHostPort(httpAddr); err != nil {
				return fmt.Errorf("--http %q: %w", httpAddr, err)
			}
			host, err := temporalHost(temporalListen)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			temporalAddr := net.JoinHostPort(host, strconv.Itoa(temporalPort))
			uiURL := ""
			if run["temporal"] {
				fmt.Fprintf(out, "starting Temporal dev server (data in %s)...\n", filepath.Join(g.dataDir, "temporal.db"))
				dbFile := filepath.Join(g.dataDir, "temporal.db")
				dev, err := g.startTemporal(host, temporalPort, uiPort, dbFile)
				if err != nil {
					return err
				}
				defer dev.Stop()
				if err := restrictDatabase(dbFile); err != nil {
					return err
				}
				temporalAddr, uiURL = dev.Address(), dev.UIAddress()
			}
			banner := func(ingressAddr string) {
				fmt.Fprintf(out, "hookflow dev is running\n")
				switch {
				case ingressAddr != "" && ic.AdminHTTP != "":
					fmt.Fprintf(out, "  ingress      http://%s  (webhooks at /hooks/<path>)\n", ingressAddr)
					fmt.Fprintf(out, "  admin API    http://%s  (/admin/v1 and /metrics; hookflow commands need --server http://%s)\n", ic.AdminHTTP, ic.AdminHTTP)
					fmt.Fprintf(out, "  console      http://%s/console  (sign in with the admin token)\n", ic.AdminHTTP)
				case ingressAddr != "":
					fmt.Fprintf(out, "  ingress      http://%s  (webhooks at /hooks/<path>, admin API at /admin/v1)\n", ingressAddr)
					fmt.Fprintf(out, "  console      http://%s/console  (sign in with the admin token)\n", ingressAddr)
				}
				fmt.Fprintf(out, "  temporal     %s  (namespace default, task queue %s)\n", temporalAddr, taskQueue)
				if uiURL != "" {
					fmt.Fprintf(out, "  temporal UI  %s\n", uiURL)
				}
				fmt.Fprintf(out, "  data dir     %s\n", g.dataDir)
				if file.Path() != "" {
					fmt.Fprintf(out, "  config       %s\n", file.Path())
				}
				if run["worker"] || run["ingress"] {
					printBlueprints(out, wc.Blueprints, off)
				}
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
			withTLS, err := ttls.option()
			if err != nil {
				return err
			}
			c, err := lazyTemporal(temporalAddr, "default", log, tr, withTLS)
			if err != nil {
				return err
			}
			defer c.Close()
			token, _, err := ensureAdminToken(g.dataDir, g.env)
			if err != nil {
				return err
			}
			if run["worker"] {
				wc.TaskQueue = taskQueue
				if wc.PayloadURL == "" && run["ingress"] {
					// The worker reads large payloads from this process's
					// own ingress.
					wc.PayloadURL, wc.PayloadToken = "http://"+httpAddr, token
				}
				wc.Tracing = tr
				w, err := startWorker(ctx, c, g.dataDir, wc)
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
			if publicURL == "" {
				publicURL = "http://" + httpAddr
			}
			ic.HTTPAddr, ic.PublicURL, ic.DataDir, ic.TaskQueue = httpAddr, publicURL, g.dataDir, taskQueue
			ic.Temporal, ic.Tracing, ic.AdminToken, ic.Blueprints = c, tr, token, wc.Blueprints
			// The console is part of dev; it links to dev's own UI unless
			// --temporal-ui-url names another.
			ic.Console = true
			if ic.TemporalUIURL == "" {
				ic.TemporalUIURL = uiURL
			}
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
	f.StringVar(&temporalListen, "temporal-listen", "127.0.0.1", "IP address the embedded Temporal frontend and Web UI listen on, whatever --http says; any other than loopback exposes them, without authentication, to that network")
	f.StringVar(&taskQueue, "task-queue", "hookflow", "Temporal task queue of the blueprints")
	wc.addFlags(f)
	ic.addFlags(f, 0)
	ttls.addFlags(f)
	f.StringVar(&components, "components", "temporal,worker,ingress", "what to run: any of temporal, worker, ingress (the others are reached at --temporal-port)")
	return cmd
}

// temporalHost checks --temporal-listen: an IP address of this machine. A
// name or the unspecified address is refused: the embedded server also
// dials its own services at that address.
func temporalHost(listen string) (string, error) {
	ip := net.ParseIP(listen)
	switch {
	case ip == nil:
		return "", fmt.Errorf("--temporal-listen %q: want an IP address (127.0.0.1, or this machine's address on a network that may reach Temporal without authentication)", listen)
	case ip.IsUnspecified():
		return "", fmt.Errorf("--temporal-listen %q: give one address of this machine, not every one", listen)
	}
	return ip.String(), nil
}

// restrictDatabase narrows the embedded Temporal database (workflow
// histories: event payloads) and its -wal and -shm to the owner, as
// ingress/sqlite does for the journal: the Temporal server creates them
// 0644.
func restrictDatabase(dbFile string) error {
	for _, p := range []string{dbFile, dbFile + "-wal", dbFile + "-shm"} {
		if err := sqlite.Restrict(p); err != nil {
			return fmt.Errorf("restrict %s: %w", p, err)
		}
	}
	return nil
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
