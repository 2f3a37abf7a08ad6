package main

import (
	"context"
	"fmt"
	"net"
	"os"

	"github.com/spf13/cobra"
)

func newIngressCmd(g *globals) *cobra.Command {
	var httpAddr, publicURL, temporalAddr, namespace, taskQueue string
	var forward bool
	var ic ingressConfig
	var wc workerConfig
	var ttls temporalTLS
	var ltls listenTLS
	cmd := &cobra.Command{
		Use:   "ingress",
		Short: "Run the ingress (and its forwarder) against an existing Temporal",
		Long: `Run the webhook receiver on --http with its journal in --data-dir, and forward accepted
deliveries to the Temporal frontend at --temporal-address. The ingress starts and journals
deliveries even while Temporal is unreachable; the forwarder catches up when it returns.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := g.logger()
			tuneGC(os.Getenv)
			file, err := g.loadConfig(cmd.Flags())
			if err != nil {
				return err
			}
			// The ingress routes to the blueprints the workers run: it
			// reads the same file, flags and variables to know which.
			off, err := resolveBlueprints(&wc, file)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(g.dataDir, 0o700); err != nil {
				return fmt.Errorf("create data directory: %w", err)
			}
			token, _, err := ensureAdminToken(g.dataDir, g.env)
			if err != nil {
				return err
			}
			cfg := ic
			cfg.HTTPAddr, cfg.PublicURL, cfg.DataDir, cfg.TaskQueue, cfg.AdminToken = httpAddr, publicURL, g.dataDir, taskQueue, token
			cfg.Namespace = namespace
			cfg.Blueprints = wc.Blueprints
			if cfg.TLS, err = ltls.config(); err != nil {
				return err
			}
			scheme := "http"
			if cfg.TLS != nil {
				scheme = "https"
			}
			withTLS, err := ttls.option()
			if err != nil {
				return err
			}
			cfg.Ready = func(a net.Addr) {
				fmt.Fprintf(cmd.OutOrStdout(), "hookflow ingress listening on %s://%s\n", scheme, a)
				if cfg.Console && cfg.AdminHTTP == "" {
					fmt.Fprintf(cmd.OutOrStdout(), "hookflow console on %s://%s/console\n", scheme, a)
				}
				printBlueprints(cmd.OutOrStdout(), wc.Blueprints, off)
			}
			cfg.AdminReady = func(a net.Addr) {
				fmt.Fprintf(cmd.OutOrStdout(), "hookflow ingress admin API and /metrics on http://%s\n", a)
				if cfg.Console {
					fmt.Fprintf(cmd.OutOrStdout(), "hookflow console on http://%s/console\n", a)
				}
			}
			if cfg.PublicURL == "" {
				cfg.PublicURL = scheme + "://" + httpAddr
			}
			tr, err := newTracing(cmd.Context(), "ingress")
			if err != nil {
				return err
			}
			defer tr.shutdown(context.WithoutCancel(cmd.Context()))
			cfg.Tracing = tr
			if forward {
				c, err := lazyTemporal(temporalAddr, namespace, log, tr, withTLS)
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
	ic.addFlags(f, 200)
	wc.addFlags(f)
	ttls.addFlags(f)
	ltls.addFlags(f)
	return cmd
}

func newWorkerCmd(g *globals) *cobra.Command {
	var temporalAddr, namespace, taskQueue string
	var wc workerConfig
	var ttls temporalTLS
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a worker with every enabled blueprint and every activity against an existing Temporal",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := g.logger()
			file, err := g.loadConfig(cmd.Flags())
			if err != nil {
				return err
			}
			off, err := resolveBlueprints(&wc, file)
			if err != nil {
				return err
			}
			tr, err := newTracing(cmd.Context(), "worker")
			if err != nil {
				return err
			}
			defer tr.shutdown(context.WithoutCancel(cmd.Context()))
			withTLS, err := ttls.option()
			if err != nil {
				return err
			}
			c, err := dialTemporal(cmd.Context(), temporalAddr, namespace, log, tr, withTLS)
			if err != nil {
				return err
			}
			defer c.Close()
			wc.TaskQueue, wc.Namespace = taskQueue, namespace
			wc.Tracing = tr
			w, err := startWorker(cmd.Context(), c, g.dataDir, wc)
			if err != nil {
				return err
			}
			defer w.Stop()
			fmt.Fprintf(cmd.OutOrStdout(), "hookflow worker polling %s on %s\n", taskQueue, temporalAddr)
			printBlueprints(cmd.OutOrStdout(), wc.Blueprints, off)
			<-cmd.Context().Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&temporalAddr, "temporal-address", envOr("TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend host:port (env TEMPORAL_ADDRESS)")
	f.StringVar(&namespace, "namespace", envOr("TEMPORAL_NAMESPACE", "default"), "Temporal namespace (env TEMPORAL_NAMESPACE)")
	f.StringVar(&taskQueue, "task-queue", "hookflow", "task queue to poll")
	wc.addFlags(f)
	ttls.addFlags(f)
	return cmd
}
