package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/blueprints/all"
)

// globals are the flags every subcommand shares.
type globals struct {
	dataDir  string
	server   string
	output   string
	logLevel string
	// config is --config; configPath falls back to HOOKFLOW_CONFIG.
	config string
	// getenv reads the environment; nil means os.Getenv (tests set it).
	getenv func(string) string
	// runTemporal starts the embedded Temporal server; nil means
	// startTemporal (temporal_*.go). Tests set it to check what dev asks
	// for without a ~15 minute build of the server.
	runTemporal func(ip string, grpcPort, uiPort int, dbFile string) (temporalServer, error)
}

// startTemporal starts the embedded Temporal server with runTemporal, or
// startTemporal of this build.
func (g *globals) startTemporal(ip string, grpcPort, uiPort int, dbFile string) (temporalServer, error) {
	if g.runTemporal != nil {
		return g.runTemporal(ip, grpcPort, uiPort, dbFile)
	}
	return startTemporal(ip, grpcPort, uiPort, dbFile)
}

// env reads the environment variable key.
func (g *globals) env(key string) string {
	if g.getenv != nil {
		return g.getenv(key)
	}
	return os.Getenv(key)
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "hookflow",
		Short: "Turn SDLC webhooks into durable Temporal workflows",
		Long: `Hookflow receives webhooks from GitHub, GitLab, Bitbucket, Jira, ServiceNow and any
other sender, verifies and journals them, and signals the Temporal workflow that owns
each SDLC entity (a pull request, an issue, a change).

Start everything on a laptop with "hookflow dev"; create an integration with
"hookflow integrations create"; watch deliveries with "hookflow deliveries list".`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	defDir := os.Getenv("HOOKFLOW_DATA_DIR")
	if defDir == "" {
		defDir = ".hookflow"
	}
	defServer := os.Getenv("HOOKFLOW_SERVER")
	if defServer == "" {
		defServer = "http://127.0.0.1:8080"
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.dataDir, "data-dir", defDir, "data directory (env HOOKFLOW_DATA_DIR)")
	pf.StringVar(&g.server, "server", defServer, "URL of a running hookflow server, for admin commands (env HOOKFLOW_SERVER)")
	pf.StringVarP(&g.output, "output", "o", "table", "output format: table or json")
	pf.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	pf.StringVar(&g.config, "config", "", "configuration file, hookflow.yaml (env HOOKFLOW_CONFIG; none: the defaults; see docs/configuration.md)")
	root.AddCommand(newDevCmd(g), newIngressCmd(g), newWorkerCmd(g), newIntegrationsCmd(g), newKeysCmd(g), newTokensCmd(g), newDeliveriesCmd(g), newAuditCmd(g), newSendCmd(g), newRecoverCmd(g), newBackupCmd(g), newRestoreCmd(g),
		newConfigCmd(g), newBlueprintsCmd(g), newNewCmd(g), newAdminCmd(g))
	addBlueprintCommands(root, g, all.List())
	return root
}

func (g *globals) logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func (g *globals) checkOutput() error {
	if g.output != "table" && g.output != "json" {
		return fmt.Errorf("--output must be table or json, not %q", g.output)
	}
	return nil
}

const adminTokenFile = "admin-token"

// adminToken returns the token from HOOKFLOW_ADMIN_TOKEN or the data
// directory.
func (g *globals) adminToken() (string, error) {
	if t := g.env("HOOKFLOW_ADMIN_TOKEN"); t != "" {
		return t, nil
	}
	path := filepath.Join(g.dataDir, adminTokenFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("no admin token: set HOOKFLOW_ADMIN_TOKEN or point --data-dir at the server's data directory (%s: %w)", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// ensureAdminToken reads the admin token from HOOKFLOW_ADMIN_TOKEN or the
// data directory's file, creating the file on first start, and refuses
// one shorter than ingress.MinAdminTokenLength. It returns the token and
// where it came from.
func ensureAdminToken(dataDir string, getenv func(string) string) (string, string, error) {
	path := filepath.Join(dataDir, adminTokenFile)
	if t := getenv("HOOKFLOW_ADMIN_TOKEN"); t != "" {
		return t, "(from HOOKFLOW_ADMIN_TOKEN)", checkAdminToken(t, "HOOKFLOW_ADMIN_TOKEN")
	}
	b, err := os.ReadFile(path)
	if err == nil {
		t := strings.TrimSpace(string(b))
		return t, path, checkAdminToken(t, path)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", "", err
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", "", err
	}
	token := hex.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", "", fmt.Errorf("write admin token: %w", err)
	}
	return token, path, nil
}
