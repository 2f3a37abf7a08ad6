package ingress

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/hookflow/hookflow/ingress/apikeys"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/journal"
)

// MinSecretBytes is the shortest webhook secret the admin API takes for
// an integration (create or rotate): 128 bits even if every byte were
// random. A generated secret is 32 random bytes.
const MinSecretBytes = 16

// MinAdminTokenLength is the shortest admin token hookflow accepts
// (HOOKFLOW_ADMIN_TOKEN or the admin-token file); a generated one is 64 hex
// digits. cmd/hookflow enforces it, where tokens are read.
const MinAdminTokenLength = 32

// checkSecret refuses a given secret shorter than MinSecretBytes; "" asks
// for a generated one. The secret itself is never in the answer.
func checkSecret(secret string) *hook.Error {
	if secret != "" && len(secret) < MinSecretBytes {
		return hook.BadRequest("secret_too_short", fmt.Sprintf("the secret is %d bytes; a webhook secret needs at least %d", len(secret), MinSecretBytes),
			"leave it out to get a random one, or generate one with: openssl rand -hex 32")
	}
	return nil
}

// IntegrationView is an integration as the admin API shows it. Secret is
// set only in the answer to a create or rotate: it is shown once.
type IntegrationView struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Source    string            `json:"source"`
	URL       string            `json:"url"`
	Secret    string            `json:"secret,omitempty"`
	Options   map[string]string `json:"options,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
}

// DeliveryView is a journal entry as the admin API shows it.
type DeliveryView struct {
	Seq         int64             `json:"seq"`
	DeliveryID  string            `json:"delivery_id"`
	Integration string            `json:"integration"`
	Source      string            `json:"source"`
	Event       string            `json:"event"`
	Action      string            `json:"action"`
	Status      string            `json:"status"`
	Reason      string            `json:"reason,omitempty"`
	WorkflowIDs []string          `json:"workflow_ids"`
	Keys        map[string]string `json:"keys,omitempty"`
	ReceivedAt  time.Time         `json:"received_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
	Attempts    int               `json:"attempts"`
	// Routes are the workflows the delivery must reach, each with its
	// own status.
	Routes []journal.Route `json:"routes"`
	// PayloadSize is the payload's size; PayloadRef names a payload held
	// by reference (over 256 KiB).
	PayloadSize int             `json:"payload_size,omitempty"`
	PayloadRef  string          `json:"payload_ref,omitempty"`
	Payload     json.RawMessage `json:"payload,omitempty"`
}

// mountAdmin mounts /metrics and /admin/v1 on r: on the public handler,
// or on AdminHandler's with Config.SeparateAdmin.
func (s *Server) mountAdmin(r chi.Router) {
	if s.cfg.Metrics != nil {
		r.Method(http.MethodGet, "/metrics", s.cfg.Metrics.Handler())
	}
	if s.cfg.AdminToken != "" || s.cfg.WorkerToken != "" {
		r.Route("/admin/v1", s.adminRoutes)
	}
}

func (s *Server) adminRoutes(r chi.Router) {
	r.With(s.requireWorker).Get("/payloads/{seq}", s.getPayload)
	if s.cfg.DORA != nil {
		r.With(s.requireWorker).Post("/dora/apply", s.applyDORA)
		r.With(s.requireWorker).Get("/dora/unresolved", s.unresolvedDORA)
		r.With(s.requireWorker).Post("/dora/commits", s.recordDORACommits)
	}
	if s.cfg.AdminToken == "" {
		return
	}
	r.Group(func(r chi.Router) { s.adminOnly(r) })
}

func (s *Server) adminOnly(r chi.Router) {
	r.Use(s.requireAdmin)
	r.Post("/integrations", s.createIntegration)
	r.Get("/integrations", s.listIntegrations)
	r.Post("/integrations/{id}/rotate", s.rotateIntegration)
	r.Delete("/integrations/{id}", s.deleteIntegration)
	r.Get("/audit", s.listAudit)
	r.Get("/deliveries", s.listDeliveries)
	r.Get("/deliveries/{seq}", s.getDelivery)
	r.Post("/deliveries/replay", s.replayDeliveries)
	r.Post("/deliveries/prune", s.pruneDeliveries)
	s.mountOperations(r)
	r.Post("/events", s.journalEvent)
	if s.cfg.DORA != nil {
		r.Get("/dora/report", s.doraReport)
		r.Post("/dora/prune", s.pruneDORA)
	}
	if s.cfg.APIKeys != nil {
		r.Post("/keys", s.createKey)
		r.Get("/keys", s.listKeys)
		r.Delete("/keys/{id}", s.revokeKey)
	}
}

// CreateKeyRequest is the body of POST /admin/v1/keys.
type CreateKeyRequest struct {
	Integration string `json:"integration"`
	Name        string `json:"name"`
	// Expires is a Go duration or a number of days ("90d"); empty means
	// never.
	Expires string `json:"expires,omitempty"`
	// Scopes limit what the key may send (the dora source's
	// "deployments" and "incidents"); empty means every scope.
	Scopes []string `json:"scopes,omitempty"`
}

// KeyView is an API key record; Secret (JSON "key") is set only in the
// answer to create: it is shown once.
type KeyView struct {
	apikeys.Key
	Secret string `json:"key,omitempty"`
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	var req CreateKeyRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	ttl, err := parseTTL(req.Expires)
	if err != nil {
		writeError(w, hook.BadRequest("invalid_expires", "expires must be a duration such as 90d or 720h", ""))
		return
	}
	k, secret, err := s.CreateKey(r.Context(), req.Integration, req.Name, ttl, req.Scopes)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, "key.create", k.ID, "integration "+k.Integration+", name "+k.Name+", scopes "+orAll(k.Scopes)+", expires "+orNever(req.Expires))
	writeJSON(w, http.StatusCreated, KeyView{Key: k, Secret: secret})
}

func orAll(scopes []string) string {
	if len(scopes) == 0 {
		return "all"
	}
	return strings.Join(scopes, ",")
}

func orNever(expires string) string {
	if expires == "" {
		return "never"
	}
	return expires
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := s.Keys(r.Context(), r.URL.Query().Get("integration"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if keys == nil {
		keys = []apikeys.Key{}
	}
	writeJSON(w, http.StatusOK, keys)
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if err := s.RevokeKey(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, "key.revoke", id, "")
	writeJSON(w, http.StatusOK, map[string]string{"id": id, "status": "revoked"})
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

// requireAdmin lets through requests with the admin token. A refused
// one is answered after a delay that grows with the refusals of the last
// minute, up to a second (badTokens), and logged, without what was sent;
// a request with the right token is never delayed.
func (s *Server) requireAdmin(next http.Handler) http.Handler {
	want := []byte("Bearer " + s.cfg.AdminToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			s.refuseToken(r.Context(), r.URL.Path, r.Header.Get("Authorization") != "")
			writeError(w, hook.Unauthorized("admin token required", "send Authorization: Bearer <token from the data directory's admin-token file or HOOKFLOW_ADMIN_TOKEN>"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Refused admin tokens wait badTokenDelay, doubled for each refusal in the
// last badTokenMemory, up to maxBadTokenDelay: a guess costs a second once
// someone keeps guessing, while a mistyped token costs a tenth of one.
const (
	badTokenDelay    = 100 * time.Millisecond
	maxBadTokenDelay = time.Second
	badTokenMemory   = time.Minute
)

// badTokens counts refused admin requests, for their delay and their log
// lines. It is shared by every client and by the console's login (one per
// Server): behind a load balancer all of them
// have one address, and a request with the right token never waits, so
// a flood of guesses slows only the guesses.
type badTokens struct {
	mu       sync.Mutex
	count    int       // refusals since the last quiet badTokenMemory
	last     time.Time // the last refusal
	logged   time.Time // the last log line
	unlogged int       // refusals since the last log line
}

// refuse records a refusal at now. It returns how long to wait before
// answering and, at most once a second, how many refusals to log (0: do
// not log this one).
func (b *badTokens) refuse(now time.Time) (delay time.Duration, logRefusals int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Sub(b.last) >= badTokenMemory {
		b.count = 0
	}
	b.count++
	b.last = now
	delay = maxBadTokenDelay
	if b.count <= 4 { // 100, 200, 400, 800 ms, then 1 s
		delay = badTokenDelay << (b.count - 1)
	}
	b.unlogged++
	if now.Sub(b.logged) >= time.Second {
		logRefusals, b.unlogged, b.logged = b.unlogged, 0, now
	}
	return delay, logRefusals
}

// wait sleeps for d or until ctx is done (the client hung up).
func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (s *Server) view(in integrations.Integration, withSecret bool) IntegrationView {
	v := IntegrationView{ID: in.ID, Name: in.Name, Source: in.Source, URL: s.cfg.PublicURL + "/hooks/" + in.Path, Options: in.Options, CreatedAt: in.CreatedAt}
	if withSecret && len(in.Secrets) > 0 {
		v.Secret = string(in.Secrets[0].Value)
	}
	return v
}

// CreateIntegrationRequest is the body of POST /admin/v1/integrations.
type CreateIntegrationRequest struct {
	Name    string            `json:"name"`
	Source  string            `json:"source"`
	Secret  string            `json:"secret,omitempty"`
	Options map[string]string `json:"options,omitempty"`
}

func (s *Server) createIntegration(w http.ResponseWriter, r *http.Request) {
	var req CreateIntegrationRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	created, err := s.CreateIntegration(r.Context(), req.Name, req.Source, req.Secret, req.Options)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, "integration.create", created.ID, "name "+created.Name+", source "+created.Source)
	writeJSON(w, http.StatusCreated, s.view(created, true))
}

func (s *Server) deleteIntegration(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if err := s.DeleteIntegration(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, "integration.delete", id, "")
	writeJSON(w, http.StatusOK, map[string]string{"id": id, "status": "deleted"})
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) {
	var f journal.AuditFilter
	var err error
	if v := r.URL.Query().Get("since"); v != "" {
		if f.Since, err = time.Parse(time.RFC3339, v); err != nil {
			writeError(w, hook.BadRequest("invalid_since", "since must be an RFC 3339 time", ""))
			return
		}
	}
	if f.Limit, err = intParam(r.URL.Query().Get("limit")); err != nil {
		writeError(w, hook.BadRequest("invalid_limit", "limit must be a positive integer", ""))
		return
	}
	list, err := s.AuditLog(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if list == nil {
		list = []journal.AuditRecord{}
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) listIntegrations(w http.ResponseWriter, r *http.Request) {
	list, err := s.Integrations(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	out := make([]IntegrationView, 0, len(list))
	for _, in := range list {
		out = append(out, s.view(in, false))
	}
	writeJSON(w, http.StatusOK, out)
}

// RotateRequest is the body of POST /admin/v1/integrations/{id}/rotate.
type RotateRequest struct {
	Secret string `json:"secret,omitempty"`
	// Overlap is how long the old secret keeps verifying (Go duration).
	Overlap string `json:"overlap,omitempty"`
}

func (s *Server) rotateIntegration(w http.ResponseWriter, r *http.Request) {
	var req RotateRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	var overlap time.Duration
	if req.Overlap != "" {
		d, err := time.ParseDuration(req.Overlap)
		if err != nil || d < 0 {
			writeError(w, hook.BadRequest("invalid_overlap", "overlap must be a duration such as 24h", ""))
			return
		}
		overlap = d
	}
	in, err := s.RotateIntegration(r.Context(), chi.URLParam(r, "id"), req.Secret, overlap)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, "integration.rotate", in.ID, "overlap "+overlap.String())
	writeJSON(w, http.StatusOK, s.view(in, true))
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := journal.Filter{Status: journal.Status(q.Get("status")), Source: q.Get("source"), Integration: q.Get("integration"), Event: q.Get("event")}
	var err error
	if f.Limit, err = intParam(q.Get("limit")); err != nil {
		writeError(w, hook.BadRequest("invalid_limit", "limit must be a positive integer", ""))
		return
	}
	if v := q.Get("before"); v != "" {
		if f.Before, err = strconv.ParseInt(v, 10, 64); err != nil || f.Before <= 0 {
			writeError(w, hook.BadRequest("invalid_before", "before must be a positive sequence number", ""))
			return
		}
	}
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			if *dst, err = time.Parse(time.RFC3339, v); err != nil {
				writeError(w, hook.BadRequest("invalid_"+name, name+" must be an RFC 3339 time", ""))
				return
			}
		}
	}
	list, err := s.Deliveries(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]DeliveryView, 0, len(list))
	for _, e := range list {
		out = append(out, deliveryView(e))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getDelivery(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseInt(chi.URLParam(r, "seq"), 10, 64)
	if err != nil {
		writeError(w, hook.BadRequest("invalid_seq", "delivery sequence number must be an integer", ""))
		return
	}
	e, err := s.Delivery(r.Context(), seq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := deliveryView(e)
	v.Payload = e.Event.Payload
	writeJSON(w, http.StatusOK, v)
}

func deliveryView(e journal.Entry) DeliveryView {
	wf := e.WorkflowIDs
	if wf == nil {
		wf = []string{}
	}
	routes := e.Routes
	if routes == nil {
		routes = []journal.Route{}
	}
	return DeliveryView{Seq: e.Event.Seq, DeliveryID: e.Event.DeliveryID, Integration: e.Event.Integration, Source: e.Event.Source,
		Event: e.Event.Type, Action: e.Event.Action, Status: string(e.Status), Reason: e.Reason, WorkflowIDs: wf,
		Keys: e.Event.Keys, ReceivedAt: e.Event.ReceivedAt, UpdatedAt: e.UpdatedAt, Attempts: e.Attempts, Routes: routes,
		PayloadSize: e.Event.PayloadSize, PayloadRef: e.Event.PayloadRef}
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "admin request failed", "path", r.URL.Path, "error", err)
	writeError(w, &hook.Error{Status: http.StatusInternalServerError, Code: "internal", Message: "internal error; see the server log"})
}

func (s *Server) sourceNames() []string {
	var names []string
	for n := range s.cfg.Sources {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func decodeJSON(r *http.Request, v any) *hook.Error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return hook.BadRequest("malformed_json", "request body is not valid JSON for this endpoint: "+err.Error(), "")
	}
	return nil
}

func intParam(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, errors.New("not a positive integer")
	}
	return n, nil
}

// ReplayRequest is the body of POST /admin/v1/deliveries/replay: either
// Seqs, or a Status (and optional Since) selecting entries.
type ReplayRequest struct {
	Seqs   []int64 `json:"seqs,omitempty"`
	Status string  `json:"status,omitempty"`
	// Since is an RFC 3339 time; with Status it bounds the selection.
	Since string `json:"since,omitempty"`
	// AsNew gives each replay a new delivery ID, so workflows apply it
	// again instead of dropping it as already seen.
	AsNew bool `json:"as_new,omitempty"`
}

// ReplayResult lists the new entries a replay created.
type ReplayResult struct {
	Replayed []DeliveryView `json:"replayed"`
}

func (s *Server) maintenance(w http.ResponseWriter) (journal.Maintenance, bool) {
	m, ok := s.cfg.Journal.(journal.Maintenance)
	if !ok {
		writeError(w, &hook.Error{Status: http.StatusNotImplemented, Code: "not_supported", Message: "this journal cannot replay or prune"})
	}
	return m, ok
}

func (s *Server) replayDeliveries(w http.ResponseWriter, r *http.Request) {
	var req ReplayRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if _, ok := s.maintenance(w); !ok {
		return
	}
	seqs := req.Seqs
	if req.Status != "" {
		f := journal.Filter{Status: journal.Status(req.Status), Limit: 10000}
		if !f.Status.Valid() {
			writeError(w, hook.BadRequest("invalid_status", "unknown status "+strconv.Quote(req.Status), ""))
			return
		}
		if req.Since != "" {
			t, err := time.Parse(time.RFC3339, req.Since)
			if err != nil {
				writeError(w, hook.BadRequest("invalid_since", "since must be an RFC 3339 time", ""))
				return
			}
			f.Since = t
		}
		list, err := s.cfg.Journal.List(r.Context(), f)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		for i := len(list) - 1; i >= 0; i-- { // oldest first: replays keep their order
			seqs = append(seqs, list[i].Event.Seq)
		}
	}
	if len(seqs) == 0 && req.Status == "" {
		writeError(w, hook.BadRequest("nothing_selected", "give seqs or a status", ""))
		return
	}
	out := ReplayResult{Replayed: []DeliveryView{}}
	for _, seq := range seqs {
		e, err := s.Replay(r.Context(), seq, req.AsNew)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.audit(r, "delivery.replay", strconv.FormatInt(seq, 10), fmt.Sprintf("new entry %d, as_new %t", e.Event.Seq, req.AsNew))
		out.Replayed = append(out.Replayed, deliveryView(e))
	}
	s.log.InfoContext(r.Context(), "deliveries replayed", "count", len(out.Replayed), "as_new", req.AsNew)
	writeJSON(w, http.StatusOK, out)
}

// PruneRequest is the body of POST /admin/v1/deliveries/prune.
type PruneRequest struct {
	// OlderThan is a duration ("30d", "720h").
	OlderThan   string  `json:"older_than,omitempty"`
	Integration string  `json:"integration,omitempty"`
	Seqs        []int64 `json:"seqs,omitempty"`
	DryRun      bool    `json:"dry_run,omitempty"`
}

func (s *Server) pruneDeliveries(w http.ResponseWriter, r *http.Request) {
	var req PruneRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	m, ok := s.maintenance(w)
	if !ok {
		return
	}
	f := journal.PruneFilter{Integration: req.Integration, Seqs: req.Seqs}
	if req.OlderThan != "" {
		d, err := parseTTL(req.OlderThan)
		if err != nil {
			writeError(w, hook.BadRequest("invalid_older_than", "older_than must be a duration such as 30d or 720h", ""))
			return
		}
		f.Before = s.cfg.Now().Add(-d)
	}
	if f.Before.IsZero() && f.Integration == "" && len(f.Seqs) == 0 {
		writeError(w, hook.BadRequest("nothing_selected", "give older_than, integration or seqs", ""))
		return
	}
	n, err := m.Prune(r.Context(), f, req.DryRun)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "deliveries pruned", "count", n, "dry_run", req.DryRun)
	if !req.DryRun {
		s.audit(r, "delivery.prune", req.Integration, fmt.Sprintf("pruned %d, older_than %q, seqs %d", n, req.OlderThan, len(req.Seqs)))
	}
	writeJSON(w, http.StatusOK, map[string]any{"pruned": n, "dry_run": req.DryRun})
}
