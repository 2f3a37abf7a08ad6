// Package catalog is the blueprint that keeps a Backstage software catalog
// current from GitHub, one workflow per repository: a new repository's
// catalog-info.yaml is registered as a location, and renames, transfers,
// archives and pushes to the default branch that touch the descriptor
// refresh its entities, once per burst (Settings.RefreshWindow). See
// README.md.
package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
	"gopkg.in/yaml.v3"

	bsact "github.com/hookflow/hookflow/activities/backstage"
	"github.com/hookflow/hookflow/activities/classify"
	ghact "github.com/hookflow/hookflow/activities/github"
	"github.com/hookflow/hookflow/activities/payload"
	"github.com/hookflow/hookflow/workflows"
)

// QueryState is the query that returns the workflow's State.
const QueryState = "state"

// Input is the workflow input; the zero value (with Settings) starts a new
// repository.
type Input struct {
	Entity   workflows.EntityState
	State    State
	Settings Settings
}

// State is what the workflow knows about its repository and its entry in
// the catalog.
type State struct {
	Owner        string `json:"owner,omitempty"`
	Repo         string `json:"repo,omitempty"`
	Installation string `json:"installation,omitempty"`
	// DefaultBranch is the branch whose descriptor the catalog reads.
	DefaultBranch string `json:"default_branch,omitempty"`
	// Target is the descriptor's URL as a Backstage location:
	// <html_url>/blob/<default branch>/<file>.
	Target string `json:"target,omitempty"`
	// Registered says Target is a location in the catalog.
	Registered bool `json:"registered,omitempty"`
	// EntityRefs are the entities the descriptor declares.
	EntityRefs []string `json:"entity_refs,omitempty"`
	Archived   bool     `json:"archived,omitempty"`
	// Pending says something changed since the last sync.
	Pending bool `json:"pending,omitempty"`
	// Registrations and Refreshes count the calls made over the
	// repository's life.
	Registrations int `json:"registrations,omitempty"`
	Refreshes     int `json:"refreshes,omitempty"`
	// LastError is why the last sync did nothing, if it did nothing.
	LastError string `json:"last_error,omitempty"`
}

// Repository is the workflow of one repository. It never completes on its
// own: it continues as new before its history grows too large.
func Repository(ctx workflow.Context, in Input) error {
	settings := in.Settings.withDefaults()
	st := in.State
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (State, error) { return st, nil }); err != nil {
		return err
	}
	entity := workflows.NewEntity(in.Entity)
	entity.Quiet = settings.RefreshWindow
	entity.Settle = func(ctx workflow.Context) (bool, error) {
		if st.Pending {
			st.Pending = false
			sync(ctx, settings, &st)
		}
		return false, nil
	}
	apply := func(ctx workflow.Context, ev workflows.Event) (bool, error) {
		if err := note(ctx, settings, &st, ev); err != nil {
			// Recorded in the history; the repository's next events go on.
			workflow.GetLogger(ctx).Warn("catalog: event not understood", "delivery_id", ev.DeliveryID, "error", err)
		}
		return false, nil
	}
	return entity.Run(ctx, apply, func(es workflows.EntityState) error {
		return workflow.NewContinueAsNewError(ctx, WorkflowName, Input{Entity: es, State: st, Settings: in.Settings})
	})
}

// pushCommitLimit is how many commits GitHub lists in a push at most; a
// push with that many may touch files it does not list.
const pushCommitLimit = 20

// projected are what catalog reads of a delivery: the repository's URL and
// default branch, the push's ref and the files each listed commit touched
// (path by path, so that a push with long messages stays small).
func projected() []string {
	out := []string{"repository.html_url", "repository.default_branch", "ref"}
	for i := range pushCommitLimit {
		for _, f := range []string{"added", "modified", "removed"} {
			out = append(out, fmt.Sprintf("commits.%d.%s", i, f))
		}
	}
	return out
}

// note records what ev changes; the next settle acts on it.
func note(ctx workflow.Context, settings Settings, st *State, ev workflows.Event) error {
	p, err := payload.Project(workflows.ConnectorCall(ctx), ev, projected()...)
	if err != nil {
		return err
	}
	if o := ev.Key(workflows.KeyOwner); o != "" {
		st.Owner = o
	}
	if r := ev.Key(workflows.KeyRepoName); r != "" {
		st.Repo = r
	}
	if i := ev.Key(workflows.KeyInstallation); i != "" {
		st.Installation = i
	}
	if b := p.String("repository.default_branch"); b != "" {
		st.DefaultBranch = b
	}
	target := st.Target
	if u := p.String("repository.html_url"); u != "" && st.DefaultBranch != "" {
		target = strings.TrimSuffix(u, "/") + "/blob/" + st.DefaultBranch + "/" + settings.File
	}
	if target != st.Target {
		// A new repository, or a renamed or transferred one: its
		// descriptor has a new URL, which must be registered.
		st.Target, st.Registered = target, false
	}
	switch ev.Type {
	case "repository":
		switch ev.Action {
		case "archived":
			st.Archived = true
		case "unarchived":
			st.Archived = false
		}
		st.Pending = true
	case "push":
		if st.DefaultBranch == "" || p.String("ref") != "refs/heads/"+st.DefaultBranch {
			return nil
		}
		if touches(p, settings.File) {
			st.Pending = true
		}
	}
	return nil
}

// touches reports whether a push's listed commits touch file, or it lists
// as many commits as GitHub does at most (it may touch more than it says).
func touches(p workflows.Projection, file string) bool {
	listed := 0
	for i := range pushCommitLimit {
		seen := false
		for _, kind := range []string{"added", "modified", "removed"} {
			raw, ok := p.Values[fmt.Sprintf("commits.%d.%s", i, kind)]
			if !ok {
				continue
			}
			seen = true
			var files []string
			if json.Unmarshal(raw, &files) == nil && contains(files, file) {
				return true
			}
		}
		if seen {
			listed++
		}
	}
	return listed >= pushCommitLimit
}

// sync makes the catalog match the repository: it reads the descriptor,
// registers its location when the catalog does not have it (a 409 means
// it does: then refresh) and refreshes the entities it declares otherwise.
// Failures are recorded in State.LastError and the history; the next
// event that asks for a sync tries again.
func sync(ctx workflow.Context, settings Settings, st *State) {
	log := workflow.GetLogger(ctx)
	st.LastError = ""
	fail := func(what string, err error) {
		st.LastError = what + ": " + err.Error()
		log.Warn("catalog: sync failed", "repo", st.Owner+"/"+st.Repo, "step", what, "error", err)
	}
	if st.Target == "" || st.Owner == "" || st.Repo == "" {
		st.LastError = "no repository URL seen yet"
		return
	}
	call := workflows.ConnectorCall(ctx)
	var file ghact.GetFileContentsOutput
	err := workflow.ExecuteActivity(call, ghact.GetFileContents, ghact.GetFileContentsInput{Installation: st.Installation,
		Owner: st.Owner, Repo: st.Repo, Path: settings.File, Ref: st.DefaultBranch, MaxBytes: 256 << 10}).Get(ctx, &file)
	if isType(err, classify.TypeNotFound) {
		st.LastError = settings.File + " not found on " + st.DefaultBranch + ": nothing to register yet"
		return
	}
	if err != nil {
		fail("read "+settings.File, err)
		return
	}
	refs, err := EntityRefs(file.Content)
	if err != nil {
		fail("parse "+settings.File, err)
		return
	}
	st.EntityRefs = refs
	if !st.Registered {
		var reg bsact.RegisterLocationOutput
		err := workflow.ExecuteActivity(call, bsact.RegisterLocation, bsact.RegisterLocationInput{Installation: settings.BackstageInstance, Target: st.Target}).Get(ctx, &reg)
		if err != nil {
			fail("register "+st.Target, err)
			return
		}
		st.Registered = true
		st.Registrations++
		if !reg.AlreadyRegistered {
			if len(reg.EntityRefs) > 0 {
				st.EntityRefs = reg.EntityRefs
			}
			return // Backstage has just read the descriptor
		}
		// Registered before (by hand, or under a lost answer): refresh.
	}
	for _, ref := range st.EntityRefs {
		var out bsact.RefreshEntityOutput
		if err := workflow.ExecuteActivity(call, bsact.RefreshEntity, bsact.RefreshEntityInput{Installation: settings.BackstageInstance, EntityRef: ref}).Get(ctx, &out); err != nil {
			fail("refresh "+ref, err)
			continue
		}
		st.Refreshes++
	}
}

func isType(err error, typ string) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == typ
}

// EntityRefs returns the references ("component:default/payments") of the
// entities a catalog-info.yaml declares, in order: one per YAML document
// with a kind and a metadata.name.
func EntityRefs(descriptor []byte) ([]string, error) {
	dec := yaml.NewDecoder(bytes.NewReader(descriptor))
	var refs []string
	for {
		var doc struct {
			Kind     string `yaml:"kind"`
			Metadata struct {
				Name      string `yaml:"name"`
				Namespace string `yaml:"namespace"`
			} `yaml:"metadata"`
		}
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
		if doc.Kind == "" || doc.Metadata.Name == "" {
			continue
		}
		ns := doc.Metadata.Namespace
		if ns == "" {
			ns = "default"
		}
		refs = append(refs, strings.ToLower(doc.Kind+":"+ns+"/"+doc.Metadata.Name))
	}
	if len(refs) == 0 {
		return nil, errors.New("no entity (kind and metadata.name) in the descriptor")
	}
	return refs, nil
}
