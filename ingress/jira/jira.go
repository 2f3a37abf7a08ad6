// Package jira verifies and normalizes webhook deliveries from Jira Cloud
// and Jira Data Center.
//
// Jira Cloud admin webhooks (System > WebHooks, or the admin REST API)
// with a secret sign the raw body: X-Hub-Signature is <method>=<hex>, the
// WebSub format, where method is sha256. Webhooks that cannot carry a
// secret (Data Center releases without one, webhooks registered by Connect
// or OAuth apps, which Jira signs with a JWT that this package does not
// check) are authenticated by the integration URL instead: with the
// integration option auth=url, Verify accepts any request, because the
// server only routes a request to the integration when its secret path
// matched. Use it only over HTTPS.
//
// The type is the body's webhookEvent (jira:issue_created,
// jira:issue_updated, comment_created, sprint_started,
// jira:version_released, ...) and the action its verb (created, updated,
// started, released).
//
// The delivery ID is X-Atlassian-Webhook-Identifier, which Jira Cloud keeps
// the same across retries. Without it (Data Center), it is built from the
// body as <timestamp>-<webhookEvent>-<id of the issue, comment, sprint,
// version or project>: a retry resends the same body, so it gets the same
// ID, and two different events have different timestamps or subjects.
package jira

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/workflows"
)

// Name is the source name of Jira integrations.
const Name = "jira"

// OptionAuth is the integration option that selects how deliveries are
// authenticated: AuthURL, or empty for the X-Hub-Signature HMAC.
const OptionAuth = "auth"

// AuthURL is the value of OptionAuth for integrations whose secret is the
// integration URL itself.
const AuthURL = "url"

const (
	headerSig        = "X-Hub-Signature"
	headerIdentifier = "X-Atlassian-Webhook-Identifier"
)

// Source is the Jira hook.Source.
type Source struct{}

var _ hook.Source = Source{}

// Name implements hook.Source.
func (Source) Name() string { return Name }

// Verify implements hook.Source.
func (Source) Verify(req *hook.Request) error {
	if req.Options[OptionAuth] == AuthURL {
		return nil
	}
	sig := req.Header.Get(headerSig)
	if sig == "" {
		return hook.Unauthorized("missing signature",
			"set a secret on the Jira webhook so that Jira sends X-Hub-Signature, or set the integration option auth=url")
	}
	method, hexSig, ok := strings.Cut(sig, "=")
	if !ok || !strings.EqualFold(method, "sha256") || !hook.ValidHMACSHA256(req.Body, hexSig, req.Secrets) {
		return hook.Unauthorized("signature does not match",
			"X-Hub-Signature must be sha256=<hex HMAC-SHA256 of the raw body> under the integration's secret")
	}
	return nil
}

// id is a Jira identifier, which Jira sends as a string ("10003") or a
// number (sprint and project IDs) depending on the object. Any other JSON
// value leaves it empty rather than failing: an error from UnmarshalJSON
// would stop decoding the rest of the payload.
type id string

func (i *id) UnmarshalJSON(b []byte) error {
	var n json.Number
	if json.Unmarshal(b, &n) == nil {
		*i = id(n.String())
		return nil
	}
	var s string
	_ = json.Unmarshal(b, &s)
	*i = id(s)
	return nil
}

type project struct {
	ID   id     `json:"id"`
	Key  string `json:"key"`
	Self string `json:"self"`
}

// self is the REST URL of an object, which names the site.
type self struct {
	Self string `json:"self"`
}

// payload is the part of any Jira event that routing reads.
type payload struct {
	Timestamp          int64  `json:"timestamp"`
	WebhookEvent       string `json:"webhookEvent"`
	IssueEventTypeName string `json:"issue_event_type_name"`
	Issue              *struct {
		ID     id     `json:"id"`
		Key    string `json:"key"`
		Self   string `json:"self"`
		Fields *struct {
			Project *project `json:"project"`
		} `json:"fields"`
	} `json:"issue"`
	Comment *struct {
		ID   id     `json:"id"`
		Self string `json:"self"`
	} `json:"comment"`
	Sprint *struct {
		ID   id     `json:"id"`
		Self string `json:"self"`
	} `json:"sprint"`
	Version *struct {
		ID        id     `json:"id"`
		ProjectID id     `json:"projectId"`
		Self      string `json:"self"`
	} `json:"version"`
	Project *project `json:"project"`
	User    *self    `json:"user"`
}

// Label implements hook.Source. Jira names the event in the body only.
func (Source) Label(h http.Header, _ map[string]string) hook.Label {
	return hook.Label{DeliveryID: hook.HeaderValue(h, headerIdentifier)}
}

// Ping implements hook.Source: Jira sends no pings.
func (Source) Ping(workflows.Event) bool { return false }

// Parse implements hook.Source.
func (Source) Parse(req *hook.Request) (workflows.Event, error) {
	var p payload
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(req.Body, &p); (err != nil && !errors.As(err, &typeErr)) || !isObject(req.Body) {
		return workflows.Event{}, hook.BadRequest("malformed_json", "body is not a JSON object", "")
	}
	if p.WebhookEvent == "" {
		return workflows.Event{}, hook.BadRequest("missing_event_type", "body has no webhookEvent", "Jira sends the event type in the webhookEvent field")
	}
	k := keys(&p)
	deliveryID := hook.HeaderValue(req.Header, headerIdentifier)
	if deliveryID == "" && p.Timestamp != 0 {
		deliveryID = strconv.FormatInt(p.Timestamp, 10) + "-" + p.WebhookEvent
		if s := subject(&p); s != "" {
			deliveryID += "-" + s
		}
	}
	if deliveryID == "" {
		deliveryID = hook.BodyDeliveryID(req.Body)
	}
	var meta map[string]string
	if p.IssueEventTypeName != "" {
		meta = map[string]string{"issue_event_type": p.IssueEventTypeName}
	}
	return workflows.Event{
		DeliveryID: deliveryID,
		Source:     Name,
		Type:       p.WebhookEvent,
		Action:     action(p.WebhookEvent),
		Keys:       k,
		Meta:       meta,
		Payload:    json.RawMessage(req.Body),
	}, nil
}

func isObject(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// action is the verb of an event name: jira:issue_created -> created,
// sprint_started -> started.
func action(event string) string {
	event = strings.TrimPrefix(event, "jira:")
	if i := strings.LastIndexByte(event, '_'); i >= 0 {
		return event[i+1:]
	}
	return ""
}

// subject is the ID of the object the event is about, for delivery IDs
// built from the body.
func subject(p *payload) string {
	switch {
	case p.Comment != nil && p.Comment.ID != "":
		return "comment-" + string(p.Comment.ID)
	case p.Issue != nil && p.Issue.ID != "":
		return "issue-" + string(p.Issue.ID)
	case p.Sprint != nil && p.Sprint.ID != "":
		return "sprint-" + string(p.Sprint.ID)
	case p.Version != nil && p.Version.ID != "":
		return "version-" + string(p.Version.ID)
	case p.Project != nil && p.Project.ID != "":
		return "project-" + string(p.Project.ID)
	}
	return ""
}

// host is the KeyHost of an event: the site named by the REST URL ("self")
// of the first object that has one.
func host(p *payload) string {
	var urls []string
	if p.Issue != nil {
		urls = append(urls, p.Issue.Self)
	}
	if p.Comment != nil {
		urls = append(urls, p.Comment.Self)
	}
	if p.Sprint != nil {
		urls = append(urls, p.Sprint.Self)
	}
	if p.Version != nil {
		urls = append(urls, p.Version.Self)
	}
	if p.Project != nil {
		urls = append(urls, p.Project.Self)
	}
	if p.User != nil {
		urls = append(urls, p.User.Self)
	}
	for _, u := range urls {
		if h := workflows.HostOfURL(u); h != "" {
			return h
		}
	}
	return ""
}

// keys are the business keys of workflows/keys.go that routing needs.
func keys(p *payload) map[string]string {
	k := make(map[string]string, 6)
	set := func(name string, v string) {
		if v != "" {
			k[name] = v
		}
	}
	set(workflows.KeyHost, host(p))
	if pr := p.Project; pr != nil {
		set(workflows.KeyProject, pr.Key)
		set(workflows.KeyProjectID, string(pr.ID))
	}
	if is := p.Issue; is != nil {
		set(workflows.KeyIssue, is.Key)
		set(workflows.KeyIssueID, string(is.ID))
		if is.Fields != nil && is.Fields.Project != nil {
			set(workflows.KeyProject, is.Fields.Project.Key)
			set(workflows.KeyProjectID, string(is.Fields.Project.ID))
		}
	}
	if p.Sprint != nil {
		set(workflows.KeySprint, string(p.Sprint.ID))
	}
	if v := p.Version; v != nil {
		set(workflows.KeyVersion, string(v.ID))
		set(workflows.KeyProjectID, string(v.ProjectID))
	}
	return k
}
