// Package blueprints holds what every blueprint is: one Blueprint value that
// carries its name, description, subscriptions, workflow registration,
// settings, the connectors it needs and its CLI commands.
//
// Each blueprint package (blueprints/prcomment, blueprints/relay, ...)
// exports one such value; blueprints/all lists them, and the router, the
// worker, `hookflow blueprints list` and the docs derive from that list. A
// blueprint package imports this package, never blueprints/all.
package blueprints

import (
	"context"
	"errors"
	"fmt"
	"go/token"
	"io"
	"strings"

	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/hookflow/hookflow/workflows"
)

// Blueprint is one blueprint, as a value.
type Blueprint struct {
	// Name is the blueprint's identifier: a lower-case Go identifier, the
	// first segment of every workflow ID it owns (<name>/<host>/<entity>),
	// its key in hookflow.yaml and its CLI command (hookflow <name> ...).
	Name string
	// Description says in one line what it automates.
	Description string
	// Settings returns a new settings value holding the defaults: a pointer
	// to a struct with yaml tags, which the configuration's
	// blueprints.<name>.settings are decoded into (unknown keys are errors)
	// before Validate is called. Nil means the blueprint has no settings.
	Settings func() Settings
	// Subscriptions returns the blueprint's subscriptions given its
	// validated settings (the value Settings returned, or nil). Their
	// TaskQueue is left empty: the list sets the worker's. Input must
	// capture the settings a new workflow needs, so that a running
	// workflow replays with the settings it started with.
	Subscriptions func(s Settings) []workflows.Subscription
	// Register registers the blueprint's workflows.
	Register func(r worker.WorkflowRegistry)
	// Needs lists what the blueprint's activities need configured. A
	// blueprint whose needs are not met is off.
	Needs []Need
	// Commands are mounted as `hookflow <name> <command>`.
	Commands []Command
}

// Settings is a blueprint's typed settings.
type Settings interface {
	// Validate reports a setting that is out of range, naming it by its
	// yaml key.
	Validate() error
}

// Connector names a system the activities reach.
type Connector string

// The connectors a blueprint may need.
const (
	// GitHub is always configured (api.github.com unless --github-api-url);
	// only its credentials may be missing.
	GitHub     Connector = "github"
	Jira       Connector = "jira"
	ServiceNow Connector = "servicenow"
	Splunk     Connector = "splunk"
	Backstage  Connector = "backstage"
	// Function is a function called through activities/httpfunc; Need.Name
	// names it.
	Function Connector = "function"
)

// Need is one thing a blueprint's activities need configured.
type Need struct {
	Connector Connector
	// Name names the function, for Connector Function.
	Name string
	// Why says what the blueprint uses it for, in the worker's message.
	Why string
}

func (n Need) String() string {
	if n.Connector == Function {
		return "function " + n.Name
	}
	return string(n.Connector)
}

// Command is a CLI command a blueprint carries: `hookflow <blueprint> <Name>`.
type Command struct {
	// Name is the command's name.
	Name string
	// Short is its one-line help.
	Short string
	// Flags declares the command's flags on f (time flags should use
	// ParseTime). Nil means none.
	Flags func(f *pflag.FlagSet)
	// Run runs the command once its flags are parsed.
	Run func(ctx context.Context, env CommandEnv) error
}

// CommandEnv is what a blueprint command gets from the CLI.
type CommandEnv struct {
	// Args are the positional arguments.
	Args []string
	// Flags are the command's parsed flags, as Command.Flags declared them
	// (env.Flags.GetString("since")).
	Flags *pflag.FlagSet
	// Out is where the command prints.
	Out io.Writer
	// Output is the --output format: "table" or "json".
	Output string
	// Settings are the blueprint's validated settings from the
	// configuration (nil when it has none).
	Settings Settings
	// Temporal dials the Temporal frontend named by --temporal-address.
	Temporal func(ctx context.Context) (client.Client, error)
	// Admin calls the running server's admin API (--server, with the
	// admin token): path is relative to /admin/v1; in, when not nil, is
	// sent as JSON and the answer is decoded into out (a
	// *json.RawMessage keeps it as the server sent it).
	Admin func(ctx context.Context, method, path string, in, out any) error
}

// Check reports what is wrong with b as a value: a name that is not a
// lower-case identifier, no description, no subscription, no registration,
// or subscriptions that disagree on their workflow.
func (b Blueprint) Check() error {
	if err := CheckName(b.Name); err != nil {
		return err
	}
	if b.Description == "" || strings.Contains(b.Description, "\n") {
		return fmt.Errorf("blueprint %s: Description must be one line", b.Name)
	}
	if b.Subscriptions == nil || b.Register == nil {
		return fmt.Errorf("blueprint %s: Subscriptions and Register are required", b.Name)
	}
	subs := b.Subscriptions(b.DefaultSettings())
	if len(subs) == 0 {
		return fmt.Errorf("blueprint %s: no subscription", b.Name)
	}
	for _, s := range subs {
		if s.Blueprint != b.Name {
			return fmt.Errorf("blueprint %s: a subscription names blueprint %q", b.Name, s.Blueprint)
		}
		if s.Workflow != subs[0].Workflow {
			return fmt.Errorf("blueprint %s: subscriptions start %s and %s: the forwarder finds one workflow per blueprint", b.Name, subs[0].Workflow, s.Workflow)
		}
		if s.Route == nil {
			return fmt.Errorf("blueprint %s: a subscription has no Route", b.Name)
		}
	}
	if b.Settings != nil {
		if err := b.Settings().Validate(); err != nil {
			return fmt.Errorf("blueprint %s: the default settings do not validate: %w", b.Name, err)
		}
	}
	return nil
}

// DefaultSettings returns the default settings, or nil.
func (b Blueprint) DefaultSettings() Settings {
	if b.Settings == nil {
		return nil
	}
	return b.Settings()
}

// reserved are the built-in commands a blueprint may not be named after.
var reserved = map[string]bool{
	"dev": true, "ingress": true, "worker": true, "integrations": true, "keys": true, "tokens": true,
	"deliveries": true, "audit": true, "send": true, "recover": true, "backup": true, "restore": true, "blueprints": true, "config": true, "new": true, "admin": true,
	"help": true, "completion": true, "version": true, "all": true,
	// prcomment's pre-namespacing workflow IDs start with github/.
	"github": true,
}

// CheckName reports why name cannot name a blueprint: it must be a
// lower-case Go identifier (it is a package name), not a Go keyword, and
// not a built-in hookflow command.
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("a blueprint needs a name")
	case !token.IsIdentifier(name) || strings.ToLower(name) != name || strings.Contains(name, "_"):
		return fmt.Errorf("blueprint name %q must be a lower-case Go identifier without underscores (letters and digits, starting with a letter): it names a Go package, a workflow ID prefix and a CLI command", name)
	case reserved[name]:
		return fmt.Errorf("blueprint name %q is taken by a built-in hookflow command", name)
	}
	return nil
}
