package workflows

import (
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// The search attributes every entity workflow upserts (Keyword each), so that
// operators find "every workflow of PROJ-123" in the Temporal UI or with
// `temporal workflow list --query 'HookflowEntity="PROJ-123"'`. A Temporal
// cluster must have them registered (docs/operations.md); the embedded dev
// server registers them at start and the worker refuses to start without them.
var (
	// AttrBlueprint is the blueprint's name: the first segment of the
	// workflow ID.
	AttrBlueprint = temporal.NewSearchAttributeKeyKeyword("HookflowBlueprint")
	// AttrSource is the sender kind of the entity's latest event ("github").
	AttrSource = temporal.NewSearchAttributeKeyKeyword("HookflowSource")
	// AttrEntity is the entity's human name (EntityName).
	AttrEntity = temporal.NewSearchAttributeKeyKeyword("HookflowEntity")
	// AttrIntegration is the integration the latest event arrived on.
	AttrIntegration = temporal.NewSearchAttributeKeyKeyword("HookflowIntegration")
	// AttrLastDelivery is the delivery ID of the latest event applied.
	AttrLastDelivery = temporal.NewSearchAttributeKeyKeyword("HookflowLastDelivery")
)

// SearchAttributes lists every search attribute Hookflow upserts, for
// registration and for the worker's start-up check.
func SearchAttributes() []temporal.SearchAttributeKeyKeyword {
	return []temporal.SearchAttributeKeyKeyword{AttrBlueprint, AttrSource, AttrEntity, AttrIntegration, AttrLastDelivery}
}

// searchAttributesVersion is the GetVersion change ID under which the entity
// loop upserts search attributes: histories recorded before it (prcomment's
// replay test) replay without the upserts.
const searchAttributesVersion = "hookflow.search-attributes"

// DefaultHost is the provider host of events that name none: GitHub
// deliveries from github.com carry no X-GitHub-Enterprise-Host.
const DefaultHost = "github.com"

// Host returns the provider host an event came from: the GitHub Enterprise
// host, the GitLab instance, or DefaultHost for github.com. Other sources
// (Jira, ServiceNow, generic) have no host in the event and get "".
//
// TODO(issue 10 item 3): the typed host key; until it merges, the helpers
// here read the key names of both vocabularies (firstKey).
func Host(ev Event) string {
	if h := ev.Keys["host"]; h != "" {
		return h
	}
	switch ev.Source {
	case "github":
		if h := ev.Meta["x-github-enterprise-host"]; h != "" {
			return strings.ToLower(h)
		}
		return DefaultHost
	case "gitlab":
		if h := ev.Meta["x-gitlab-instance"]; h != "" {
			h = strings.TrimPrefix(strings.TrimPrefix(h, "https://"), "http://")
			return strings.ToLower(strings.TrimSuffix(h, "/"))
		}
		return "gitlab.com"
	}
	return ""
}

// EntityName is the human form of the entity an event is about, as
// operators type it: OWNER/REPO#N for a github.com pull request or issue,
// HOST/OWNER/REPO#N on other hosts, PROJ-123 for a Jira issue, CHG0031234
// for a ServiceNow record, the entity key for generic events, and the
// repository (with its host off github.com) for repository-wide events.
// It returns "" when the event names no entity.
//
// TODO(issue 10 item 3): use the typed business-key constants.
func EntityName(ev Event) string {
	switch ev.Source {
	case "jira":
		return firstKey(ev, "issue", "project")
	case "servicenow":
		return firstKey(ev, "number", "sys_id")
	case "generic":
		return firstKey(ev, "entity")
	}
	repo := repoPath(ev)
	if repo == "" {
		return ""
	}
	if h := Host(ev); h != "" && h != DefaultHost {
		repo = h + "/" + repo
	}
	if n := firstKey(ev, "pull_request", "pr", "mr", "issue"); n != "" {
		return repo + "#" + n
	}
	return repo
}

// firstKey is the first of the named keys ev has. The business keys are
// being renamed (issue 10 item 3: "repo" becomes "repo_path", "pr"
// "pull_request"); reading both keeps IDs and entity names stable across
// that change.
func firstKey(ev Event, names ...string) string {
	for _, n := range names {
		if v := ev.Keys[n]; v != "" {
			return v
		}
	}
	return ""
}

// repoPath is the repository's path on its host: owner/name on GitHub,
// the path with namespace on GitLab.
func repoPath(ev Event) string {
	if ev.Source == "gitlab" {
		return firstKey(ev, "repo_path", "project")
	}
	return firstKey(ev, "repo_path", "repo")
}

// blueprintOf is the blueprint that owns a workflow: the first segment of
// its namespaced ID (<blueprint>/<host>/<entity>).
func blueprintOf(workflowID string) string {
	name, _, _ := strings.Cut(workflowID, "/")
	return name
}

// upsertSearchAttributes sets the attributes ev changes, and only those:
// every upsert is an event in the history.
func upsertSearchAttributes(ctx workflow.Context, ev Event) error {
	current := workflow.GetTypedSearchAttributes(ctx)
	want := []struct {
		key temporal.SearchAttributeKeyKeyword
		v   string
	}{
		{AttrBlueprint, blueprintOf(workflow.GetInfo(ctx).WorkflowExecution.ID)},
		{AttrSource, ev.Source},
		{AttrEntity, EntityName(ev)},
		{AttrIntegration, ev.Integration},
		{AttrLastDelivery, ev.DeliveryID},
	}
	var updates []temporal.SearchAttributeUpdate
	for _, w := range want {
		if w.v == "" {
			continue
		}
		if got, ok := current.GetKeyword(w.key); ok && got == w.v {
			continue
		}
		updates = append(updates, w.key.ValueSet(w.v))
	}
	if len(updates) == 0 {
		return nil
	}
	return workflow.UpsertTypedSearchAttributes(ctx, updates...)
}

// EntityID is the namespaced workflow ID of the entity ev is about,
// <blueprint>/<host>/<entity>, or "" when ev names no entity:
//
//	github, gitlab, bitbucket  <host>/<owner>/<repo>[/pr/<n> | /mr/<n> | /issue/<n>]
//	jira                       <integration>/<issue key>
//	servicenow                 <integration>/<table>/<sys_id>
//	generic                    <integration>/<entity>
//
// Senders that name no host (Jira, ServiceNow, generic) are scoped by their
// integration instead. The blueprint prefix keeps two blueprints on one
// entity apart: SignalWithStart signals whatever runs under an ID.
//
// TODO(issue 10 item 3): build it from the typed business keys.
func EntityID(blueprint string, ev Event) string {
	k := ev.Keys
	host := Host(ev)
	if host == "" {
		host = ev.Integration
	}
	var path string
	switch ev.Source {
	case "jira":
		path = k["issue"]
	case "servicenow":
		if k["table"] != "" && k["sys_id"] != "" {
			path = k["table"] + "/" + k["sys_id"]
		}
	case "generic":
		path = k["entity"]
	default:
		if path = repoPath(ev); path == "" {
			break
		}
		segment := "pr"
		if ev.Source == "gitlab" {
			segment = "mr"
		}
		if n := firstKey(ev, "pull_request", "pr", "mr"); n != "" {
			path += "/" + segment + "/" + n
		} else if n := k["issue"]; n != "" {
			path += "/issue/" + n
		}
	}
	if path == "" || host == "" {
		return ""
	}
	return blueprint + "/" + host + "/" + path
}
