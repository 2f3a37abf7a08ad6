package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"
)

func newIngressCmd(g *globals) *cobra.Command {
	var httpAddr, publicURL, temporalAddr, namespace, taskQueue string
	var forward bool
	var rateLimit float64
	var maxBacklog int
	var journalURL string
	var retention time.Duration
	cmd := &cobra.Command{
		Use:   "ingress",
		Short: "Run the ingress (and its forwarder) against an existing Temporal",
		Long: `Run the webhook receiver on --http with its journal in --data-dir, and forward accepted
deliveries to the Temporal frontend at --temporal-address. The ingress starts and journals
deliveries even while Temporal is unreachable; the forwarder catches up when it returns.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := g.logger()
			if err := os.MkdirAll(g.dataDir, 0o700); err != nil {
				return fmt.Errorf("create data directory: %w", err)
			}
			token, _, err := ensureAdminToken(g.dataDir)
			if err != nil {
				return err
			}
			cfg := ingressConfig{HTTPAddr: httpAddr, PublicURL: publicURL, DataDir: g.dataDir, TaskQueue: taskQueue, AdminToken: token, RateLimit: rateLimit, MaxBacklog: maxBacklog, Journal: journalURL, Retention: retention,
				Ready: func(a net.Addr) { fmt.Fprintf(cmd.OutOrStdout(), "hookflow ingress listening on http://%s\n", a) }}
			if cfg.PublicURL == "" {
				cfg.PublicURL = "http://" + httpAddr
			}
			tr, err := newTracing(cmd.Context(), "ingress")
			if err != nil {
				return err
			}
			defer tr.shutdown(context.WithoutCancel(cmd.Context()))
			cfg.Tracing = tr
			if forward {
				c, err := lazyTemporal(temporalAddr, namespace, log, tr)
				if err != nil {
					return err
				}
				defer c.Close()
				cfg.Temporal = c
			}
			return runIngress(cmd.Context(), cfg, log)
		},
	}
	f := cmd.Flags()
	f.StringVar(&httpAddr, "http", "127.0.0.1:8080", "listen address")
	f.StringVar(&publicURL, "public-url", "", "base URL senders use to reach the ingress (default http://<--http>)")
	f.StringVar(&temporalAddr, "temporal-address", envOr("TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend host:port (env TEMPORAL_ADDRESS)")
	f.StringVar(&namespace, "namespace", envOr("TEMPORAL_NAMESPACE", "default"), "Temporal namespace (env TEMPORAL_NAMESPACE)")
	f.StringVar(&taskQueue, "task-queue", "hookflow", "task queue of the blueprints' workers")
	f.BoolVar(&forward, "forward", true, "run the forwarder in this process")
	f.StringVar(&journalURL, "journal", envOr("HOOKFLOW_JOURNAL", ""), "journal: sqlite://PATH (default <data-dir>/hookflow.db) or postgres://DSN shared by replicas (env HOOKFLOW_JOURNAL)")
	f.IntVar(&maxBacklog, "max-backlog", 100000, "accepted-but-unforwarded deliveries before the ingress answers 503 (0: no bound)")
	f.DurationVar(&retention, "retention", 30*24*time.Hour, "prune journal entries older than this, hourly (0: keep everything)")
	f.Float64Var(&rateLimit, "rate-limit", 200, "default requests/s per integration (0: no limit; the integration option rate_limit overrides it)")
	return cmd
}

func newWorkerCmd(g *globals) *cobra.Command {
	var temporalAddr, namespace, taskQueue, githubAPI, githubAppID, relayURL string
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a worker with every blueprint and activity against an existing Temporal",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := g.logger()
			tr, err := newTracing(cmd.Context(), "worker")
			if err != nil {
				return err
			}
			defer tr.shutdown(context.WithoutCancel(cmd.Context()))
			c, err := dialTemporal(cmd.Context(), temporalAddr, namespace, log, tr)
			if err != nil {
				return err
			}
			defer c.Close()
			ts, err := openTokenStore(g.dataDir)
			if err != nil {
				return err
			}
			w, err := newWorker(c, workerConfig{TaskQueue: taskQueue, GitHubAPIURL: githubAPI, GitHubAppID: githubAppID, RelayURL: relayURL, Tokens: ts})
			if err != nil {
				return err
			}
			if err := w.Start(); err != nil {
				return err
			}
			defer w.Stop()
			fmt.Fprintf(cmd.OutOrStdout(), "hookflow worker polling %s on %s\n", taskQueue, temporalAddr)
			<-cmd.Context().Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&temporalAddr, "temporal-address", envOr("TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend host:port (env TEMPORAL_ADDRESS)")
	f.StringVar(&namespace, "namespace", envOr("TEMPORAL_NAMESPACE", "default"), "Temporal namespace (env TEMPORAL_NAMESPACE)")
	f.StringVar(&taskQueue, "task-queue", "hookflow", "task queue to poll")
	f.StringVar(&githubAPI, "github-api-url", envOr("HOOKFLOW_GITHUB_API_URL", ""), "GitHub REST API root (env HOOKFLOW_GITHUB_API_URL)")
	f.StringVar(&githubAppID, "github-app-id", envOr("HOOKFLOW_GITHUB_APP_ID", ""), "act as this GitHub App (App ID or Client ID); store its private key with: hookflow tokens put --system github-app --installation <app id> --from-file key.pem (env HOOKFLOW_GITHUB_APP_ID)")
	f.StringVar(&relayURL, "relay-url", envOr("HOOKFLOW_RELAY_URL", ""), "URL of the relay blueprint's function (env HOOKFLOW_RELAY_URL; signing secret in HOOKFLOW_RELAY_SECRET)")
	return cmd
}
