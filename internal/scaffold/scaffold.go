// Package scaffold writes a new blueprint into a Hookflow checkout:
// `hookflow new blueprint NAME --source S --event E` creates
// blueprints/NAME (blueprint value, subscription, settings, workflow,
// README, a test over a recorded delivery copied from
// ingress/<source>/testdata) and adds it to the one list in
// blueprints/all. What it writes passes `go test` and `make test` as is.
package scaffold

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/template"

	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/blueprints/blueprinttest"
)

//go:embed templates/*.tmpl
var templates embed.FS

// Module is the module path a checkout must have.
const Module = "github.com/hookflow/hookflow"

// Options says what to generate.
type Options struct {
	// Root is the checkout's root (where go.mod is).
	Root string
	// Name is the blueprint's name: a lower-case Go identifier.
	Name string
	// Source is the sender ("github"). Empty means "github".
	Source string
	// Event is the sender's event type ("pull_request"). Empty means
	// "pull_request".
	Event string
	// Existing are the names already in the list.
	Existing []string
}

// Result says what was written.
type Result struct {
	Dir   string
	Files []string
	// Delivery is the recorded delivery the test uses.
	Delivery string
}

// Generate writes the blueprint. It refuses a name that is not a
// lower-case identifier, is taken, or whose directory exists, and an event
// for which ingress/<source>/testdata has no recorded delivery.
func Generate(o Options) (Result, error) {
	if o.Source == "" {
		o.Source = "github"
	}
	if o.Event == "" {
		o.Event = "pull_request"
	}
	if err := blueprints.CheckName(o.Name); err != nil {
		return Result{}, err
	}
	if slices.Contains(o.Existing, o.Name) {
		return Result{}, fmt.Errorf("a blueprint named %s exists already (hookflow blueprints list)", o.Name)
	}
	if _, ok := blueprinttest.Secrets[o.Source]; !ok {
		known := make([]string, 0, len(blueprinttest.Secrets))
		for s := range blueprinttest.Secrets {
			known = append(known, s)
		}
		sort.Strings(known)
		return Result{}, fmt.Errorf("--source %q: want one of %s", o.Source, strings.Join(known, ", "))
	}
	if err := checkRoot(o.Root); err != nil {
		return Result{}, err
	}
	dir := filepath.Join(o.Root, "blueprints", o.Name)
	if _, err := os.Stat(dir); err == nil {
		return Result{}, fmt.Errorf("%s exists already", dir)
	}
	recorded, err := findDelivery(o.Root, o.Source, o.Event)
	if err != nil {
		return Result{}, err
	}
	data := map[string]string{"Name": o.Name, "Source": o.Source, "Event": o.Event, "File": filepath.Base(recorded)}
	res := Result{Dir: dir, Delivery: recorded}
	files := map[string][]byte{}
	entries, err := fs.ReadDir(templates, "templates")
	if err != nil {
		return Result{}, err
	}
	for _, e := range entries {
		tmpl, err := template.ParseFS(templates, "templates/"+e.Name())
		if err != nil {
			return Result{}, err
		}
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, data); err != nil {
			return Result{}, err
		}
		name := strings.TrimSuffix(e.Name(), ".tmpl")
		out := buf.Bytes()
		if strings.HasSuffix(name, ".go") {
			if out, err = format.Source(out); err != nil {
				return Result{}, fmt.Errorf("scaffold: template %s: %w", e.Name(), err)
			}
		}
		files[name] = out
	}
	body, err := os.ReadFile(recorded)
	if err != nil {
		return Result{}, err
	}
	files[filepath.Join("testdata", filepath.Base(recorded))] = body

	list := filepath.Join(o.Root, "blueprints", "all", "all.go")
	listed, err := addToList(list, o.Name)
	if err != nil {
		return Result{}, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "testdata"), 0o755); err != nil {
		return Result{}, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), files[n], 0o644); err != nil {
			return Result{}, err
		}
		res.Files = append(res.Files, filepath.Join(dir, n))
	}
	if err := os.WriteFile(list, listed, 0o644); err != nil {
		return Result{}, err
	}
	res.Files = append(res.Files, list)
	return res, nil
}

func checkRoot(root string) error {
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return fmt.Errorf("%s is not the root of a Hookflow checkout (run hookflow new from it, or give --dir): %w", root, err)
	}
	if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("module "+Module+"\n")) {
		return fmt.Errorf("%s/go.mod is not module %s", root, Module)
	}
	return nil
}

// findDelivery picks the first recorded delivery in
// ingress/<source>/testdata (by file name) that the source parses into an
// event of type event: the --event is the type the router sees
// ("merge_request" for GitLab's "Merge Request Hook").
func findDelivery(root, source, event string) (string, error) {
	dir := filepath.Join(root, "ingress", source, "testdata")
	files, err := filepath.Glob(filepath.Join(dir, "*.http"))
	if err != nil {
		return "", err
	}
	// Prefer a file named after the event, and among those one that
	// opens or creates the entity: the natural first delivery of a test.
	stem := strings.ReplaceAll(event, ":", "_")
	rank := func(f string) int {
		b := filepath.Base(f)
		switch {
		case b == stem+".http", strings.HasPrefix(b, stem+".") && (strings.Contains(b, "open") || strings.Contains(b, "creat")):
			return 0
		case strings.HasPrefix(b, stem+"."):
			return 1
		}
		return 2
	}
	sort.Slice(files, func(i, j int) bool {
		if ri, rj := rank(files[i]), rank(files[j]); ri != rj {
			return ri < rj
		}
		return files[i] < files[j]
	})
	src := blueprinttest.Sources()[source]
	var types []string
	for _, f := range files {
		req, err := blueprinttest.ReadRequest(f, blueprinttest.Secrets[source])
		if err != nil {
			continue
		}
		ev, err := src.Parse(req)
		if err != nil {
			continue
		}
		if ev.Type == event {
			return f, nil
		}
		if !slices.Contains(types, ev.Type) {
			types = append(types, ev.Type)
		}
	}
	sort.Strings(types)
	return "", fmt.Errorf("no recorded %s %s delivery in %s (recorded event types: %s); record one first (docs/blueprints.md, \"Recording a delivery\")",
		source, event, dir, strings.Join(types, ", "))
}

// The markers in blueprints/all/all.go that new lines go above.
const (
	importMarker = "\t// hookflow:imports"
	listMarker   = "\t\t// hookflow:blueprints"
)

func addToList(path, name string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := string(b)
	if !strings.Contains(s, importMarker) || !strings.Contains(s, listMarker) {
		return nil, errors.New(path + ": the hookflow:imports and hookflow:blueprints markers are missing: add the blueprint to the list by hand")
	}
	s = strings.Replace(s, importMarker, "\t\""+Module+"/blueprints/"+name+"\"\n"+importMarker, 1)
	s = strings.Replace(s, listMarker, "\t\t"+name+".Blueprint,\n"+listMarker, 1)
	out, err := format.Source([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
