// Package github verifies and normalizes webhook deliveries from GitHub.com
// and GitHub Enterprise Server.
//
// Deliveries are authenticated by X-Hub-Signature-256 (HMAC-SHA256 of the
// raw body); the legacy SHA-1 X-Hub-Signature is accepted only when the
// integration sets the option allow_sha1=true. Bodies sent as
// application/x-www-form-urlencoded carry the JSON in the "payload" field and
// are decoded, not refused.
//
// Routing needs a handful of fields, so the payload is scanned once for
// them (hook.Fields: one pass that validates the body and picks them out)
// rather than decoded into go-github's full event types, or even into a
// small typed struct with json.Unmarshal, which reads the body twice: it is
// several times cheaper on the ingress hot path and it keeps working when
// GitHub adds or changes fields that routing does not read.
package github

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // only for integrations that opt in to GitHub's legacy signature.
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/workflows"
)

// Name is the source name of GitHub integrations.
const Name = "github"

// OptionAllowSHA1 is the integration option that lets the legacy
// X-Hub-Signature (HMAC-SHA1) header verify a delivery.
const OptionAllowSHA1 = "allow_sha1"

// The headers read, in net/http's canonical form (GitHub documents them
// as X-GitHub-…): Header.Get canonicalizes its key, and a key that is not
// canonical already costs an allocation per lookup.
const (
	headerSig256    = "X-Hub-Signature-256"
	headerSig1      = "X-Hub-Signature"
	headerDelivery  = "X-Github-Delivery"
	headerEvent     = "X-Github-Event"
	headerGHESHost  = "X-Github-Enterprise-Host"
	headerGHESVer   = "X-Github-Enterprise-Version"
	headerHookID    = "X-Github-Hook-Id"
	headerTargetTyp = "X-Github-Hook-Installation-Target-Type"
	headerTargetID  = "X-Github-Hook-Installation-Target-Id"
)

// metaHeaders are the headers an event keeps in Meta, by their names
// there (the header, lower-cased once here rather than per delivery).
var metaHeaders = func() []struct{ header, name string } {
	var out []struct{ header, name string }
	for _, h := range []string{headerGHESHost, headerGHESVer, headerHookID, headerTargetTyp, headerTargetID} {
		out = append(out, struct{ header, name string }{h, strings.ToLower(h)})
	}
	return out
}()

// Source is the GitHub hook.Source.
type Source struct{}

var _ hook.Source = Source{}

// Name implements hook.Source.
func (Source) Name() string { return Name }

// Verify implements hook.Source.
func (Source) Verify(req *hook.Request) error {
	if sig := req.Header.Get(headerSig256); sig != "" {
		hexSig, ok := strings.CutPrefix(sig, "sha256=")
		if !ok || !hook.ValidHMACSHA256(req.Body, hexSig, req.Secrets) {
			return hook.Unauthorized("signature does not match", "X-Hub-Signature-256 must be sha256=<hex HMAC-SHA256 of the raw body> under the integration's secret")
		}
		return nil
	}
	if sig := req.Header.Get(headerSig1); sig != "" && req.Options[OptionAllowSHA1] == "true" {
		hexSig, ok := strings.CutPrefix(sig, "sha1=")
		if !ok || !validSHA1(req.Body, hexSig, req.Secrets) {
			return hook.Unauthorized("signature does not match", "X-Hub-Signature must be sha1=<hex HMAC-SHA1 of the raw body> under the integration's secret")
		}
		return nil
	}
	return hook.Unauthorized("missing signature", "set a secret on the GitHub webhook so that GitHub sends X-Hub-Signature-256")
}

func validSHA1(body []byte, hexSig string, secrets [][]byte) bool {
	want, err := hex.DecodeString(hexSig)
	if err != nil || len(want) != sha1.Size {
		return false
	}
	ok := false
	for _, s := range secrets {
		m := hmac.New(sha1.New, s)
		m.Write(body)
		if hmac.Equal(m.Sum(nil), want) {
			ok = true
		}
	}
	return ok
}

// payload is the part of any GitHub event that routing reads (scanned by
// scanPayload; the JSON tags say which fields, and let the tests decode the
// same struct with json.Unmarshal to check the scan).
type payload struct {
	Action string `json:"action"`
	Number int    `json:"number"`
	Ref    string `json:"ref"`
	After  string `json:"after"`

	Repository   *repository  `json:"repository"`
	Organization *login       `json:"organization"`
	Installation *id          `json:"installation"`
	PullRequest  *pullRequest `json:"pull_request"`
	Issue        *issue       `json:"issue"`
	CheckSuite   *headSHA     `json:"check_suite"`
	CheckRun     *headSHA     `json:"check_run"`
	WorkflowRun  *workflowRun `json:"workflow_run"`
	Deployment   *deployment  `json:"deployment"`
	Release      *release     `json:"release"`
}

// payloadObjects are the objects a payload points to.
type payloadObjects struct {
	repo       repository
	owner      owner
	org        login
	inst       id
	pr         pullRequest
	head       sha
	issue      issue
	suite, run headSHA
	wfRun      workflowRun
	dep        deployment
	rel        release
}

type repository struct {
	FullName string `json:"full_name"`
	Name     string `json:"name"`
	HTMLURL  string `json:"html_url"`
	Owner    *owner `json:"owner"`
}

type owner struct {
	Login string `json:"login"`
	Name  string `json:"name"`
}

type login struct {
	Login string `json:"login"`
}

type id struct {
	ID int64 `json:"id"`
}

type pullRequest struct {
	Number int  `json:"number"`
	Head   *sha `json:"head"`
}

type sha struct {
	SHA string `json:"sha"`
}

type issue struct {
	Number      int             `json:"number"`
	PullRequest json.RawMessage `json:"pull_request"`
}

type headSHA struct {
	HeadSHA string `json:"head_sha"`
}

type workflowRun struct {
	ID      int64  `json:"id"`
	HeadSHA string `json:"head_sha"`
}

type deployment struct {
	ID          int64  `json:"id"`
	SHA         string `json:"sha"`
	Environment string `json:"environment"`
}

type release struct {
	TagName string `json:"tag_name"`
}

// Label implements hook.Source.
func (Source) Label(h http.Header, _ map[string]string) hook.Label {
	return hook.Label{DeliveryID: hook.HeaderValue(h, headerDelivery), Event: hook.HeaderValue(h, headerEvent)}
}

// Ping implements hook.Source: GitHub's ping event, sent when a hook is
// created.
func (Source) Ping(ev workflows.Event) bool { return ev.Type == "ping" }

// Parse implements hook.Source.
func (s Source) Parse(req *hook.Request) (workflows.Event, error) {
	label := s.Label(req.Header, req.Options)
	typ := label.Event
	if typ == "" {
		return workflows.Event{}, hook.BadRequest("missing_event_type", "missing X-GitHub-Event header", "GitHub sends the event type in X-GitHub-Event")
	}
	id := label.DeliveryID
	if id == "" {
		// Real GitHub deliveries always carry one; a relay that strips it
		// still gets deduplication by content.
		id = hook.BodyDeliveryID(req.Body)
	}
	body := req.Body
	if req.ContentType == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("payload") == "" {
			return workflows.Event{}, hook.BadRequest("malformed_form", "form body has no payload field", "GitHub's form content type sends the JSON in a field named payload")
		}
		body = []byte(form.Get("payload"))
	}
	// A field routing reads with an unexpected type is left unset; a body
	// that is not JSON, or not an object, is not a GitHub event.
	p, ok := scanPayload(body)
	if !ok {
		return workflows.Event{}, hook.BadRequest("malformed_json", "body is not a JSON object", "")
	}
	ev := workflows.Event{
		DeliveryID: id,
		Source:     Name,
		Type:       typ,
		Action:     p.Action,
		Keys:       keys(&p, host(req, &p)),
		Meta:       meta(req),
		Payload:    json.RawMessage(body),
	}
	return ev, nil
}

// The fields of payload, as hook.Fields paths; payloadFields[i] is field
// i.
const (
	fAction = iota
	fNumber
	fRef
	fAfter
	fRepo
	fRepoFullName
	fRepoName
	fRepoHTMLURL
	fRepoOwner
	fRepoOwnerLogin
	fRepoOwnerName
	fOrg
	fOrgLogin
	fInstallation
	fInstallationID
	fPR
	fPRNumber
	fPRHead
	fPRHeadSHA
	fIssue
	fIssueNumber
	fIssuePR
	fCheckSuite
	fCheckSuiteSHA
	fCheckRun
	fCheckRunSHA
	fWorkflowRun
	fWorkflowRunID
	fWorkflowRunSHA
	fDeployment
	fDeploymentID
	fDeploymentSHA
	fDeploymentEnv
	fRelease
	fReleaseTag
)

var payloadFields = hook.NewFields(
	hook.Field{Path: "action", Kind: hook.String},
	hook.Field{Path: "number", Kind: hook.Int},
	hook.Field{Path: "ref", Kind: hook.String},
	hook.Field{Path: "after", Kind: hook.String},
	hook.Field{Path: "repository", Kind: hook.Object},
	hook.Field{Path: "repository.full_name", Kind: hook.String},
	hook.Field{Path: "repository.name", Kind: hook.String},
	hook.Field{Path: "repository.html_url", Kind: hook.String},
	hook.Field{Path: "repository.owner", Kind: hook.Object},
	hook.Field{Path: "repository.owner.login", Kind: hook.String},
	hook.Field{Path: "repository.owner.name", Kind: hook.String},
	hook.Field{Path: "organization", Kind: hook.Object},
	hook.Field{Path: "organization.login", Kind: hook.String},
	hook.Field{Path: "installation", Kind: hook.Object},
	hook.Field{Path: "installation.id", Kind: hook.Int},
	hook.Field{Path: "pull_request", Kind: hook.Object},
	hook.Field{Path: "pull_request.number", Kind: hook.Int},
	hook.Field{Path: "pull_request.head", Kind: hook.Object},
	hook.Field{Path: "pull_request.head.sha", Kind: hook.String},
	hook.Field{Path: "issue", Kind: hook.Object},
	hook.Field{Path: "issue.number", Kind: hook.Int},
	hook.Field{Path: "issue.pull_request", Kind: hook.Raw},
	hook.Field{Path: "check_suite", Kind: hook.Object},
	hook.Field{Path: "check_suite.head_sha", Kind: hook.String},
	hook.Field{Path: "check_run", Kind: hook.Object},
	hook.Field{Path: "check_run.head_sha", Kind: hook.String},
	hook.Field{Path: "workflow_run", Kind: hook.Object},
	hook.Field{Path: "workflow_run.id", Kind: hook.Int},
	hook.Field{Path: "workflow_run.head_sha", Kind: hook.String},
	hook.Field{Path: "deployment", Kind: hook.Object},
	hook.Field{Path: "deployment.id", Kind: hook.Int},
	hook.Field{Path: "deployment.sha", Kind: hook.String},
	hook.Field{Path: "deployment.environment", Kind: hook.String},
	hook.Field{Path: "release", Kind: hook.Object},
	hook.Field{Path: "release.tag_name", Kind: hook.String},
)

// scanPayload reads payload's fields from body in one pass; ok is false
// when body is not a JSON object. The result is what json.Unmarshal into
// payload gives, type errors tolerated (tested against it).
func scanPayload(body []byte) (p payload, ok bool) {
	v, err := payloadFields.Scan(body)
	if err != nil || !isObject(body) {
		return p, false
	}
	// The nested objects json.Unmarshal would allocate one by one share
	// one allocation.
	o := new(payloadObjects)
	p.Action, p.Number, p.Ref, p.After = v.String(fAction), int(v.Int(fNumber)), v.String(fRef), v.String(fAfter)
	if v.Set(fRepo) {
		o.repo = repository{FullName: v.String(fRepoFullName), Name: v.String(fRepoName), HTMLURL: v.String(fRepoHTMLURL)}
		p.Repository = &o.repo
		if v.Set(fRepoOwner) {
			o.owner = owner{Login: v.String(fRepoOwnerLogin), Name: v.String(fRepoOwnerName)}
			p.Repository.Owner = &o.owner
		}
	}
	if v.Set(fOrg) {
		o.org = login{Login: v.String(fOrgLogin)}
		p.Organization = &o.org
	}
	if v.Set(fInstallation) {
		o.inst = id{ID: v.Int(fInstallationID)}
		p.Installation = &o.inst
	}
	if v.Set(fPR) {
		o.pr = pullRequest{Number: int(v.Int(fPRNumber))}
		p.PullRequest = &o.pr
		if v.Set(fPRHead) {
			o.head = sha{SHA: v.String(fPRHeadSHA)}
			p.PullRequest.Head = &o.head
		}
	}
	if v.Set(fIssue) {
		o.issue = issue{Number: int(v.Int(fIssueNumber))}
		p.Issue = &o.issue
		if raw, ok := v.Raw(fIssuePR); ok {
			p.Issue.PullRequest = json.RawMessage(raw)
		}
	}
	if v.Set(fCheckSuite) {
		o.suite = headSHA{HeadSHA: v.String(fCheckSuiteSHA)}
		p.CheckSuite = &o.suite
	}
	if v.Set(fCheckRun) {
		o.run = headSHA{HeadSHA: v.String(fCheckRunSHA)}
		p.CheckRun = &o.run
	}
	if v.Set(fWorkflowRun) {
		o.wfRun = workflowRun{ID: v.Int(fWorkflowRunID), HeadSHA: v.String(fWorkflowRunSHA)}
		p.WorkflowRun = &o.wfRun
	}
	if v.Set(fDeployment) {
		o.dep = deployment{ID: v.Int(fDeploymentID), SHA: v.String(fDeploymentSHA), Environment: v.String(fDeploymentEnv)}
		p.Deployment = &o.dep
	}
	if v.Set(fRelease) {
		o.rel = release{TagName: v.String(fReleaseTag)}
		p.Release = &o.rel
	}
	return p, true
}

// isObject reports whether body, already known to be JSON or a JSON type
// error, is an object: null, arrays and scalars decode into the payload
// struct without a syntax error but are not GitHub events.
func isObject(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// DefaultHost is the KeyHost of deliveries from GitHub.com; GitHub
// Enterprise Server names its host in X-GitHub-Enterprise-Host.
const DefaultHost = "github.com"

// host is the KeyHost of a delivery: the GHES host header, else the host
// of the repository's web URL, else GitHub.com.
func host(req *hook.Request, p *payload) string {
	if h := strings.ToLower(strings.TrimSpace(req.Header.Get(headerGHESHost))); h != "" {
		return h
	}
	if r := p.Repository; r != nil {
		if h := workflows.HostOfURL(r.HTMLURL); h != "" {
			return h
		}
	}
	return DefaultHost
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
	if p.Organization != nil {
		set(workflows.KeyOwner, p.Organization.Login)
	}
	if r := p.Repository; r != nil {
		owner := ""
		if r.Owner != nil {
			// Push events name the owner in "name", all others in "login".
			owner = r.Owner.Login
			if owner == "" {
				owner = r.Owner.Name
			}
		}
		path := r.FullName
		if path == "" && owner != "" && r.Name != "" {
			path = owner + "/" + r.Name
		}
		if owner == "" {
			owner, _, _ = strings.Cut(path, "/")
		}
		set(workflows.KeyOwner, owner)
		set(workflows.KeyRepoName, r.Name)
		set(workflows.KeyRepoPath, path)
	}
	if p.Installation != nil {
		setInt(workflows.KeyInstallation, p.Installation.ID)
	}
	set(workflows.KeyRef, p.Ref)
	set(workflows.KeySHA, p.After)
	if pr := p.PullRequest; pr != nil {
		n := int64(pr.Number)
		if n == 0 {
			n = int64(p.Number)
		}
		setInt(workflows.KeyPullRequest, n)
		if pr.Head != nil {
			set(workflows.KeySHA, pr.Head.SHA)
		}
	}
	if is := p.Issue; is != nil {
		setInt(workflows.KeyIssue, int64(is.Number))
		if len(is.PullRequest) > 0 && string(is.PullRequest) != "null" {
			setInt(workflows.KeyPullRequest, int64(is.Number))
		}
	}
	if p.CheckSuite != nil {
		set(workflows.KeySHA, p.CheckSuite.HeadSHA)
	}
	if p.CheckRun != nil {
		set(workflows.KeySHA, p.CheckRun.HeadSHA)
	}
	if w := p.WorkflowRun; w != nil {
		setInt(workflows.KeyWorkflowRun, w.ID)
		set(workflows.KeySHA, w.HeadSHA)
	}
	if d := p.Deployment; d != nil {
		setInt(workflows.KeyDeployment, d.ID)
		set(workflows.KeySHA, d.SHA)
		set(workflows.KeyEnvironment, d.Environment)
	}
	if p.Release != nil {
		set(workflows.KeyTag, p.Release.TagName)
	}
	if strings.Trim(k[workflows.KeySHA], "0") == "" {
		delete(k, workflows.KeySHA) // a deleted branch's "after" is all zeros
	}
	return k
}

func meta(req *hook.Request) map[string]string {
	var m map[string]string
	for _, h := range metaHeaders {
		if v := hook.HeaderValue(req.Header, h.header); v != "" {
			if m == nil {
				m = make(map[string]string, len(metaHeaders))
			}
			m[h.name] = v
		}
	}
	return m
}
