// Package bitbucket verifies and normalizes webhook deliveries from
// Bitbucket Cloud and Bitbucket Data Center (Server).
//
// Both editions sign the raw body when the webhook has a secret:
// X-Hub-Signature is sha256=<hex HMAC-SHA256>. A webhook without a secret
// sends no signature and is refused.
//
// The type is the event key (X-Event-Key, or eventKey in a Data Center
// body): repo:push and pullrequest:created on Cloud, repo:refs_changed and
// pr:opened on Data Center. The action is what follows the first colon
// (push, created, reviewer:approved). The delivery ID is X-Request-UUID
// (Cloud) or X-Request-Id (Data Center).
//
// Keys are the same for both editions: repo is the Cloud full_name
// (workspace/slug) or the Data Center project key and slug (PROJ/slug); ref
// is a full ref (refs/heads/main) and head_ref/base_ref are a pull
// request's branch names, as for GitHub.
package bitbucket

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

// Name is the source name of Bitbucket integrations.
const Name = "bitbucket"

// CloudHost is the KeyHost of Bitbucket Cloud deliveries.
const CloudHost = "bitbucket.org"

// OptionHost is the integration option that sets the KeyHost of a
// Bitbucket Data Center server (bitbucket.corp.example). Without it the
// host is read from the repository's or pull request's self link, which
// Data Center sends on most events but not on all (diagnostics:ping).
const OptionHost = "host"

const (
	headerSig       = "X-Hub-Signature"
	headerEventKey  = "X-Event-Key"
	headerCloudID   = "X-Request-UUID"
	headerDCID      = "X-Request-Id"
	headerHookUUID  = "X-Hook-UUID"
	editionCloud    = "cloud"
	editionDC       = "datacenter"
	metaEdition     = "edition"
	metaHookUUIDKey = "x-hook-uuid"
)

// Source is the Bitbucket hook.Source.
type Source struct{}

var _ hook.Source = Source{}

// Name implements hook.Source.
func (Source) Name() string { return Name }

// Verify implements hook.Source.
func (Source) Verify(req *hook.Request) error {
	sig := req.Header.Get(headerSig)
	if sig == "" {
		return hook.Unauthorized("missing signature", "set a secret on the Bitbucket webhook so that Bitbucket sends X-Hub-Signature")
	}
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	if !ok || !hook.ValidHMACSHA256(req.Body, hexSig, req.Secrets) {
		return hook.Unauthorized("signature does not match", "X-Hub-Signature must be sha256=<hex HMAC-SHA256 of the raw body> under the integration's secret")
	}
	return nil
}

// cloudRef is a branch or tag in a Cloud push change.
type cloudRef struct {
	Type   string `json:"type"`
	Name   string `json:"name"`
	Target *struct {
		Hash string `json:"hash"`
	} `json:"target"`
}

// cloudEnd is the source or destination of a Cloud pull request.
type cloudEnd struct {
	Commit *struct {
		Hash string `json:"hash"`
	} `json:"commit"`
}

// dcRef is the fromRef or toRef of a Data Center pull request.
type dcRef struct {
	ID           string `json:"id"`
	LatestCommit string `json:"latestCommit"`
	Repository   *repo  `json:"repository"`
}

// repo is a Cloud repository (full_name) or a Data Center one (project key
// and slug).
type repo struct {
	FullName string `json:"full_name"`
	Slug     string `json:"slug"`
	Project  *struct {
		Key string `json:"key"`
	} `json:"project"`
	Links links `json:"links"`
}

// links are a Cloud object's links (html.href) or a Data Center one's
// (self[].href).
type links struct {
	HTML *struct {
		Href string `json:"href"`
	} `json:"html"`
	Self []*struct {
		Href string `json:"href"`
	} `json:"self"`
}

func (l links) host() string {
	if l.HTML != nil {
		if h := workflows.HostOfURL(l.HTML.Href); h != "" {
			return h
		}
	}
	for _, s := range l.Self {
		if s != nil {
			if h := workflows.HostOfURL(s.Href); h != "" {
				return h
			}
		}
	}
	return ""
}

// setKeys sets the repository keys: a Cloud full_name is workspace/slug, a
// Data Center repository is named by its project key and slug.
func (r *repo) setKeys(k map[string]string) {
	owner, name := "", ""
	switch {
	case r.FullName != "":
		owner, name, _ = strings.Cut(r.FullName, "/")
	case r.Project != nil:
		owner, name = r.Project.Key, r.Slug
	}
	if owner == "" || name == "" {
		return
	}
	k[workflows.KeyOwner], k[workflows.KeyRepoName] = owner, name
	k[workflows.KeyRepoPath] = owner + "/" + name
	if h := r.Links.host(); h != "" && k[workflows.KeyHost] == "" {
		k[workflows.KeyHost] = h
	}
}

// payload is the part of any Bitbucket event that routing reads. Cloud and
// Data Center spell the pull request "pullrequest" and "pullRequest".
type payload struct {
	EventKey   string `json:"eventKey"`
	Repository *repo  `json:"repository"`

	// Cloud.
	Push *struct {
		Changes []struct {
			New *cloudRef `json:"new"`
			Old *cloudRef `json:"old"`
		} `json:"changes"`
	} `json:"push"`
	CloudPR *struct {
		ID     int64     `json:"id"`
		Source *cloudEnd `json:"source"`
	} `json:"pullrequest"`

	// Data Center.
	Changes []struct {
		RefID  string `json:"refId"`
		ToHash string `json:"toHash"`
	} `json:"changes"`
	DCPR *struct {
		ID      int64  `json:"id"`
		FromRef *dcRef `json:"fromRef"`
		ToRef   *dcRef `json:"toRef"`
		Links   links  `json:"links"`
	} `json:"pullRequest"`
}

// Label implements hook.Source.
func (Source) Label(h http.Header, _ map[string]string) hook.Label {
	id := hook.HeaderValue(h, headerCloudID)
	if id == "" {
		id = hook.HeaderValue(h, headerDCID)
	}
	return hook.Label{DeliveryID: id, Event: hook.HeaderValue(h, headerEventKey)}
}

// Ping implements hook.Source: Data Center's "Test connection".
func (Source) Ping(ev workflows.Event) bool { return ev.Type == "diagnostics:ping" }

// Parse implements hook.Source.
func (s Source) Parse(req *hook.Request) (workflows.Event, error) {
	edition, id := editionCloud, hook.HeaderValue(req.Header, headerCloudID)
	if id == "" {
		edition, id = editionDC, hook.HeaderValue(req.Header, headerDCID)
	}
	if id == "" {
		id = hook.BodyDeliveryID(req.Body)
	}
	var p payload
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(req.Body, &p); (err != nil && !errors.As(err, &typeErr)) || !isObject(req.Body) {
		return workflows.Event{}, hook.BadRequest("malformed_json", "body is not a JSON object", "")
	}
	typ := hook.HeaderValue(req.Header, headerEventKey)
	if typ == "" {
		typ = p.EventKey
	}
	if typ == "" {
		return workflows.Event{}, hook.BadRequest("missing_event_type", "missing X-Event-Key header", "Bitbucket sends the event key (repo:push, pr:opened, ...) in X-Event-Key")
	}
	_, action, _ := strings.Cut(typ, ":")
	m := map[string]string{metaEdition: edition}
	if v := hook.HeaderValue(req.Header, headerHookUUID); v != "" {
		m[metaHookUUIDKey] = v
	}
	return workflows.Event{
		DeliveryID: id,
		Source:     Name,
		Type:       typ,
		Action:     action,
		Keys:       keys(&p, edition, req.Options[OptionHost]),
		Meta:       m,
		Payload:    json.RawMessage(req.Body),
	}, nil
}

func isObject(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// keys are the business keys of workflows/keys.go that routing needs.
func keys(p *payload, edition, optionHost string) map[string]string {
	k := make(map[string]string, 8)
	set := func(name, v string) {
		if v != "" {
			k[name] = v
		}
	}
	setSHA := func(v string) {
		if strings.Trim(v, "0") != "" { // a deleted ref's hash is all zeros
			k[workflows.KeySHA] = v
		}
	}
	setPR := func(id int64) {
		if id != 0 {
			k[workflows.KeyPullRequest] = strconv.FormatInt(id, 10)
		}
	}
	switch {
	case optionHost != "":
		k[workflows.KeyHost] = strings.ToLower(optionHost)
	case edition == editionCloud:
		k[workflows.KeyHost] = CloudHost
	}
	if r := p.Repository; r != nil {
		r.setKeys(k)
	}
	if p.Push != nil && len(p.Push.Changes) > 0 {
		c := p.Push.Changes[0]
		switch {
		case c.New != nil:
			set(workflows.KeyRef, cloudFullRef(c.New))
			if c.New.Target != nil {
				setSHA(c.New.Target.Hash)
			}
		case c.Old != nil:
			set(workflows.KeyRef, cloudFullRef(c.Old))
		}
	}
	if len(p.Changes) > 0 {
		set(workflows.KeyRef, p.Changes[0].RefID)
		setSHA(p.Changes[0].ToHash)
	}
	if pr := p.CloudPR; pr != nil {
		setPR(pr.ID)
		if s := pr.Source; s != nil && s.Commit != nil {
			setSHA(s.Commit.Hash)
		}
	}
	if pr := p.DCPR; pr != nil {
		setPR(pr.ID)
		if f := pr.FromRef; f != nil {
			setSHA(f.LatestCommit)
		}
		// Pull request events carry the repository in the refs only.
		if t := pr.ToRef; t != nil && t.Repository != nil && k[workflows.KeyRepoPath] == "" {
			t.Repository.setKeys(k)
		}
		if h := pr.Links.host(); h != "" && k[workflows.KeyHost] == "" {
			k[workflows.KeyHost] = h
		}
	}
	return k
}

// cloudFullRef turns a Cloud branch or tag name into a full ref.
func cloudFullRef(r *cloudRef) string {
	switch {
	case r.Name == "":
		return ""
	case r.Type == "branch":
		return "refs/heads/" + r.Name
	case r.Type == "tag" || r.Type == "annotated_tag":
		return "refs/tags/" + r.Name
	default:
		return r.Name
	}
}
