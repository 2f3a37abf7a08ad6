package main

import (
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/hookflow/hookflow/ingress/forward"
)

// addFlags registers the flags every command that runs a worker takes.
func (cfg *workerConfig) addFlags(f *pflag.FlagSet) {
	f.StringVar(&cfg.GitHubAPIURL, "github-api-url", envOr("HOOKFLOW_GITHUB_API_URL", ""), "GitHub REST API root; set it for GitHub Enterprise Server (env HOOKFLOW_GITHUB_API_URL)")
	f.StringVar(&cfg.GitHubAppID, "github-app-id", envOr("HOOKFLOW_GITHUB_APP_ID", ""), "act as this GitHub App (App ID or Client ID); store its private key with: hookflow tokens put --system github-app --installation <app id> --from-file key.pem (env HOOKFLOW_GITHUB_APP_ID)")
	f.StringVar(&cfg.JiraURL, "jira-url", envOr("HOOKFLOW_JIRA_URL", ""), "Jira Cloud or Data Center site root; enables the jira.* activities (credential: hookflow tokens put --system jira --installation <site>) (env HOOKFLOW_JIRA_URL)")
	f.StringVar(&cfg.JiraEmail, "jira-email", envOr("HOOKFLOW_JIRA_EMAIL", ""), "Jira Cloud account for basic auth with the stored API token (empty: the stored credential decides) (env HOOKFLOW_JIRA_EMAIL)")
	f.StringVar(&cfg.JiraCloudID, "jira-cloud-id", envOr("HOOKFLOW_JIRA_CLOUD_ID", ""), "Jira Cloud site's cloud ID for the Development Information API (empty: read from <jira-url>/_edge/tenant_info) (env HOOKFLOW_JIRA_CLOUD_ID)")
	f.StringVar(&cfg.JiraDevInfoAPIURL, "jira-devinfo-api-url", envOr("HOOKFLOW_JIRA_DEVINFO_API_URL", ""), "root the Development Information API is served under (empty: https://api.atlassian.com/) (env HOOKFLOW_JIRA_DEVINFO_API_URL)")
	f.StringVar(&cfg.JiraDevInfoTokenURL, "jira-devinfo-token-url", envOr("HOOKFLOW_JIRA_DEVINFO_TOKEN_URL", ""), "OAuth 2.0 token endpoint of the Development Information API's client credentials (empty: https://api.atlassian.com/oauth/token; credential: hookflow tokens put --system jira-devinfo --installation <site>, client_id:client_secret) (env HOOKFLOW_JIRA_DEVINFO_TOKEN_URL)")
	f.StringVar(&cfg.ServiceNowURL, "servicenow-url", envOr("HOOKFLOW_SERVICENOW_URL", ""), "ServiceNow instance root; enables the servicenow.* activities (env HOOKFLOW_SERVICENOW_URL)")
	f.BoolVar(&cfg.ServiceNowOAuth, "servicenow-oauth", os.Getenv("HOOKFLOW_SERVICENOW_OAUTH") == "true", "the stored ServiceNow credential is client_id:client_secret for OAuth client credentials, not user:password (env HOOKFLOW_SERVICENOW_OAUTH=true)")
	f.StringVar(&cfg.SplunkHECURL, "splunk-hec-url", envOr("HOOKFLOW_SPLUNK_HEC_URL", ""), "Splunk HTTP Event Collector root; enables splunk.SendEvents (env HOOKFLOW_SPLUNK_HEC_URL)")
	f.StringVar(&cfg.PayloadURL, "payload-url", envOr("HOOKFLOW_PAYLOAD_URL", ""), "the ingress's admin URL, where workers read payloads over 256 KiB (held by reference) with HOOKFLOW_WORKER_TOKEN; hookflow dev sets it (env HOOKFLOW_PAYLOAD_URL)")
	cfg.PayloadToken = os.Getenv("HOOKFLOW_WORKER_TOKEN")
	f.StringVar(&cfg.BackstageURL, "backstage-url", envOr("HOOKFLOW_BACKSTAGE_URL", ""), "Backstage backend root; enables the backstage.* activities and the catalog blueprint (token: hookflow tokens put --system backstage) (env HOOKFLOW_BACKSTAGE_URL)")
	f.StringVar(&cfg.RelayURL, "relay-url", envOr("HOOKFLOW_RELAY_URL", ""), "URL of the relay blueprint's function (env HOOKFLOW_RELAY_URL; signing secret in HOOKFLOW_RELAY_SECRET)")
}

// addFlags registers the flags every command that runs the ingress takes;
// defaultRate is the per-integration rate limit when none is given.
func (cfg *ingressConfig) addFlags(f *pflag.FlagSet, defaultRate float64) {
	f.StringVar(&cfg.AdminHTTP, "admin-http", envOr("HOOKFLOW_ADMIN_HTTP", ""), "serve the admin API (/admin/v1) and /metrics on this address instead of on --http, so the webhook listener exposes neither (env HOOKFLOW_ADMIN_HTTP)")
	f.BoolVar(&cfg.Console, "console", os.Getenv("HOOKFLOW_CONSOLE") == "true", "serve the delivery console under /console, on --admin-http when set, on --http otherwise; sign in with the admin token (hookflow dev always serves it) (env HOOKFLOW_CONSOLE=true)")
	f.StringVar(&cfg.TemporalUIURL, "temporal-ui-url", envOr("HOOKFLOW_TEMPORAL_UI_URL", ""), "Temporal Web UI root the console links each workflow to, such as https://temporal.example.com (hookflow dev: its own UI) (env HOOKFLOW_TEMPORAL_UI_URL)")
	f.StringVar(&cfg.Journal, "journal", envOr("HOOKFLOW_JOURNAL", ""), "journal: sqlite://PATH (default <data-dir>/hookflow.db) or postgres://DSN shared by replicas (env HOOKFLOW_JOURNAL)")
	f.IntVar(&cfg.MaxBacklog, "max-backlog", 100000, "accepted-but-unforwarded deliveries before the ingress answers 503 (0: no bound)")
	f.DurationVar(&cfg.Retention, "retention", 30*24*time.Hour, "prune journal entries older than this, hourly (0: keep everything)")
	cfg.WorkerToken = os.Getenv("HOOKFLOW_WORKER_TOKEN")
	f.Float64Var(&cfg.ClientRateLimit, "client-rate-limit", 0, "requests/s one client address may send to /hooks, verified or not (0: 1000; negative: no bound)")
	f.Int64Var(&cfg.MaxInFlightBytes, "max-inflight-bytes", 0, "request body bytes held at once before the ingress answers 503 (0: 64 MiB; at least the body limit)")
	f.Float64Var(&cfg.SignalRate, "signal-rate", forward.DefaultSignalRate, "signals/s the forwarder sends at most to one workflow; events arriving faster go together in its next signal (0: 5; negative: no cap)")
	f.Float64Var(&cfg.RateLimit, "rate-limit", defaultRate, "default requests/s per integration (0: no limit; the integration option rate_limit overrides it)")
}
