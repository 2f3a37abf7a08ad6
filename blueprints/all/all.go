// Package all is the one list of blueprints: the router, the worker,
// `hookflow blueprints list` and the docs derive from it. A blueprint
// package never imports it.
package all

import (
	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/blueprints/catalog"
	"github.com/hookflow/hookflow/blueprints/changegate"
	"github.com/hookflow/hookflow/blueprints/devinfo"
	"github.com/hookflow/hookflow/blueprints/dora"
	"github.com/hookflow/hookflow/blueprints/prcomment"
	"github.com/hookflow/hookflow/blueprints/prjira"
	"github.com/hookflow/hookflow/blueprints/relay"
	// hookflow:imports (new blueprints go above this line)
)

// List returns every blueprint, in the order they are listed and routed.
// `hookflow new blueprint` adds its lines above the markers.
func List() []blueprints.Blueprint {
	return []blueprints.Blueprint{
		prcomment.Blueprint,
		prjira.Blueprint,
		relay.Blueprint,
		catalog.Blueprint,
		changegate.Blueprint,
		dora.Blueprint,
		devinfo.Blueprint,
		// hookflow:blueprints (new blueprints go above this line)
	}
}
