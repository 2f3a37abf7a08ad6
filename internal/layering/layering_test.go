// Package layering checks by imports the layers of docs (STYLE.md, "Layers,
// and who may import whom"): connectors never import Temporal; workflows
// and blueprints never import connectors; activities (with cmd, and
// connectors among themselves) are the only importers of connectors; and
// the input and output types of every registered activity belong to the
// activity's own package, never to a connector.
package layering

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	bsact "github.com/hookflow/hookflow/activities/backstage"
	ghact "github.com/hookflow/hookflow/activities/github"
	fnact "github.com/hookflow/hookflow/activities/httpfunc"
	jiraact "github.com/hookflow/hookflow/activities/jira"
	snact "github.com/hookflow/hookflow/activities/servicenow"
	splunkact "github.com/hookflow/hookflow/activities/splunk"
	ghconn "github.com/hookflow/hookflow/connectors/github"
)

const module = "github.com/hookflow/hookflow"

// pkg is what `go list -json` says of one package of the module.
type pkg struct {
	ImportPath string
	Imports    []string // direct, non-test
	Deps       []string // transitive, non-test
}

// listModule lists every package of the module, without compiling it.
func listModule(t *testing.T) []pkg {
	t.Helper()
	// go test puts the go command that runs it first on PATH.
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, stderr.String())
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		pkgs = append(pkgs, p)
	}
	require.NotEmpty(t, pkgs)
	return pkgs
}

// rule is one "never" of the layering.
type rule struct {
	name string
	// applies selects the importing packages the rule is about.
	applies func(importer string) bool
	// transitive checks Deps rather than Imports.
	transitive bool
	// forbidden reports whether importing imported breaks the rule.
	forbidden func(importer, imported string) bool
}

func under(path, dir string) bool {
	return path == module+"/"+dir || strings.HasPrefix(path, module+"/"+dir+"/")
}

var rules = []rule{
	{
		// Not even through a dependency: a connector is usable without a
		// Temporal worker.
		name:       "connectors never import go.temporal.io",
		applies:    func(p string) bool { return under(p, "connectors") },
		transitive: true,
		forbidden:  func(_, imp string) bool { return strings.HasPrefix(imp, "go.temporal.io/") },
	},
	{
		name:       "workflows never import connectors",
		applies:    func(p string) bool { return under(p, "workflows") },
		transitive: true,
		forbidden:  func(_, imp string) bool { return under(imp, "connectors") },
	},
	{
		// Blueprints import activities for their names and types, and the
		// activities import connectors: only the direct imports count.
		name:      "blueprints never import connectors",
		applies:   func(p string) bool { return under(p, "blueprints") },
		forbidden: func(_, imp string) bool { return under(imp, "connectors") },
	},
	{
		// ingress/recovery is the one ingress component that calls a
		// sender's API (the delivery records of GitHub and GitLab): it
		// does so through the connectors, not clients of its own.
		name:    "only activities, cmd, connectors and ingress/recovery import connectors",
		applies: func(string) bool { return true },
		forbidden: func(p, imp string) bool {
			return under(imp, "connectors") && !under(p, "activities") && !under(p, "cmd") && !under(p, "connectors") && !under(p, "ingress/recovery")
		},
	},
}

// violations lists "importer imports imported" for every broken rule.
func violations(pkgs []pkg, rs []rule) []string {
	var out []string
	for _, r := range rs {
		for _, p := range pkgs {
			if !r.applies(p.ImportPath) {
				continue
			}
			imports := p.Imports
			if r.transitive {
				imports = p.Deps
			}
			for _, imp := range imports {
				if r.forbidden(p.ImportPath, imp) {
					out = append(out, r.name+": "+p.ImportPath+" imports "+imp)
				}
			}
		}
	}
	return out
}

func TestLayers(t *testing.T) {
	t.Parallel()
	pkgs := listModule(t)
	var seen []string
	for _, p := range pkgs {
		seen = append(seen, p.ImportPath)
	}
	// The listing covers the layers it judges.
	for _, dir := range []string{"connectors/github", "workflows", "blueprints/prcomment", "activities/github", "cmd/hookflow"} {
		require.Contains(t, seen, module+"/"+dir)
	}
	require.Empty(t, violations(pkgs, rules))
}

// TestRulesCatchViolations feeds the rules made-up packages that break each
// of them: a rule that cannot fail would prove nothing.
func TestRulesCatchViolations(t *testing.T) {
	t.Parallel()
	bad := []pkg{
		{ImportPath: module + "/connectors/x", Deps: []string{"net/http", "go.temporal.io/sdk/client"}},
		{ImportPath: module + "/workflows", Deps: []string{"go.temporal.io/sdk/workflow", module + "/connectors/github"}},
		{ImportPath: module + "/blueprints/y", Imports: []string{module + "/activities/github", module + "/connectors/jira"}},
		{ImportPath: module + "/ingress/z", Imports: []string{module + "/connectors/tokens"}},
	}
	got := violations(bad, rules)
	require.ElementsMatch(t, []string{
		"connectors never import go.temporal.io: " + module + "/connectors/x imports go.temporal.io/sdk/client",
		"workflows never import connectors: " + module + "/workflows imports " + module + "/connectors/github",
		"blueprints never import connectors: " + module + "/blueprints/y imports " + module + "/connectors/jira",
		"only activities, cmd, connectors and ingress/recovery import connectors: " + module + "/blueprints/y imports " + module + "/connectors/jira",
		"only activities, cmd, connectors and ingress/recovery import connectors: " + module + "/ingress/z imports " + module + "/connectors/tokens",
	}, got)

	good := []pkg{
		{ImportPath: module + "/blueprints/y", Imports: []string{module + "/activities/github"},
			Deps: []string{module + "/activities/github", module + "/connectors/github"}},
		{ImportPath: module + "/activities/github", Imports: []string{module + "/connectors/github"}},
		{ImportPath: module + "/cmd/hookflow", Imports: []string{module + "/connectors/vault"}},
		{ImportPath: module + "/connectors/github", Imports: []string{module + "/connectors/apierror"}, Deps: []string{"net/http"}},
	}
	require.Empty(t, violations(good, rules))
}

// registry records what a Register function registers.
type registry struct {
	fns map[string]any
}

func (r *registry) RegisterActivity(a any) { panic("activities register with a name") }

func (r *registry) RegisterActivityWithOptions(a any, o activity.RegisterOptions) {
	r.fns[o.Name] = a
}

func (r *registry) RegisterDynamicActivity(any, activity.DynamicRegisterOptions) {
	panic("no dynamic activities")
}

var _ worker.ActivityRegistry = (*registry)(nil)

// registered returns every activity the activity packages register, by
// name.
func registered() map[string]any {
	r := &registry{fns: map[string]any{}}
	bsact.Register(r, &bsact.Activities{})
	ghact.Register(r, &ghact.Activities{})
	fnact.Register(r, &fnact.Activities{})
	jiraact.Register(r, &jiraact.Activities{})
	snact.Register(r, &snact.Activities{})
	splunkact.Register(r, &splunkact.Activities{})
	return r.fns
}

// foreignTypes lists the types reachable from t (through fields,
// elements, keys and pointers) that a connector package declares.
func foreignTypes(t reflect.Type, seen map[reflect.Type]bool) []string {
	if seen[t] {
		return nil
	}
	seen[t] = true
	var out []string
	if under(t.PkgPath(), "connectors") {
		out = append(out, t.String())
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		out = append(out, foreignTypes(t.Elem(), seen)...)
	case reflect.Map:
		out = append(out, foreignTypes(t.Key(), seen)...)
		out = append(out, foreignTypes(t.Elem(), seen)...)
	case reflect.Struct:
		for i := range t.NumField() {
			out = append(out, foreignTypes(t.Field(i).Type, seen)...)
		}
	}
	return out
}

// TestActivitiesOwnTheirTypes: what an activity takes and returns is
// stored in workflow histories, so it is the activity package's own type;
// a connector type there would let a connector change alter histories.
func TestActivitiesOwnTheirTypes(t *testing.T) {
	t.Parallel()
	fns := registered()
	require.Contains(t, fns, ghact.CreateComment)
	require.Contains(t, fns, jiraact.AddRemoteLink)
	require.Contains(t, fns, bsact.RefreshEntity)
	ctxType := reflect.TypeOf((*context.Context)(nil)).Elem()
	errType := reflect.TypeOf((*error)(nil)).Elem()
	for name, fn := range fns {
		ft := reflect.TypeOf(fn)
		require.Equal(t, reflect.Func, ft.Kind(), name)
		require.Equal(t, 2, ft.NumIn(), "%s takes a context and one input struct", name)
		require.Equal(t, ctxType, ft.In(0), name)
		require.Equal(t, 2, ft.NumOut(), "%s returns one output struct and an error", name)
		require.Equal(t, errType, ft.Out(1), name)
		for _, typ := range []reflect.Type{ft.In(1), ft.Out(0)} {
			require.Equal(t, reflect.Struct, typ.Kind(), "%s: %s", name, typ)
			require.Empty(t, foreignTypes(typ, map[reflect.Type]bool{}), "%s: %s holds connector types", name, typ)
		}
	}
}

func TestForeignTypesFindsNestedConnectorTypes(t *testing.T) {
	t.Parallel()
	type nested struct {
		Statuses map[string][]*ghconn.Status
	}
	require.NotEmpty(t, foreignTypes(reflect.TypeOf(nested{}), map[reflect.Type]bool{}))
	require.Empty(t, foreignTypes(reflect.TypeOf(jiraact.AddRemoteLinkInput{}), map[reflect.Type]bool{}))
}
