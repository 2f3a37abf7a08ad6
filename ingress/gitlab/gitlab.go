// Package gitlab verifies and normalizes webhook deliveries from GitLab
// (GitLab.com, Self-Managed and Dedicated): project and group webhooks and
// system hooks.
//
// GitLab authenticates a delivery by sending the webhook's secret token as
// is in X-Gitlab-Token; it is compared in constant time with each of the
// integration's secrets. A webhook with a signing token (GitLab 18.x) signs
// instead, as the Standard Webhooks specification says (webhook-id =
// Idempotency-Key, webhook-timestamp, webhook-signature "v1,<base64>"); the
// integration's secret is then the whsec_ signing token.
//
// The event type is the payload's object_kind (push, tag_push,
// merge_request, issue, note, pipeline, build for job events, deployment,
// release, ...), or event_name for system hooks that have no object_kind
// (project_create, user_create, ...), or else derived from X-Gitlab-Event
// ("Merge Request Hook" becomes merge_request).
//
// The delivery ID is Idempotency-Key when GitLab sends it (GitLab 17.4 and
// later): it is the header GitLab documents for idempotency, the same on
// every retry and resend of one event. Otherwise X-Gitlab-Event-UUID, then
// X-Gitlab-Webhook-UUID. X-Gitlab-Event-UUID comes second because GitLab
// uses it for recursion detection and documents that webhooks triggered by
// an earlier webhook share its value, so two distinct events can carry the
// same one.
package gitlab

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/workflows"
)

// Name is the source name of GitLab integrations.
const Name = "gitlab"

const (
	headerToken       = "X-Gitlab-Token"
	headerEvent       = "X-Gitlab-Event"
	headerEventUUID   = "X-Gitlab-Event-UUID"
	headerWebhookUUID = "X-Gitlab-Webhook-UUID"
	headerIdempotency = "Idempotency-Key"
	headerInstance    = "X-Gitlab-Instance"
)

// Source is the GitLab hook.Source.
type Source struct{}

var _ hook.Source = Source{}

// Name implements hook.Source.
func (Source) Name() string { return Name }

// Verify implements hook.Source.
func (Source) Verify(req *hook.Request) error {
	token := req.Header.Get(headerToken)
	if token == "" && req.Header.Get("webhook-signature") != "" {
		// A webhook with a signing token (GitLab 18.x): Standard Webhooks
		// signatures; the integration's secret is the whsec_ token.
		return hook.VerifyStandardWebhooks(req, 5*time.Minute)
	}
	if token == "" {
		return hook.Unauthorized("missing token", "set a secret token on the GitLab webhook so that GitLab sends X-Gitlab-Token, or a signing token so that it sends webhook-signature")
	}
	if !hook.EqualSecret(token, req.Secrets) {
		return hook.Unauthorized("token does not match", "X-Gitlab-Token must equal the secret token of the integration")
	}
	return nil
}

// payload is the part of any GitLab event that routing reads. Fields whose
// JSON type differs between events (tag, environment, commit) are raw.
type payload struct {
	ObjectKind  string `json:"object_kind"`
	EventName   string `json:"event_name"`
	Action      string `json:"action"`
	Ref         string `json:"ref"`
	After       string `json:"after"`
	CheckoutSHA string `json:"checkout_sha"`
	SHA         string `json:"sha"`
	Status      string `json:"status"`
	ProjectID   int64  `json:"project_id"`
	// PathWithNamespace is set on system hooks about a project.
	PathWithNamespace string          `json:"path_with_namespace"`
	Tag               json.RawMessage `json:"tag"`
	Environment       json.RawMessage `json:"environment"`
	Commit            *struct {
		ID json.RawMessage `json:"id"`
	} `json:"commit"`

	// Job events.
	BuildID     int64  `json:"build_id"`
	BuildStatus string `json:"build_status"`
	PipelineID  int64  `json:"pipeline_id"`
	// Deployment events.
	DeploymentID int64 `json:"deployment_id"`

	Project *struct {
		ID                int64  `json:"id"`
		PathWithNamespace string `json:"path_with_namespace"`
		WebURL            string `json:"web_url"`
	} `json:"project"`
	// Repository is the project as push events describe it too.
	Repository *struct {
		Homepage string `json:"homepage"`
	} `json:"repository"`
	ObjectAttributes *struct {
		ID           int64  `json:"id"`
		IID          int64  `json:"iid"`
		Action       string `json:"action"`
		State        string `json:"state"`
		Status       string `json:"status"`
		Ref          string `json:"ref"`
		Tag          bool   `json:"tag"`
		SHA          string `json:"sha"`
		NoteableType string `json:"noteable_type"`
		CommitID     string `json:"commit_id"`
		LastCommit   *struct {
			ID string `json:"id"`
		} `json:"last_commit"`
	} `json:"object_attributes"`
	MergeRequest *struct {
		IID int64 `json:"iid"`
	} `json:"merge_request"`
	Issue *struct {
		IID int64 `json:"iid"`
	} `json:"issue"`
}

// Label implements hook.Source. A delivery signed with a signing token
// (Standard Webhooks) is named by its signed webhook-id, so that a
// captured delivery replayed with a fresh, unsigned Idempotency-Key is
// still a duplicate; otherwise Idempotency-Key (kept on resends) comes
// first, then the event and webhook UUIDs.
func (Source) Label(h http.Header, _ map[string]string) hook.Label {
	names := []string{headerIdempotency, "webhook-id", headerEventUUID, headerWebhookUUID}
	if hook.HeaderValue(h, "webhook-signature") != "" && hook.HeaderValue(h, "webhook-id") != "" {
		names = []string{"webhook-id"}
	}
	l := hook.Label{Event: hook.HeaderValue(h, headerEvent)}
	for _, n := range names {
		if v := hook.HeaderValue(h, n); v != "" {
			l.DeliveryID = v
			break
		}
	}
	return l
}

// Ping implements hook.Source: GitLab's test deliveries are ordinary
// events.
func (Source) Ping(workflows.Event) bool { return false }

// Parse implements hook.Source.
func (s Source) Parse(req *hook.Request) (workflows.Event, error) {
	id := s.Label(req.Header, req.Options).DeliveryID
	if id == "" {
		// GitLab before 15.x sends no delivery header: the body stands in.
		id = hook.BodyDeliveryID(req.Body)
	}
	var p payload
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(req.Body, &p); (err != nil && !errors.As(err, &typeErr)) || !isObject(req.Body) {
		return workflows.Event{}, hook.BadRequest("malformed_json", "body is not a JSON object", "")
	}
	typ := eventType(&p, hook.HeaderValue(req.Header, headerEvent))
	if typ == "" {
		return workflows.Event{}, hook.BadRequest("missing_event_type", "no object_kind in the body and no X-Gitlab-Event header",
			"GitLab sends the event type in X-Gitlab-Event and object_kind")
	}
	return workflows.Event{
		DeliveryID: id,
		Source:     Name,
		Type:       typ,
		Action:     action(&p),
		Keys:       keys(&p, host(req, &p)),
		Meta:       meta(req),
		Payload:    json.RawMessage(req.Body),
	}, nil
}

func isObject(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

func eventType(p *payload, header string) string {
	switch {
	case p.ObjectKind != "":
		return p.ObjectKind
	case p.EventName != "":
		return p.EventName
	}
	// "Merge Request Hook" -> merge_request, "System Hook" -> system.
	h := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(header)), " hook")
	return strings.ReplaceAll(h, " ", "_")
}

// action is what happened to the object: the MR or issue action (open,
// update, merge, ...), a release's action, else the status of a pipeline,
// job or deployment, else the object's state.
func action(p *payload) string {
	if a := p.ObjectAttributes; a != nil && a.Action != "" {
		return a.Action
	}
	if p.Action != "" {
		return p.Action
	}
	if a := p.ObjectAttributes; a != nil && a.Status != "" {
		return a.Status
	}
	if p.BuildStatus != "" {
		return p.BuildStatus
	}
	if p.Status != "" {
		return p.Status
	}
	if a := p.ObjectAttributes; a != nil {
		return a.State
	}
	return ""
}

// host is the KeyHost of a delivery: the instance GitLab names in
// X-Gitlab-Instance (GitLab 15.5 and later), else the host of the project's
// web URL. Without either the event has no host key.
func host(req *hook.Request, p *payload) string {
	if h := workflows.HostOfURL(strings.TrimSpace(req.Header.Get(headerInstance))); h != "" {
		return h
	}
	if p.Project != nil {
		if h := workflows.HostOfURL(p.Project.WebURL); h != "" {
			return h
		}
	}
	if p.Repository != nil {
		return workflows.HostOfURL(p.Repository.Homepage)
	}
	return ""
}

// keys are the business keys of workflows/keys.go that routing needs.
func keys(p *payload, host string) map[string]string {
	k := make(map[string]string, 8)
	set := func(name, v string) {
		if v != "" {
			k[name] = v
		}
	}
	setInt := func(name string, v int64) {
		if v != 0 {
			k[name] = strconv.FormatInt(v, 10)
		}
	}
	set(workflows.KeyHost, host)
	path := p.PathWithNamespace
	setInt(workflows.KeyProjectID, p.ProjectID)
	if pr := p.Project; pr != nil {
		if pr.PathWithNamespace != "" {
			path = pr.PathWithNamespace
		}
		setInt(workflows.KeyProjectID, pr.ID)
	}
	set(workflows.KeyRepoPath, path)
	if i := strings.LastIndexByte(path, '/'); i > 0 {
		set(workflows.KeyOwner, path[:i])
		set(workflows.KeyRepoName, path[i+1:])
	}
	tagged := string(p.Tag) == "true"
	set(workflows.KeyRef, fullRef(p.Ref, tagged))
	set(workflows.KeySHA, p.After)
	if !isZeroSHA(p.CheckoutSHA) {
		set(workflows.KeySHA, p.CheckoutSHA)
	}
	if isZeroSHA(k[workflows.KeySHA]) {
		delete(k, workflows.KeySHA) // a deleted branch or tag has no commit
	}
	set(workflows.KeySHA, p.SHA)
	if p.ObjectKind == "release" {
		set(workflows.KeyTag, text(p.Tag))
		if p.Commit != nil {
			set(workflows.KeySHA, text(p.Commit.ID))
		}
	}
	setInt(workflows.KeyJob, p.BuildID)
	setInt(workflows.KeyPipeline, p.PipelineID)
	setInt(workflows.KeyDeployment, p.DeploymentID)
	set(workflows.KeyEnvironment, environment(p.Environment))
	if mr := p.MergeRequest; mr != nil {
		setInt(workflows.KeyPullRequest, mr.IID)
	}
	if is := p.Issue; is != nil {
		setInt(workflows.KeyIssue, is.IID)
	}
	if a := p.ObjectAttributes; a != nil {
		switch p.ObjectKind {
		case "merge_request":
			setInt(workflows.KeyPullRequest, a.IID)
			if a.LastCommit != nil {
				set(workflows.KeySHA, a.LastCommit.ID)
			}
		case "issue", "work_item":
			setInt(workflows.KeyIssue, a.IID)
		case "pipeline":
			setInt(workflows.KeyPipeline, a.ID)
			set(workflows.KeyRef, fullRef(a.Ref, a.Tag))
			set(workflows.KeySHA, a.SHA)
		case "note":
			set(workflows.KeySHA, a.CommitID)
		}
	}
	return k
}

// fullRef makes GitLab's short branch and tag names (pipeline, job and
// deployment events) full refs like push events', so one key matches both.
func fullRef(ref string, tag bool) string {
	switch {
	case ref == "" || strings.HasPrefix(ref, "refs/"):
		return ref
	case tag:
		return "refs/tags/" + ref
	default:
		return "refs/heads/" + ref
	}
}

func isZeroSHA(s string) bool { return s != "" && strings.Trim(s, "0") == "" }

// environment reads a deployment's environment name or a job's
// environment object.
func environment(raw json.RawMessage) string {
	if s := text(raw); s != "" {
		return s
	}
	var env struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(raw, &env) // absent or another shape: no key
	return env.Name
}

// text returns a JSON string's value, or "" for anything else.
func text(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

func meta(req *hook.Request) map[string]string {
	m := map[string]string{}
	for _, h := range []string{headerEvent, headerInstance, headerEventUUID, headerWebhookUUID} {
		if v := hook.HeaderValue(req.Header, h); v != "" {
			m[strings.ToLower(h)] = v
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}
