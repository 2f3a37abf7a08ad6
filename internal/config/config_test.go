package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/blueprints/all"
	"github.com/hookflow/hookflow/blueprints/prcomment"
)

func TestParseRefusesBadFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want []string // every one must be in the error
	}{
		{"unknown top-level key", "temporall:\n  address: x\n", []string{"line 1", "unknown key temporall", "allowed in the top level: temporal, connectors, enable, blueprints"}},
		{"unknown connector key", "connectors:\n  jira:\n    site: https://x\n", []string{"line 3", "unknown key connectors.jira.site", "allowed in connectors.jira: url, email"}},
		{"unknown connector", "connectors:\n  gitlabb: {}\n", []string{"connectors.gitlabb", "github, jira, servicenow, splunk, backstage, functions"}},
		{"unknown function key", "connectors:\n  functions:\n    relay:\n      uri: http://x\n", []string{"connectors.functions.relay.uri", "allowed in connectors.functions.relay: url"}},
		{"wrong type", "connectors:\n  servicenow:\n    oauth: maybe\n", []string{"line 3", "bool"}},
		{"enable not a list", "enable: prcomment\n", []string{"enable: want all or a list"}},
		{"enable unknown blueprint", "enable: [prcomment, nosuch]\n", []string{`unknown blueprint "nosuch"`, "known: prcomment, prjira, relay"}},
		{"unknown blueprint section", "blueprints:\n  prcoment: {}\n", []string{"line 2", "blueprints.prcoment: unknown blueprint"}},
		{"unknown blueprint key", "blueprints:\n  prcomment:\n    integration: [a]\n", []string{"unknown key blueprints.prcomment.integration", "integrations, sources, settings"}},
		{"unknown setting", "blueprints:\n  prcomment:\n    settings:\n      greting: hi\n", []string{"line 4", "unknown key blueprints.prcomment.settings.greting", "greeting, legacy_workflow_ids"}},
		{"setting refused by Validate", "blueprints:\n  prcomment:\n    settings:\n      greeting: \"  \"\n", []string{"blueprints.prcomment.settings", "greeting: must not be empty"}},
		{"settings for a blueprint without any", "blueprints:\n  relay:\n    settings:\n      x: 1\n", []string{"blueprint relay has no settings"}},
		{"not a mapping", "connectors: [1, 2]\n", []string{"connectors: want a mapping"}},
		{"not YAML", "temporal: [\n", []string{"yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "hookflow.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tt.yaml), 0o600))
			_, err := Load(path, all.List())
			require.Error(t, err)
			require.Contains(t, err.Error(), path, "the error names the file")
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParseReadsEveryKey(t *testing.T) {
	t.Parallel()
	f, err := Parse([]byte(`
temporal: {address: "t:7233", namespace: ns, task_queue: q}
connectors:
  github: {api_url: "https://ghe.acme.io/api/v3/", app_id: "123"}
  jira: {url: "https://acme.atlassian.net/", email: bot@acme.io}
  servicenow: {url: "https://acme.service-now.com/", oauth: true}
  splunk: {hec_url: "https://splunk.acme.io:8088/"}
  functions: {relay: {url: "http://fn/"}}
enable: [prcomment]
blueprints:
  prcomment:
    integrations: [acme-github]
    sources: [github]
    settings: {greeting: "Hi!", legacy_workflow_ids: true}
`), all.List())
	require.NoError(t, err)
	require.Equal(t, Temporal{Address: "t:7233", Namespace: "ns", TaskQueue: "q"}, f.Temporal)
	require.Equal(t, "123", f.Connectors.GitHub.AppID)
	require.True(t, f.Connectors.ServiceNow.OAuth)
	require.Equal(t, "http://fn/", f.Connectors.Functions["relay"].URL)
	require.Equal(t, Enable{Names: []string{"prcomment"}}, f.Enable)
	on, off, err := f.Resolve(all.List(), func(blueprints.Need) (bool, string) { return true, "" })
	require.NoError(t, err)
	require.Len(t, on, 1)
	require.Equal(t, &prcomment.Settings{Greeting: "Hi!", LegacyWorkflowIDs: true}, on[0].Settings)
	require.Equal(t, []string{"acme-github"}, on[0].Integrations)
	require.Equal(t, []blueprints.Off{{Name: "prjira", Reason: "not listed in enable"}, {Name: "relay", Reason: "not listed in enable"}, {Name: "catalog", Reason: "not listed in enable"}, {Name: "changegate", Reason: "not listed in enable"}, {Name: "dora", Reason: "not listed in enable"}, {Name: "devinfo", Reason: "not listed in enable"}}, off)
}

func TestResolve(t *testing.T) {
	t.Parallel()
	noFunctions := func(n blueprints.Need) (bool, string) {
		switch n.Connector {
		case blueprints.Function:
			return false, "connectors.functions." + n.Name + ".url or --relay-url"
		case blueprints.Backstage:
			return false, "connectors.backstage.url or --backstage-url"
		case blueprints.Jira:
			return false, "connectors.jira.url"
		}
		return true, ""
	}
	// No file: what can run runs, the rest is off with what turns it on.
	on, off, err := Default().Resolve(all.List(), noFunctions)
	require.NoError(t, err)
	require.Equal(t, []string{"prcomment", "changegate", "dora"}, names(on))
	require.Len(t, off, 4)
	require.Equal(t, "prjira", off[0].Name)
	require.Contains(t, off[0].Reason, "connectors.jira.url")
	require.Equal(t, "relay", off[1].Name)
	require.Contains(t, off[1].Reason, "connectors.functions.relay.url or --relay-url")
	require.Equal(t, "catalog", off[2].Name)
	require.Contains(t, off[2].Reason, "backstage (registers locations and refreshes entities) is not configured: set connectors.backstage.url or --backstage-url")
	require.Equal(t, prcomment.DefaultSettings(), on[0].Settings, "defaults without a file")

	// Enabled by name but not runnable: an error naming the blueprint,
	// the need and the key.
	f, err := Parse([]byte("enable: [prcomment, relay]\n"), all.List())
	require.NoError(t, err)
	_, _, err = f.Resolve(all.List(), noFunctions)
	require.ErrorContains(t, err, "blueprint relay is enabled in enable but function relay (receives every event) is not configured: set connectors.functions.relay.url or --relay-url")
}

func TestExampleIsAValidFile(t *testing.T) {
	t.Parallel()
	b, err := Example(all.List())
	require.NoError(t, err)
	f, err := Parse(b, all.List())
	require.NoError(t, err, string(b))
	require.True(t, f.Enable.All)
	s, err := f.Settings(prcomment.Blueprint)
	require.NoError(t, err)
	require.Equal(t, prcomment.DefaultSettings(), s)
	// docs/configuration.md shows the same file.
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "configuration.md"))
	require.NoError(t, err)
	require.Contains(t, string(doc), strings.TrimSpace(string(b)), "docs/configuration.md is out of date: paste `hookflow config check --print-defaults`")
}

func names(on []blueprints.Enabled) []string {
	var out []string
	for _, e := range on {
		out = append(out, e.Name)
	}
	return out
}

// The ConfigMap the Kubernetes manifests mount into the ingress and the
// workers is a valid hookflow.yaml.
func TestKubernetesConfigMapIsValid(t *testing.T) {
	t.Parallel()
	f, err := os.Open(filepath.Join("..", "..", "deploy", "kubernetes", "hookflow.yaml"))
	require.NoError(t, err)
	defer f.Close()
	dec := yaml.NewDecoder(f)
	found := false
	for {
		var doc struct {
			Kind string            `yaml:"kind"`
			Data map[string]string `yaml:"data"`
		}
		if err := dec.Decode(&doc); err != nil {
			require.ErrorIs(t, err, io.EOF)
			break
		}
		if doc.Kind == "ConfigMap" && doc.Data["hookflow.yaml"] != "" {
			_, err := Parse([]byte(doc.Data["hookflow.yaml"]), all.List())
			require.NoError(t, err)
			found = true
		}
	}
	require.True(t, found, "no ConfigMap with hookflow.yaml")
}
