package changegate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/hookflow/hookflow/workflows"
)

// MaxCorrelationID is the length of ServiceNow's correlation_id column
// (String, 100) on task tables. Every changegate workflow ID fits in it,
// so the ID is the correlation ID and ServiceNow's messages route back
// with no lookup table.
const MaxCorrelationID = 100

// SourceHookflow is the source of synthetic deliveries journaled through
// the admin API (break glass).
const SourceHookflow = "hookflow"

// EventBreakGlass is the type of a break-glass delivery; its action is
// "approve" or "reject" and its KeyEntity names the workflow.
const EventBreakGlass = "changegate.break_glass"

// TableChangeRequest is the ServiceNow table changegate's messages come
// from.
const TableChangeRequest = "change_request"

// Subscriptions route GitHub deployment events of the gated environments
// to the workflow of their deployment, ServiceNow change_request messages
// by their correlation_id, and break-glass deliveries by the workflow ID
// they name; a new workflow starts with s (DefaultSettings when nil).
func Subscriptions(taskQueue string, s *Settings) []workflows.Subscription {
	if s == nil {
		s = DefaultSettings()
	}
	settings := *s
	input := func(string) any { return Input{Settings: settings} }
	// A gate that finished never opens again: redeliveries, late statuses,
	// late approvals are recorded as ignored ("entity finished").
	never := func(workflows.Event) bool { return false }
	sub := func(source string, events []string, pattern string, route func(workflows.Event) string) workflows.Subscription {
		return workflows.Subscription{
			Blueprint: Name, Source: source, Events: events, IDPattern: pattern,
			Workflow: WorkflowName, TaskQueue: taskQueue, Route: route, Input: input, Starts: never,
		}
	}
	events := append(append([]string(nil), settings.Events...), EventDeploymentStatus)
	return []workflows.Subscription{
		sub(workflows.SourceGitHub, events, Name+"/<host>/<owner>/<repo>/deployment/<id>", func(ev workflows.Event) string {
			if !settings.gates(ev.Key(workflows.KeyEnvironment)) {
				return ""
			}
			return WorkflowID(ev)
		}),
		sub(workflows.SourceServiceNow, []string{TableChangeRequest}, "<correlation_id>", CorrelationRoute),
		sub(SourceHookflow, []string{EventBreakGlass}, "<entity>", func(ev workflows.Event) string {
			if id := ev.Key(workflows.KeyEntity); IsWorkflowID(id) {
				return id
			}
			return ""
		}),
	}
}

// WorkflowID returns the workflow of a GitHub deployment event:
// changegate/<host>/<owner>/<repo>/deployment/<id>, or, when that is
// longer than MaxCorrelationID, changegate/<host>/~<hash>/deployment/<id>
// with a hash of the repository (and of the host when the host alone is
// too long). It returns "" for events without a deployment ID.
func WorkflowID(ev workflows.Event) string {
	id := ev.Key(workflows.KeyDeployment)
	path := ev.Key(workflows.KeyRepoPath)
	host := workflows.Host(ev)
	if id == "" || path == "" || host == "" || strings.Trim(id, "0123456789") != "" {
		return ""
	}
	full := Name + "/" + host + "/" + path + "/deployment/" + id
	if len(full) <= MaxCorrelationID && IsWorkflowID(full) {
		return full
	}
	sum := sha256.Sum256([]byte(host + "/" + path))
	short := Name + "/" + host + "/~" + hex.EncodeToString(sum[:8]) + "/deployment/" + id
	if len(short) > MaxCorrelationID || !IsWorkflowID(short) {
		short = Name + "/~" + hex.EncodeToString(sum[:12]) + "/deployment/" + id
	}
	return short
}

var workflowIDPattern = regexp.MustCompile(`^changegate/[A-Za-z0-9._:~\[\]/-]+/deployment/[0-9]{1,19}$`)

// IsWorkflowID reports whether id is a changegate workflow ID that fits in
// a correlation_id: what routing by correlation_id accepts, so that it
// only ever reaches changegate workflows.
func IsWorkflowID(id string) bool {
	return len(id) <= MaxCorrelationID && workflowIDPattern.MatchString(id) && !strings.Contains(id, "//") && !strings.Contains(id, "/../")
}

// CorrelationRoute routes a ServiceNow change_request message by its
// correlation_id, when that is a changegate workflow ID.
func CorrelationRoute(ev workflows.Event) string {
	if ev.Source != workflows.SourceServiceNow || ev.Type != TableChangeRequest {
		return ""
	}
	var p struct {
		CorrelationID json.RawMessage `json:"correlation_id"`
	}
	if json.Unmarshal(ev.Payload, &p) != nil {
		return ""
	}
	var id string
	if json.Unmarshal(p.CorrelationID, &id) != nil || !IsWorkflowID(id) {
		return ""
	}
	return id
}
