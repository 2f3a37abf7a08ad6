package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/blueprints/all"
	"github.com/hookflow/hookflow/blueprints/prcomment"
	"github.com/hookflow/hookflow/internal/config"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hookflow.yaml")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func TestConfigCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		args       []string
		wantErr    string
		wantOut    []string
	}{
		{name: "unknown key", yaml: "connectors:\n  jira:\n    site: x\n", wantErr: "line 3: unknown key connectors.jira.site (allowed in connectors.jira: url, email, cloud_id, devinfo_api_url, devinfo_token_url)"},
		{name: "enabled but not configured", yaml: "enable: [relay]\n",
			wantErr: "blueprint relay is enabled in FILE: enable but function relay (receives every event) is not configured: set connectors.functions.relay.url in hookflow.yaml, --relay-url or HOOKFLOW_RELAY_URL"},
		{name: "configured by the file", yaml: "enable: [relay]\nconnectors:\n  functions:\n    relay:\n      url: http://127.0.0.1:9/\n", wantOut: []string{": ok", "blueprints   relay", "off          prcomment: not listed in"}},
		{name: "configured by a flag", yaml: "enable: [relay]\n", args: []string{"--relay-url", "http://127.0.0.1:9/"}, wantOut: []string{"blueprints   relay"}},
		{name: "all, and what is off", yaml: "enable: all\n", wantOut: []string{"blueprints   prcomment", "off          relay: function relay (receives every event) is not configured: set connectors.functions.relay.url in hookflow.yaml, --relay-url or HOOKFLOW_RELAY_URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel with each other: HOOKFLOW_RELAY_URL must be unset.
			path := writeFile(t, tt.yaml)
			out, err := runCLI(t, append([]string{"config", "check", "--config", path}, tt.args...)...)
			if tt.wantErr != "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), path, "the error names the file")
				require.Contains(t, err.Error(), replaceFile(tt.wantErr, path))
				return
			}
			require.NoError(t, err)
			for _, w := range tt.wantOut {
				require.Contains(t, out, w)
			}
		})
	}
}

func replaceFile(s, path string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte("FILE"), []byte(path)))
}

func TestConfigPrintDefaultsIsValid(t *testing.T) {
	t.Parallel()
	out, err := runCLI(t, "config", "check", "--print-defaults")
	require.NoError(t, err)
	_, err = runCLI(t, "config", "check", "--config", writeFile(t, out))
	require.NoError(t, err)
}

// A flag wins over its variable, which wins over the file, which wins
// over the default.
func TestApplyFilePrecedence(t *testing.T) {
	t.Parallel()
	f, err := config.Parse([]byte("connectors:\n  jira: {url: https://file/}\n  splunk: {hec_url: https://file/}\n  servicenow: {oauth: true}\ntemporal: {namespace: filens}\n"), nil)
	require.NoError(t, err)
	var wc workerConfig
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	wc.addFlags(fs)
	ns := fs.String("namespace", "default", "")
	require.NoError(t, fs.Parse([]string{"--jira-url", "https://flag/"}))
	env := map[string]string{"HOOKFLOW_SPLUNK_HEC_URL": "https://env/"}
	wc.SplunkHECURL = "https://env/" // what envOr gave the flag's default
	require.NoError(t, applyFile(fs, f, func(k string) string { return env[k] }))
	require.Equal(t, "https://flag/", wc.JiraURL, "the flag wins")
	require.Equal(t, "https://env/", wc.SplunkHECURL, "the variable wins over the file")
	require.True(t, wc.ServiceNowOAuth, "the file wins over the default")
	require.Equal(t, "filens", *ns)
}

func TestBlueprintsListJSON(t *testing.T) {
	t.Parallel()
	out, err := runCLI(t, "blueprints", "list", "--output", "json")
	require.NoError(t, err)
	var list []struct {
		Name          string `json:"name"`
		Description   string `json:"description"`
		Subscriptions []struct {
			Source, Workflow string
			Events           []string
		} `json:"subscriptions"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	require.GreaterOrEqual(t, len(list), 2)
	require.Equal(t, "prcomment", list[0].Name)
	require.NotEmpty(t, list[0].Description)
	require.Equal(t, "github", list[0].Subscriptions[0].Source)
	require.Equal(t, []string{"pull_request"}, list[0].Subscriptions[0].Events)
	table, err := runCLI(t, "blueprints", "list")
	require.NoError(t, err)
	require.Contains(t, table, "github pull_request -> prcomment/<host>/<owner>/<repo>/pr/<number>")
}

func TestMissingSearchAttributes(t *testing.T) {
	t.Parallel()
	require.NoError(t, missingSearchAttributes("default", searchAttributeTypes()))
	have := searchAttributeTypes()
	delete(have, "HookflowEntity")
	have["HookflowSource"] = enumspb.INDEXED_VALUE_TYPE_TEXT
	err := missingSearchAttributes("prod", have)
	require.ErrorContains(t, err, "namespace prod lacks the search attributes HookflowSource (registered as Text, want Keyword), HookflowEntity")
	require.ErrorContains(t, err, "temporal operator search-attribute create --namespace prod --name HookflowEntity --type Keyword")
}

func TestAuditNeedsOneTarget(t *testing.T) {
	t.Parallel()
	_, err := runCLI(t, "audit")
	require.ErrorContains(t, err, "give one WORKFLOW-ID or --entity KEY")
	_, err = runCLI(t, "audit", "x", "--entity", "a/b#1")
	require.ErrorContains(t, err, "give one WORKFLOW-ID or --entity KEY")
	require.Equal(t, `HookflowEntity = "acme/api#42"`, entityQuery("acme/api#42"))
}

func TestBlueprintCommandsAreMounted(t *testing.T) {
	t.Parallel()
	var got []string
	bp := prcomment.Blueprint
	bp.Name = "demo"
	bp.Commands = []blueprints.Command{{
		Name: "report", Short: "a report",
		Flags: func(f *pflag.FlagSet) { f.String("since", "7d", "") },
		Run: func(_ context.Context, env blueprints.CommandEnv) error {
			since, err := env.Flags.GetString("since")
			require.NoError(t, err)
			got = append(got, since, env.Settings.(*prcomment.Settings).Greeting)
			got = append(got, env.Args...)
			return nil
		},
	}}
	root := newRootCmd()
	addBlueprintCommands(root, &globals{output: "table"}, []blueprints.Blueprint{bp})
	root.SetArgs([]string{"demo", "report", "--since", "30d", "x"})
	require.NoError(t, root.ExecuteContext(context.Background()))
	require.Equal(t, []string{"30d", prcomment.DefaultGreeting, "x"}, got)

	bp.Name = "audit"
	require.Panics(t, func() { addBlueprintCommands(newRootCmd(), &globals{}, []blueprints.Blueprint{bp}) }, "a blueprint may not hide a built-in command")
}

// Every built-in command is a name no blueprint may take.
func TestBuiltInCommandsAreReserved(t *testing.T) {
	t.Parallel()
	mounted := map[string]bool{}
	for _, bp := range all.List() {
		mounted[bp.Name] = true
	}
	for _, c := range newRootCmd().Commands() {
		if mounted[c.Name()] {
			continue // a blueprint's own commands (hookflow dora report)
		}
		require.Error(t, blueprints.CheckName(c.Name()), "add %q to the reserved names in blueprints/blueprint.go", c.Name())
	}
}
