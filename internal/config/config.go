// Package config reads hookflow.yaml: the connector sites and their auth
// references, the blueprints to enable and each blueprint's settings. Flags
// and environment variables with the same names override the file
// (cmd/hookflow applies them); with no file at all everything has its
// default. docs/configuration.md documents every key.
//
// Validation is strict: an unknown key, a value of the wrong type, an
// unknown blueprint or a setting its blueprint refuses is an error that
// names the file, the line, the key and what is allowed.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/hookflow/hookflow/blueprints"
)

// EnvFile names the configuration file when --config is not given.
const EnvFile = "HOOKFLOW_CONFIG"

// File is hookflow.yaml.
type File struct {
	// Temporal is the cluster the ingress and the workers reach.
	Temporal Temporal `yaml:"temporal"`
	// Connectors are the external systems activities act on.
	Connectors Connectors `yaml:"connectors"`
	// Enable lists the blueprints to run: "all" (the default) runs every
	// blueprint whose connectors are configured and reports the others
	// off; a list of names runs those and refuses to start when one of
	// them lacks a connector.
	Enable Enable `yaml:"enable"`
	// Blueprints holds each blueprint's configuration, by name.
	Blueprints map[string]Blueprint `yaml:"blueprints"`

	// path is the file this was read from ("" for the defaults).
	path string
}

// Temporal configures the Temporal client.
type Temporal struct {
	// Address is the frontend host:port (--temporal-address). Empty means
	// 127.0.0.1:7233.
	Address string `yaml:"address"`
	// Namespace (--namespace). Empty means "default".
	Namespace string `yaml:"namespace"`
	// TaskQueue the blueprints' workers poll (--task-queue). Empty means
	// "hookflow".
	TaskQueue string `yaml:"task_queue"`
}

// Connectors configures the external systems.
type Connectors struct {
	GitHub     GitHub              `yaml:"github"`
	Jira       Jira                `yaml:"jira"`
	ServiceNow ServiceNow          `yaml:"servicenow"`
	Splunk     Splunk              `yaml:"splunk"`
	Backstage  Backstage           `yaml:"backstage"`
	Functions  map[string]Function `yaml:"functions"`
}

// Backstage configures a Backstage backend.
type Backstage struct {
	// URL is the backend's root (--backstage-url); the catalog is under
	// URL/api/catalog. Empty leaves Backstage off. Its token is in the token
	// store under backstage (or backstage/<instance>).
	URL string `yaml:"url"`
}

// GitHub configures GitHub.com or a GitHub Enterprise Server.
type GitHub struct {
	// APIURL is the REST API root (--github-api-url). Empty means
	// https://api.github.com/.
	APIURL string `yaml:"api_url"`
	// AppID makes the activities act as this GitHub App (--github-app-id);
	// its private key is in the token store under github-app/<id>. Empty
	// means personal access tokens under github/<installation>.
	AppID string `yaml:"app_id"`
}

// Jira configures a Jira Cloud or Data Center site.
type Jira struct {
	// URL is the site root (--jira-url). Empty leaves Jira off.
	URL string `yaml:"url"`
	// Email is the Jira Cloud account for basic auth with the stored API
	// token (--jira-email). Empty lets the stored credential decide.
	Email string `yaml:"email"`
	// CloudID is the Jira Cloud site's cloud ID for the Development
	// Information API (--jira-cloud-id). Empty means it is read from the
	// site's /_edge/tenant_info.
	CloudID string `yaml:"cloud_id"`
	// DevInfoAPIURL is the root the Development Information API is served
	// under (--jira-devinfo-api-url). Empty means https://api.atlassian.com/.
	DevInfoAPIURL string `yaml:"devinfo_api_url"`
	// DevInfoTokenURL is its OAuth 2.0 token endpoint
	// (--jira-devinfo-token-url). Empty means
	// https://api.atlassian.com/oauth/token.
	DevInfoTokenURL string `yaml:"devinfo_token_url"`
}

// ServiceNow configures a ServiceNow instance.
type ServiceNow struct {
	// URL is the instance root (--servicenow-url). Empty leaves ServiceNow off.
	URL string `yaml:"url"`
	// OAuth says the stored credential is client_id:client_secret for
	// OAuth client credentials (--servicenow-oauth). Default false.
	OAuth bool `yaml:"oauth"`
}

// Splunk configures a Splunk HTTP Event Collector.
type Splunk struct {
	// HECURL is the collector root (--splunk-hec-url). Empty leaves Splunk off.
	HECURL string `yaml:"hec_url"`
}

// Function is a function called through activities/httpfunc.
type Function struct {
	// URL is where the function listens (--relay-url for relay). Its
	// signing secret is in the token store under httpfunc/<name> or in
	// HOOKFLOW_<NAME>_SECRET.
	URL string `yaml:"url"`
}

// Blueprint is one blueprint's configuration.
type Blueprint struct {
	// Integrations restricts the blueprint to events from these
	// integrations, by ID or name. Empty means every integration.
	Integrations []string `yaml:"integrations"`
	// Sources restricts it to these sender kinds (github, gitlab, ...).
	// Empty means every source its subscriptions take.
	Sources []string `yaml:"sources"`
	// Settings are decoded into the blueprint's typed settings.
	Settings yaml.Node `yaml:"settings"`
}

// Enable is "all" or a list of blueprint names.
type Enable struct {
	// All is true for "all" and when enable is not given.
	All   bool
	Names []string
}

// UnmarshalYAML accepts "all" or a list of names.
func (e *Enable) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Value == "all" {
		*e = Enable{All: true}
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("line %d: enable: want all or a list of blueprint names", n.Line)
	}
	var names []string
	if err := n.Decode(&names); err != nil {
		return fmt.Errorf("line %d: enable: %w", n.Line, err)
	}
	*e = Enable{Names: names}
	return nil
}

// Path is the file the configuration was read from, or "" for defaults.
func (f *File) Path() string { return f.path }

// Default is the configuration with no file: every key at its default.
func Default() *File { return &File{Enable: Enable{All: true}} }

// Load reads and validates path against the blueprints in list. An empty
// path means Default.
func Load(path string, list []blueprints.Blueprint) (*File, error) {
	if path == "" {
		return Default(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	f, err := Parse(b, list)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.path = path
	return f, nil
}

// Parse reads and validates a configuration.
func Parse(b []byte, list []blueprints.Blueprint) (*File, error) {
	f := Default()
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, err
	}
	if len(root.Content) == 0 {
		return f, nil // an empty file
	}
	doc := root.Content[0]
	if err := strict(doc, reflect.TypeOf(File{}), ""); err != nil {
		return nil, err
	}
	if err := doc.Decode(f); err != nil {
		return nil, err
	}
	if f.Enable.Names == nil && !f.Enable.All {
		f.Enable.All = true
	}
	known := blueprints.Names(list)
	for _, name := range f.Enable.Names {
		if !slices.Contains(known, name) {
			return nil, fmt.Errorf("enable: unknown blueprint %q (known: %s)", name, strings.Join(known, ", "))
		}
	}
	for name, bc := range f.Blueprints {
		bp, ok := blueprints.Find(list, name)
		if !ok {
			return nil, fmt.Errorf("line %d: blueprints.%s: unknown blueprint (known: %s)", lineOf(doc, "blueprints", name), name, strings.Join(known, ", "))
		}
		if _, err := decodeSettings(bp, bc.Settings, "blueprints."+name+".settings"); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Settings returns the validated settings of bp: its defaults overlaid
// with the file's blueprints.<name>.settings.
func (f *File) Settings(bp blueprints.Blueprint) (blueprints.Settings, error) {
	return decodeSettings(bp, f.Blueprints[bp.Name].Settings, "blueprints."+bp.Name+".settings")
}

func decodeSettings(bp blueprints.Blueprint, n yaml.Node, key string) (blueprints.Settings, error) {
	if bp.Settings == nil {
		if n.Kind != 0 && !(n.Kind == yaml.MappingNode && len(n.Content) == 0) {
			return nil, fmt.Errorf("line %d: %s: blueprint %s has no settings", n.Line, key, bp.Name)
		}
		return nil, nil
	}
	s := bp.Settings()
	if n.Kind != 0 {
		if err := strict(&n, reflect.TypeOf(s), key); err != nil {
			return nil, err
		}
		if err := n.Decode(s); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
	}
	if err := s.Validate(); err != nil {
		line := ""
		if n.Line > 0 {
			line = fmt.Sprintf("line %d: ", n.Line)
		}
		return nil, fmt.Errorf("%s%s: %w", line, key, err)
	}
	return s, nil
}

// strict walks n against t and refuses keys t has no field for, naming the
// line, the dotted key and the keys that are allowed.
func strict(n *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch {
	case t == reflect.TypeOf(yaml.Node{}), t == reflect.TypeOf(Enable{}):
		return nil // checked by their own decoders
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := map[string]reflect.Type{}
		var allowed []string
		for i := range t.NumField() {
			sf := t.Field(i)
			name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
			if !sf.IsExported() || name == "-" || name == "" {
				continue
			}
			fields[name] = sf.Type
			allowed = append(allowed, name)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ft, ok := fields[k.Value]
			if !ok {
				return fmt.Errorf("line %d: unknown key %s (allowed in %s: %s)", k.Line, join(path, k.Value), orTop(path), strings.Join(allowed, ", "))
			}
			if err := strict(v, ft, join(path, k.Value)); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := strict(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value)); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Struct || t.Kind() == reflect.Map:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil
		}
		return fmt.Errorf("line %d: %s: want a mapping of keys", n.Line, orTop(path))
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orTop(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

// lineOf finds the line of doc's key path, for messages about values that
// decoded fine but mean nothing.
func lineOf(doc *yaml.Node, keys ...string) int {
	n := doc
	for _, k := range keys {
		if n.Kind != yaml.MappingNode {
			return n.Line
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				if k == keys[len(keys)-1] {
					return n.Content[i].Line
				}
				n, found = n.Content[i+1], true
				break
			}
		}
		if !found {
			return n.Line
		}
	}
	return n.Line
}

// Needs says whether a blueprint's need is configured and, when not, what
// provides it ("connectors.jira.url, --jira-url or HOOKFLOW_JIRA_URL").
type Needs func(n blueprints.Need) (ok bool, provides string)

// Resolve decides which blueprints of list run under f: those it enables
// whose needs are met. With enable: all (or no file), a blueprint that
// lacks a connector is reported off with what would turn it on; a
// blueprint enabled by name that lacks one is an error naming the
// blueprint, what it needs and the key or flag that provides it.
func (f *File) Resolve(list []blueprints.Blueprint, have Needs) (on []blueprints.Enabled, off []blueprints.Off, err error) {
	var errs []error
	where := "enable"
	if f.path != "" {
		where = f.path + ": enable"
	}
	for _, bp := range list {
		named := slices.Contains(f.Enable.Names, bp.Name)
		if !f.Enable.All && !named {
			off = append(off, blueprints.Off{Name: bp.Name, Reason: fmt.Sprintf("not listed in %s", where)})
			continue
		}
		var missing []string
		for _, n := range bp.Needs {
			if ok, provides := have(n); !ok {
				missing = append(missing, fmt.Sprintf("%s (%s) is not configured: set %s", n, n.Why, provides))
			}
		}
		if len(missing) > 0 {
			if named {
				errs = append(errs, fmt.Errorf("blueprint %s is enabled in %s but %s", bp.Name, where, strings.Join(missing, "; ")))
			} else {
				off = append(off, blueprints.Off{Name: bp.Name, Reason: strings.Join(missing, "; ")})
			}
			continue
		}
		s, err := f.Settings(bp)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		bc := f.Blueprints[bp.Name]
		on = append(on, blueprints.Enabled{Blueprint: bp, Settings: s, Integrations: bc.Integrations, Sources: bc.Sources})
	}
	return on, off, errors.Join(errs...)
}

// Example is a hookflow.yaml with every key at its default, for
// docs/configuration.md and `hookflow config check --print-defaults`.
func Example(list []blueprints.Blueprint) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(`# hookflow.yaml: every key at its default (hookflow config check --print-defaults)
temporal:
  address: 127.0.0.1:7233
  namespace: default
  task_queue: hookflow
connectors:
  github:
    api_url: https://api.github.com/
    app_id: ""
  jira:
    url: ""
    email: ""
    cloud_id: ""
    devinfo_api_url: ""
    devinfo_token_url: ""
  servicenow:
    url: ""
    oauth: false
  splunk:
    hec_url: ""
  backstage:
    url: ""
  functions:
    relay:
      url: ""
enable: all
blueprints:
`)
	for _, bp := range list {
		fmt.Fprintf(&buf, "  %s:\n    integrations: []\n    sources: []\n", bp.Name)
		if bp.Settings == nil {
			buf.WriteString("    settings: {}\n")
			continue
		}
		out, err := yaml.Marshal(bp.Settings())
		if err != nil {
			return nil, err
		}
		buf.WriteString("    settings:\n")
		for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
			buf.WriteString("      " + l + "\n")
		}
	}
	return buf.Bytes(), nil
}
