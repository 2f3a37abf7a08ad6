package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/blueprints/all"
	"github.com/hookflow/hookflow/internal/config"
)

// binding ties a flag to its environment variable and its key in
// hookflow.yaml. A flag given on the command line wins, then the variable,
// then the file, then the flag's default.
type binding struct {
	flag, env, key string
	file           func(f *config.File) string
}

var bindings = []binding{
	{"temporal-address", "TEMPORAL_ADDRESS", "temporal.address", func(f *config.File) string { return f.Temporal.Address }},
	{"namespace", "TEMPORAL_NAMESPACE", "temporal.namespace", func(f *config.File) string { return f.Temporal.Namespace }},
	{"task-queue", "", "temporal.task_queue", func(f *config.File) string { return f.Temporal.TaskQueue }},
	{"github-api-url", "HOOKFLOW_GITHUB_API_URL", "connectors.github.api_url", func(f *config.File) string { return f.Connectors.GitHub.APIURL }},
	{"github-app-id", "HOOKFLOW_GITHUB_APP_ID", "connectors.github.app_id", func(f *config.File) string { return f.Connectors.GitHub.AppID }},
	{"jira-url", "HOOKFLOW_JIRA_URL", "connectors.jira.url", func(f *config.File) string { return f.Connectors.Jira.URL }},
	{"jira-email", "HOOKFLOW_JIRA_EMAIL", "connectors.jira.email", func(f *config.File) string { return f.Connectors.Jira.Email }},
	{"jira-cloud-id", "HOOKFLOW_JIRA_CLOUD_ID", "connectors.jira.cloud_id", func(f *config.File) string { return f.Connectors.Jira.CloudID }},
	{"jira-devinfo-api-url", "HOOKFLOW_JIRA_DEVINFO_API_URL", "connectors.jira.devinfo_api_url", func(f *config.File) string { return f.Connectors.Jira.DevInfoAPIURL }},
	{"jira-devinfo-token-url", "HOOKFLOW_JIRA_DEVINFO_TOKEN_URL", "connectors.jira.devinfo_token_url", func(f *config.File) string { return f.Connectors.Jira.DevInfoTokenURL }},
	{"servicenow-url", "HOOKFLOW_SERVICENOW_URL", "connectors.servicenow.url", func(f *config.File) string { return f.Connectors.ServiceNow.URL }},
	{"servicenow-oauth", "HOOKFLOW_SERVICENOW_OAUTH", "connectors.servicenow.oauth", func(f *config.File) string {
		if f.Connectors.ServiceNow.OAuth {
			return "true"
		}
		return ""
	}},
	{"splunk-hec-url", "HOOKFLOW_SPLUNK_HEC_URL", "connectors.splunk.hec_url", func(f *config.File) string { return f.Connectors.Splunk.HECURL }},
	{"backstage-url", "HOOKFLOW_BACKSTAGE_URL", "connectors.backstage.url", func(f *config.File) string { return f.Connectors.Backstage.URL }},
	{"relay-url", "HOOKFLOW_RELAY_URL", "connectors.functions.relay.url", func(f *config.File) string { return f.Connectors.Functions["relay"].URL }},
}

// configPath is --config, else HOOKFLOW_CONFIG, else none.
func (g *globals) configPath() string {
	if g.config != "" {
		return g.config
	}
	return os.Getenv(config.EnvFile)
}

// loadConfig reads the configuration file (none: the defaults) and sets
// every flag of fs that neither the command line nor its environment
// variable gave from the file.
func (g *globals) loadConfig(fs *pflag.FlagSet) (*config.File, error) {
	f, err := config.Load(g.configPath(), all.List())
	if err != nil {
		return nil, err
	}
	if err := applyFile(fs, f, os.Getenv); err != nil {
		return nil, err
	}
	return f, nil
}

func applyFile(fs *pflag.FlagSet, f *config.File, getenv func(string) string) error {
	for _, b := range bindings {
		fl := fs.Lookup(b.flag)
		if fl == nil || fl.Changed || getenv(b.env) != "" {
			continue
		}
		if v := b.file(f); v != "" {
			if err := fs.Set(b.flag, v); err != nil {
				return fmt.Errorf("%s: %s: %w", f.Path(), b.key, err)
			}
		}
	}
	return nil
}

// needs says which blueprint needs cfg meets and, for the others, the key,
// flag and variable that provide them.
func needs(cfg workerConfig, f *config.File) config.Needs {
	provides := func(key, flag, env string) string {
		return fmt.Sprintf("%s in hookflow.yaml, --%s or %s", key, flag, env)
	}
	return func(n blueprints.Need) (bool, string) {
		switch n.Connector {
		case blueprints.GitHub:
			return true, "" // api.github.com unless told otherwise; credentials are looked up per call
		case blueprints.Jira:
			return cfg.JiraURL != "", provides("connectors.jira.url", "jira-url", "HOOKFLOW_JIRA_URL")
		case blueprints.ServiceNow:
			return cfg.ServiceNowURL != "", provides("connectors.servicenow.url", "servicenow-url", "HOOKFLOW_SERVICENOW_URL")
		case blueprints.Splunk:
			return cfg.SplunkHECURL != "", provides("connectors.splunk.hec_url", "splunk-hec-url", "HOOKFLOW_SPLUNK_HEC_URL")
		case blueprints.Backstage:
			return cfg.BackstageURL != "", provides("connectors.backstage.url", "backstage-url", "HOOKFLOW_BACKSTAGE_URL")
		case blueprints.Function:
			if n.Name == "relay" {
				return cfg.RelayURL != "", provides("connectors.functions.relay.url", "relay-url", "HOOKFLOW_RELAY_URL")
			}
			return f.Connectors.Functions[n.Name].URL != "", fmt.Sprintf("connectors.functions.%s.url in hookflow.yaml", n.Name)
		}
		return false, fmt.Sprintf("connector %q, which this hookflow does not know", n.Connector)
	}
}

// resolveBlueprints decides which blueprints run and fills cfg.Blueprints
// and cfg.Functions; it returns the ones that are off.
func resolveBlueprints(cfg *workerConfig, f *config.File) ([]blueprints.Off, error) {
	on, off, err := f.Resolve(all.List(), needs(*cfg, f))
	if err != nil {
		return nil, err
	}
	cfg.Blueprints = on
	cfg.Functions = map[string]string{}
	for name, fn := range f.Connectors.Functions {
		if fn.URL != "" {
			cfg.Functions[name] = fn.URL
		}
	}
	if cfg.RelayURL != "" {
		cfg.Functions["relay"] = cfg.RelayURL
	}
	return off, nil
}

// printBlueprints says which blueprints run and what turns the others on.
func printBlueprints(w io.Writer, on []blueprints.Enabled, off []blueprints.Off) {
	names := make([]string, len(on))
	for i, e := range on {
		names[i] = e.Name
	}
	fmt.Fprintf(w, "  blueprints   %s\n", orNone(strings.Join(names, ", ")))
	for _, o := range off {
		fmt.Fprintf(w, "  off          %s: %s\n", o.Name, o.Reason)
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Check the configuration file (hookflow.yaml)"}
	var wc workerConfig
	var defaults bool
	check := &cobra.Command{
		Use:   "check",
		Short: "Validate hookflow.yaml (--config or HOOKFLOW_CONFIG) without starting anything",
		Long: `Read the configuration file as the worker and the ingress would, with the same flags and
environment variables, and report every problem: unknown keys, values of the wrong type,
unknown blueprints, settings a blueprint refuses, and blueprints enabled by name whose
connectors are not configured. Prints which blueprints would run and why the others are off.
With --print-defaults, prints a file with every key at its default instead.`,
		Example: `  hookflow config check --config hookflow.yaml
  hookflow config check --print-defaults > hookflow.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if defaults {
				b, err := config.Example(all.List())
				if err != nil {
					return err
				}
				_, err = out.Write(b)
				return err
			}
			f, err := g.loadConfig(cmd.Flags())
			if err != nil {
				return err
			}
			off, err := resolveBlueprints(&wc, f)
			if err != nil {
				return err
			}
			src := f.Path()
			if src == "" {
				src = "no configuration file: the defaults"
			}
			fmt.Fprintf(out, "%s: ok\n", src)
			printBlueprints(out, wc.Blueprints, off)
			return nil
		},
	}
	wc.addFlags(check.Flags())
	check.Flags().BoolVar(&defaults, "print-defaults", false, "print a hookflow.yaml with every key at its default")
	cmd.AddCommand(check)
	return cmd
}

func newBlueprintsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "blueprints", Short: "List the blueprints this hookflow carries"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List every blueprint with its subscriptions (no server needed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkOutput(); err != nil {
				return err
			}
			list := listBlueprints(all.List())
			if g.output == "json" {
				return printJSON(cmd, list)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSUBSCRIPTIONS\tDESCRIPTION")
			for _, b := range list {
				var subs []string
				for _, s := range b.Subscriptions {
					subs = append(subs, s.Summary)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", b.Name, strings.Join(subs, "; "), b.Description)
			}
			return tw.Flush()
		},
	})
	return cmd
}

// listedBlueprint is one row of `hookflow blueprints list --output json`.
type listedBlueprint struct {
	Name          string               `json:"name"`
	Description   string               `json:"description"`
	Subscriptions []listedSubscription `json:"subscriptions"`
	Needs         []string             `json:"needs,omitempty"`
	Commands      []string             `json:"commands,omitempty"`
}

type listedSubscription struct {
	Source   string   `json:"source,omitempty"`
	Events   []string `json:"events,omitempty"`
	Actions  []string `json:"actions,omitempty"`
	Workflow string   `json:"workflow"`
	ID       string   `json:"workflow_id,omitempty"`
	Summary  string   `json:"-"`
}

func listBlueprints(list []blueprints.Blueprint) []listedBlueprint {
	out := make([]listedBlueprint, 0, len(list))
	for _, b := range list {
		lb := listedBlueprint{Name: b.Name, Description: b.Description}
		for _, s := range b.Subscriptions(b.DefaultSettings()) {
			lb.Subscriptions = append(lb.Subscriptions, listedSubscription{Source: s.Source, Events: s.Events, Actions: s.Actions,
				Workflow: s.Workflow, ID: s.IDPattern, Summary: blueprints.Describe(s)})
		}
		for _, n := range b.Needs {
			lb.Needs = append(lb.Needs, n.String())
		}
		for _, c := range b.Commands {
			lb.Commands = append(lb.Commands, b.Name+" "+c.Name)
		}
		out = append(out, lb)
	}
	return out
}
