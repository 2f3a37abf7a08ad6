package main

import (
	"log/slog"
	"net/http"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/ingress"
	"github.com/hookflow/hookflow/ingress/console"
)

// newConsole is the delivery console over srv (ingress/console), with
// the enabled blueprints for its blueprints page.
func newConsole(srv *ingress.Server, cfg ingressConfig, log *slog.Logger) (*console.Handler, error) {
	return console.New(console.Config{
		Backend: srv, TemporalUIURL: cfg.TemporalUIURL, Namespace: cfg.Namespace,
		Blueprints: consoleBlueprints(cfg.Blueprints, cfg.TaskQueue), Logger: log.With("component", "console"),
	})
}

// consoleBlueprints describes the enabled blueprints: their subscriptions
// (as `hookflow blueprints list` does) and their effective settings.
func consoleBlueprints(enabled []blueprints.Enabled, taskQueue string) []console.Blueprint {
	out := make([]console.Blueprint, 0, len(enabled))
	for _, e := range enabled {
		b := console.Blueprint{Name: e.Name, Description: e.Description, Integrations: e.Integrations, Sources: e.Sources}
		for _, s := range e.Subscriptions(taskQueue, nil) {
			b.Subscriptions = append(b.Subscriptions, blueprints.Describe(s))
		}
		if e.Settings != nil {
			if y, err := yaml.Marshal(e.Settings); err == nil {
				b.Settings = string(y)
			}
		}
		out = append(out, b)
	}
	return out
}

// withConsole serves con under /console and h everywhere else.
func withConsole(h, con http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == console.Prefix || strings.HasPrefix(r.URL.Path, console.Prefix+"/") {
			con.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}
