package console

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookflow/hookflow/ingress/apikeys"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/journal"
)

// pageNames are the templates under templates/, each rendered inside
// layout.html (login.html too, with no navigation).
var pageNames = []string{"login", "error", "deliveries", "delivery", "integrations", "secret", "keys", "blueprints", "entities", "audit", "dora"}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"join": strings.Join,
	"seconds": func(v *float64) string {
		if v == nil {
			return "—"
		}
		return (time.Duration(*v * float64(time.Second))).Round(time.Minute).String()
	},
	"rate": func(v *float64) string {
		if v == nil {
			return "—"
		}
		return fmt.Sprintf("%.0f%%", *v*100)
	},
	"perDay": func(v float64) string { return fmt.Sprintf("%.2f", v) },
}

func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// view is what every page's template gets.
type view struct {
	Title string
	Nav   string
	// User, Role and CSRF are empty on the login page.
	User string
	Role Role
	CSRF string
	// CanOperate and CanAdmin say which forms to show.
	CanOperate, CanAdmin bool
	Notice               string
	Data                 any
}

type errorData struct{ Message string }

func (h *Handler) render(w http.ResponseWriter, r *http.Request, ss *session, status int, page, title string, data any) {
	v := view{Title: title, Nav: page, Data: data}
	if ss != nil {
		v.User, v.Role, v.CSRF = ss.user, ss.role, ss.csrf
		v.CanOperate, v.CanAdmin = ss.role.allows(Operator), ss.role.allows(Admin)
	}
	v.Notice = r.URL.Query().Get("notice")
	if len(v.Notice) > 200 {
		v.Notice = ""
	}
	var buf bytes.Buffer
	if err := h.pages[page].Execute(&buf, v); err != nil {
		h.log.ErrorContext(r.Context(), "console template failed", "page", page, "error", err)
		http.Error(w, "internal error; see the server log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail renders err: its message for a *hook.Error, a generic one (and a
// log line) otherwise.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, ss *session, err error) {
	var he *hook.Error
	if errors.As(err, &he) {
		msg := he.Message
		if he.Hint != "" {
			msg += " (" + he.Hint + ")"
		}
		h.render(w, r, ss, he.Status, "error", "Refused", errorData{Message: msg})
		return
	}
	h.log.ErrorContext(r.Context(), "console request failed", "path", r.URL.Path, "error", err)
	h.render(w, r, ss, http.StatusInternalServerError, "error", "Error", errorData{Message: "Internal error; see the server log."})
}

func (h *Handler) badRequest(w http.ResponseWriter, r *http.Request, ss *session, msg string) {
	h.render(w, r, ss, http.StatusBadRequest, "error", "Refused", errorData{Message: msg})
}

// back redirects to path after a form, with a notice for the next page.
func back(w http.ResponseWriter, r *http.Request, path, notice string) {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	http.Redirect(w, r, Prefix+path+sep+"notice="+url.QueryEscape(notice), http.StatusSeeOther)
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// safeNext keeps a post-login redirect inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix+"/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") || strings.Contains(next, "//") {
		return Prefix + "/deliveries"
	}
	return next
}

type loginData struct {
	Next      string
	LoginCSRF string
	Error     string
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	h.showLogin(w, r, http.StatusOK, "")
}

func (h *Handler) showLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	token := randomString(24)
	h.setCookie(w, r, loginCookie, token, 600)
	d := loginData{Next: safeNext(r.FormValue("next")), LoginCSRF: token, Error: msg}
	h.render(w, r, nil, status, "login", "Sign in", d)
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	c, err := r.Cookie(loginCookie)
	if err != nil || mismatch(c.Value, r.PostFormValue("csrf")) {
		h.showLogin(w, r, http.StatusForbidden, "The form expired; sign in again.")
		return
	}
	if !h.cfg.Backend.CheckAdminToken(r.Context(), strings.TrimSpace(r.PostFormValue("token"))) {
		h.showLogin(w, r, http.StatusUnauthorized, "That is not the admin token.")
		return
	}
	h.startSession(w, r, "admin-token", Admin, r.PostFormValue("next"))
}

// mismatch reports whether a and b differ, in constant time; an empty a
// never matches.
func mismatch(a, b string) bool {
	return a == "" || subtle.ConstantTimeCompare([]byte(a), []byte(b)) != 1
}

func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, user string, role Role, next string) {
	cookie, ss := h.sessions.open(user, role, h.cfg.Now(), h.cfg.SessionTTL)
	h.setCookie(w, r, sessionCookie, cookie, int(h.cfg.SessionTTL/time.Second))
	h.setCookie(w, r, loginCookie, "", -1)
	h.audit(r, ss, "console.login", "", "role "+string(role))
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request, ss *session) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		h.sessions.close(c.Value)
	}
	h.setCookie(w, r, sessionCookie, "", -1)
	h.audit(r, ss, "console.logout", "", "")
	http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
}

// pageSize is how many deliveries a page lists.
const pageSize = 50

var statuses = []journal.Status{journal.Accepted, journal.Forwarded, journal.Ignored, journal.Duplicate, journal.Rejected, journal.Failed}

type deliveriesData struct {
	Filter       deliveryFilter
	Statuses     []journal.Status
	Sources      []string
	Integrations []integrations.Integration
	Rows         []journal.Entry
	// Older is the query of the next page; empty on the last one.
	Older string
	Chart bool
}

type deliveryFilter struct {
	Status, Source, Integration, Event, Since, Until, Before string
}

// parseWhen reads an RFC 3339 time or a duration ago ("24h").
func parseWhen(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration such as 24h", v)
}

func (h *Handler) deliveries(w http.ResponseWriter, r *http.Request, ss *session) {
	q := r.URL.Query()
	df := deliveryFilter{Status: q.Get("status"), Source: q.Get("source"), Integration: q.Get("integration"), Event: q.Get("event"),
		Since: q.Get("since"), Until: q.Get("until"), Before: q.Get("before")}
	f := journal.Filter{Status: journal.Status(df.Status), Source: df.Source, Integration: df.Integration, Event: df.Event, Limit: pageSize + 1}
	var err error
	now := h.cfg.Now()
	if f.Since, err = parseWhen(df.Since, now); err != nil {
		h.badRequest(w, r, ss, "since: "+err.Error())
		return
	}
	if f.Until, err = parseWhen(df.Until, now); err != nil {
		h.badRequest(w, r, ss, "until: "+err.Error())
		return
	}
	if df.Before != "" {
		if f.Before, err = strconv.ParseInt(df.Before, 10, 64); err != nil || f.Before <= 0 {
			h.badRequest(w, r, ss, "before must be a delivery number")
			return
		}
	}
	rows, err := h.cfg.Backend.Deliveries(r.Context(), f)
	if err != nil {
		h.fail(w, r, ss, err)
		return
	}
	ins, err := h.cfg.Backend.Integrations(r.Context())
	if err != nil {
		h.fail(w, r, ss, err)
		return
	}
	d := deliveriesData{Filter: df, Statuses: statuses, Sources: h.cfg.Backend.SourceNames(), Integrations: ins, Rows: rows, Chart: true}
	if len(rows) > pageSize {
		d.Rows = rows[:pageSize]
		next := q
		next.Set("before", strconv.FormatInt(d.Rows[pageSize-1].Event.Seq, 10))
		next.Del("notice")
		d.Older = next.Encode()
	}
	h.render(w, r, ss, http.StatusOK, "deliveries", "Deliveries", d)
}

// payloadCap is the most payload bytes a delivery page shows.
const payloadCap = 64 << 10

// secretName matches header, metadata and payload field names whose
// values are never shown.
var secretName = regexp.MustCompile(`(?i)secret|token|signature|password|passwd|authorization|api[-_]?key|private|credential|cookie`)

const redacted = "[redacted]"

type deliveryData struct {
	E journal.Entry
	// Headers are the delivery's recorded headers and sender metadata,
	// secrets redacted.
	Headers [][2]string
	Keys    [][2]string
	Payload string
	// Shown and Size are the payload bytes shown and stored.
	Shown, Size int
	Capped      bool
	Workflows   []workflowLink
	History     []historyStep
	Replays     []journal.AuditRecord
}

type workflowLink struct {
	journal.Route
	URL string
}

type historyStep struct {
	At     time.Time
	What   string
	Status string
	Reason string
}

func sortedPairs(m map[string]string, redact bool) [][2]string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([][2]string, 0, len(keys))
	for _, k := range keys {
		v := m[k]
		if redact && secretName.MatchString(k) {
			v = redacted
		}
		out = append(out, [2]string{k, v})
	}
	return out
}

// prettyPayload is p indented, with the values of secret-looking fields
// redacted, cut at payloadCap. A payload that is not JSON is shown as
// text.
func prettyPayload(p []byte) (text string, shown int, capped bool) {
	out := p
	if len(p) <= 4<<20 { // larger payloads are cut unparsed: indenting them costs more than it shows
		dec := json.NewDecoder(bytes.NewReader(p))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if enc.Encode(redactJSON(v)) == nil {
				out = buf.Bytes()
			}
		}
	}
	if len(out) > payloadCap {
		cut := bytes.ToValidUTF8(out[:payloadCap], nil)
		return string(cut), len(cut), true
	}
	return string(bytes.ToValidUTF8(out, nil)), len(out), false
}

func redactJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			// Only strings hold secrets: "private": false stays readable.
			if str, isStr := val.(string); isStr && str != "" && secretName.MatchString(k) {
				x[k] = redacted
				continue
			}
			x[k] = redactJSON(val)
		}
	case []any:
		for i := range x {
			x[i] = redactJSON(x[i])
		}
	}
	return v
}

// WorkflowURL is the Temporal UI's page of a workflow ID, or "" without
// a UI.
func (h *Handler) workflowURL(id string) string {
	if h.cfg.TemporalUIURL == "" || id == "" {
		return ""
	}
	return h.cfg.TemporalUIURL + "/namespaces/" + url.PathEscape(h.cfg.Namespace) + "/workflows/" + url.PathEscape(id)
}

func (h *Handler) delivery(w http.ResponseWriter, r *http.Request, ss *session) {
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil {
		h.badRequest(w, r, ss, "a delivery is named by its number")
		return
	}
	e, err := h.cfg.Backend.Delivery(r.Context(), seq)
	if err != nil {
		h.fail(w, r, ss, err)
		return
	}
	d := deliveryData{E: e, Headers: sortedPairs(e.Event.Meta, true), Keys: sortedPairs(e.Event.Keys, true), Size: e.Event.PayloadSize}
	if d.Size == 0 {
		d.Size = len(e.Event.Payload)
	}
	d.Headers = append([][2]string{{"delivery ID", e.Event.DeliveryID}, {"event", e.Event.Type}, {"action", e.Event.Action}, {"source", e.Event.Source}}, d.Headers...)
	if e.Event.TraceParent != "" {
		d.Headers = append(d.Headers, [2]string{"traceparent", e.Event.TraceParent})
	}
	d.Payload, d.Shown, d.Capped = prettyPayload(e.Event.Payload)
	d.History = append(d.History, historyStep{At: e.Event.ReceivedAt, What: "received", Status: "journaled"})
	for _, rt := range e.Routes {
		d.Workflows = append(d.Workflows, workflowLink{Route: rt, URL: h.workflowURL(rt.WorkflowID)})
		d.History = append(d.History, historyStep{At: rt.UpdatedAt, What: "route to " + rt.WorkflowID, Status: string(rt.Status), Reason: rt.Reason})
	}
	d.History = append(d.History, historyStep{At: e.UpdatedAt, What: fmt.Sprintf("entry (%d failed attempts)", e.Attempts), Status: string(e.Status), Reason: e.Reason})
	slices.SortStableFunc(d.History, func(a, b historyStep) int { return a.At.Compare(b.At) })
	if log, err := h.cfg.Backend.AuditLog(r.Context(), journal.AuditFilter{Since: e.Event.ReceivedAt, Limit: 500}); err == nil {
		for _, rec := range log {
			if rec.Action == "delivery.replay" && rec.Target == strconv.FormatInt(seq, 10) {
				d.Replays = append(d.Replays, rec)
			}
		}
	}
	h.render(w, r, ss, http.StatusOK, "delivery", fmt.Sprintf("Delivery %d", seq), d)
}

func (h *Handler) replay(w http.ResponseWriter, r *http.Request, ss *session) {
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil {
		h.badRequest(w, r, ss, "a delivery is named by its number")
		return
	}
	asNew := r.PostFormValue("as_new") == "on"
	e, err := h.cfg.Backend.Replay(r.Context(), seq, asNew)
	if err != nil {
		h.fail(w, r, ss, err)
		return
	}
	h.audit(r, ss, "delivery.replay", strconv.FormatInt(seq, 10), fmt.Sprintf("new entry %d, as_new %t", e.Event.Seq, asNew))
	back(w, r, "/deliveries/"+strconv.FormatInt(e.Event.Seq, 10), fmt.Sprintf("Delivery %d replayed as delivery %d.", seq, e.Event.Seq))
}

type integrationRow struct {
	integrations.Integration
	// URLHint is the URL with its secret path cut to a recognisable
	// prefix: the whole URL is shown once, at creation.
	URLHint string
	Secrets int
}

type integrationsData struct {
	Rows    []integrationRow
	Sources []string
}

func (h *Handler) integrationsPage(w http.ResponseWriter, r *http.Request, ss *session) {
	list, err := h.cfg.Backend.Integrations(r.Context())
	if err != nil {
		h.fail(w, r, ss, err)
		return
	}
	d := integrationsData{Sources: h.cfg.Backend.SourceNames()}
	now := h.cfg.Now()
	for _, in := range list {
		full := h.cfg.Backend.IntegrationURL(in)
		hint := strings.TrimSuffix(full, in.Path) + in.Path[:min(4, len(in.Path))] + "…"
		valid := len(in.ValidSecrets(now))
		in.Secrets, in.Path = nil, "" // nothing secret reaches the template
		d.Rows = append(d.Rows, integrationRow{Integration: in, URLHint: hint, Secrets: valid})
	}
	h.render(w, r, ss, http.StatusOK, "integrations", "Integrations", d)
}

// secretData is the one page that shows a secret.
type secretData struct {
	What, ID, Name, URL, Secret, Note string
	BackTo                            string
}

// showSecret renders a secret once; the page is never cached.
func (h *Handler) showSecret(w http.ResponseWriter, r *http.Request, ss *session, title string, d secretData) {
	h.render(w, r, ss, http.StatusOK, "secret", title, d)
}

// parseOptions reads "key=value" lines.
func parseOptions(v string) (map[string]string, error) {
	out := map[string]string{}
	for line := range strings.Lines(v) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, val, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("option %q: want key=value", line)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func (h *Handler) createIntegration(w http.ResponseWriter, r *http.Request, ss *session) {
	opts, err := parseOptions(r.PostFormValue("options"))
	if err != nil {
		h.badRequest(w, r, ss, err.Error())
		return
	}
	in, err := h.cfg.Backend.CreateIntegration(r.Context(), strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("source"), r.PostFormValue("secret"), opts)
	if err != nil {
		h.fail(w, r, ss, err)
		return
	}
	h.audit(r, ss, "integration.create", in.ID, "name "+in.Name+", source "+in.Source)
	d := secretData{What: "integration", ID: in.ID, Name: in.Name, URL: h.cfg.Backend.IntegrationURL(in), BackTo: "/integrations",
		Note: "Put the URL and the secret in the sender's webhook settings now: neither is shown again in full."}
	if len(in.Secrets) > 0 {
		d.Secret = string(in.Secrets[0].Value)
	}
	h.showSecret(w, r, ss, "Integration created", d)
}

func (h *Handler) rotateIntegration(w http.ResponseWriter, r *http.Request, ss *session) {
	var overlap time.Duration
	if v := strings.TrimSpace(r.PostFormValue("overlap")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			h.badRequest(w, r, ss, "overlap must be a duration such as 24h")
			return
		}
		overlap = d
	}
	in, err := h.cfg.Backend.RotateIntegration(r.Context(), r.PathValue("id"), r.PostFormValue("secret"), overlap)
	if err != nil {
		h.fail(w, r, ss, err)
		return
	}
	h.audit(r, ss, "integration.rotate", in.ID, "overlap "+overlap.String())
	d := secretData{What: "integration", ID: in.ID, Name: in.Name, Secret: string(in.Secrets[0].Value), BackTo: "/integrations",
		Note: fmt.Sprintf("The old secret keeps verifying for %s. Put the new one in the sender's settings now: it is not shown again.", overlap)}
	h.showSecret(w, r, ss, "Secret rotated", d)
}

func (h *Handler) deleteIntegration(w http.ResponseWriter, r *http.Request, ss *session) {
	id := r.PathValue("id")
	if r.PostFormValue("confirm") != id {
		h.badRequest(w, r, ss, "To delete an integration, type its ID in the confirmation field.")
		return
	}
	if err := h.cfg.Backend.DeleteIntegration(r.Context(), id); err != nil {
		h.fail(w, r, ss, err)
		return
	}
	h.audit(r, ss, "integration.delete", id, "")
	back(w, r, "/integrations", "Integration "+id+" deleted.")
}

type keysData struct {
	Rows         []keyRow
	Integrations []integrations.Integration
}

type keyRow struct {
	apikeys.Key
	State string
}

func (h *Handler) keysPage(w http.ResponseWriter, r *http.Request, ss *session) {
	keys, err := h.cfg.Backend.Keys(r.Context(), "")
	if err != nil {
		h.fail(w, r, ss, err)
		return
	}
	ins, err := h.cfg.Backend.Integrations(r.Context())
	if err != nil {
		h.fail(w, r, ss, err)
		return
	}
	d := keysData{}
	for _, in := range ins {
		in.Secrets, in.Path = nil, ""
		d.Integrations = append(d.Integrations, in)
	}
	now := h.cfg.Now()
	for _, k := range keys {
		state := "active"
		switch {
		case !k.RevokedAt.IsZero():
			state = "revoked"
		case !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt):
			state = "expired"
		}
		d.Rows = append(d.Rows, keyRow{Key: k, State: state})
	}
	h.render(w, r, ss, http.StatusOK, "keys", "API keys", d)
}

// parseTTL reads "90d" or a Go duration; "" is no expiry.
func parseTTL(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, errors.New("bad days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, errors.New("bad duration")
	}
	return d, nil
}

func (h *Handler) createKey(w http.ResponseWriter, r *http.Request, ss *session) {
	expires := strings.TrimSpace(r.PostFormValue("expires"))
	ttl, err := parseTTL(expires)
	if err != nil {
		h.badRequest(w, r, ss, "expires must be a duration such as 90d or 720h, or empty for never")
		return
	}
	var scopes []string
	for s := range strings.SplitSeq(r.PostFormValue("scopes"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			scopes = append(scopes, s)
		}
	}
	k, secret, err := h.cfg.Backend.CreateKey(r.Context(), r.PostFormValue("integration"), strings.TrimSpace(r.PostFormValue("name")), ttl, scopes)
	if err != nil {
		h.fail(w, r, ss, err)
		return
	}
	if expires == "" {
		expires = "never"
	}
	scopeText := "all"
	if len(k.Scopes) > 0 {
		scopeText = strings.Join(k.Scopes, ",")
	}
	h.audit(r, ss, "key.create", k.ID, "integration "+k.Integration+", name "+k.Name+", scopes "+scopeText+", expires "+expires)
	h.showSecret(w, r, ss, "API key created", secretData{What: "API key", ID: k.ID, Name: k.Name, Secret: secret, BackTo: "/keys",
		Note: "Store the key in the sender's secret store now: the server keeps only its hash and cannot show it again."})
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request, ss *session) {
	id := r.PathValue("id")
	if err := h.cfg.Backend.RevokeKey(r.Context(), id); err != nil {
		h.fail(w, r, ss, err)
		return
	}
	h.audit(r, ss, "key.revoke", id, "")
	back(w, r, "/keys", "Key "+id+" revoked.")
}

func (h *Handler) blueprintsPage(w http.ResponseWriter, r *http.Request, ss *session) {
	h.render(w, r, ss, http.StatusOK, "blueprints", "Blueprints", h.cfg.Blueprints)
}

type entitiesData struct {
	Paused   []journal.Pause
	Stuck    journal.StuckReport
	StuckErr string
	UI       func(string) string
}

func (h *Handler) entitiesPage(w http.ResponseWriter, r *http.Request, ss *session) {
	d := entitiesData{UI: h.workflowURL}
	var err error
	if d.Paused, err = h.cfg.Backend.Paused(r.Context()); err != nil {
		h.fail(w, r, ss, err)
		return
	}
	if d.Stuck, err = h.cfg.Backend.Stuck(r.Context(), journal.StuckQuery{}); err != nil {
		d.StuckErr = "The journal cannot say what is stuck."
	}
	h.render(w, r, ss, http.StatusOK, "entities", "Paused and stuck", d)
}

func pauseForm(r *http.Request) (journal.PauseKind, string) {
	return journal.PauseKind(r.PostFormValue("kind")), strings.TrimSpace(r.PostFormValue("id"))
}

func (h *Handler) pause(w http.ResponseWriter, r *http.Request, ss *session) {
	kind, id := pauseForm(r)
	held, err := h.cfg.Backend.Pause(r.Context(), kind, id, strings.TrimSpace(r.PostFormValue("reason")))
	if err != nil {
		h.fail(w, r, ss, err)
		return
	}
	h.audit(r, ss, "pause."+string(kind), id, fmt.Sprintf("held %d", held))
	back(w, r, "/entities", fmt.Sprintf("Paused %s %s; %d pending deliveries held.", kind, id, held))
}

func (h *Handler) resume(w http.ResponseWriter, r *http.Request, ss *session) {
	kind, id := pauseForm(r)
	released, err := h.cfg.Backend.Resume(r.Context(), kind, id)
	if err != nil {
		h.fail(w, r, ss, err)
		return
	}
	h.audit(r, ss, "resume."+string(kind), id, fmt.Sprintf("released %d", released))
	back(w, r, "/entities", fmt.Sprintf("Resumed %s %s; %d deliveries released.", kind, id, released))
}

type auditData struct {
	Since string
	Rows  []journal.AuditRecord
}

func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request, ss *session) {
	d := auditData{Since: r.URL.Query().Get("since")}
	since, err := parseWhen(d.Since, h.cfg.Now())
	if err != nil {
		h.badRequest(w, r, ss, "since: "+err.Error())
		return
	}
	if d.Rows, err = h.cfg.Backend.AuditLog(r.Context(), journal.AuditFilter{Since: since, Limit: 500}); err != nil {
		h.fail(w, r, ss, err)
		return
	}
	h.render(w, r, ss, http.StatusOK, "audit", "Audit log", d)
}
