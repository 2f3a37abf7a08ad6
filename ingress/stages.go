package ingress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"

	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/workflows"
)

// delivery is one request on its way through the receive stages. Each
// stage reads what the earlier ones set and sets its own part.
type delivery struct {
	w   http.ResponseWriter
	r   *http.Request
	ctx context.Context
	// lasting is ctx without its cancellation, for the work that must
	// outlive a client that hangs up (the lookup, the append, a refusal's
	// record).
	lasting context.Context
	now     time.Time
	// set by resolve
	in       integrations.Integration
	resolved bool
	src      hook.Source
	label    hook.Label
	// set by read
	limit     int64
	mediaType string
	body      []byte
	reserved  int64
	// set by verify, for parse
	req *hook.Request
	// set by parse and route
	ev    workflows.Event
	entry journal.Entry
}

// refusal ends a delivery before it is journaled as accepted.
type refusal struct {
	err *hook.Error
	// metric is the delivery's status label in metrics.
	metric string
	// retryAfter, when set, is sent as Retry-After (rounded up to
	// seconds).
	retryAfter time.Duration
	// journal says whether the refusal is recorded (within the refusal
	// budget) when it can be attributed to an integration. Refusals of
	// load (backlog, in-flight bytes, rate limits) are not: a flood must
	// not turn into journal writes.
	journal bool
}

func rejected(e *hook.Error) *refusal { return &refusal{err: e, metric: "rejected", journal: true} }

// stage is one step of the receive path.
type stage struct {
	name string
	run  func(*delivery) *refusal
}

// stages is the receive path, in order: every stage returns nil to go on
// or a refusal, which the one exit (refuse) answers and journals.
func (s *Server) stages() []stage {
	return []stage{
		{"client", s.limitClient},
		{"resolve", s.resolve},
		{"admit", s.admit},
		{"read", s.read},
		{"verify", s.verify},
		{"rate", s.rateLimit},
		{"parse", s.parse},
		{"route", s.route},
		{"journal", s.journal},
	}
}

func (s *Server) receive(w http.ResponseWriter, r *http.Request) {
	ctx, span := s.cfg.Tracer.Start(r.Context(), "hookflow.receive", s.spanOpts...)
	defer span.End()
	d := &delivery{w: w, r: r, ctx: ctx, lasting: context.WithoutCancel(ctx), now: s.cfg.Now()}
	source, status := "unknown", "rejected"
	// Attributes are built only for a span that records them: with
	// tracing off they were a tenth of the allocations per delivery.
	recording := span.IsRecording()
	defer func() {
		s.inflight.release(d.reserved)
		if recording {
			span.SetAttributes(attribute.String("hookflow.source", source), attribute.String("hookflow.status", status))
		}
		s.cfg.Metrics.delivery(source, status, d.now)
	}()
	for _, st := range s.pipeline {
		ref := st.run(d)
		if d.resolved {
			source = d.in.Source
		}
		if ref != nil {
			status = ref.metric
			if recording {
				span.SetAttributes(attribute.String("hookflow.refused_at", st.name))
			}
			s.refuse(d, ref)
			return
		}
	}
	status = s.answer(d)
	if recording {
		span.SetAttributes(attribute.String("hookflow.delivery_id", d.ev.DeliveryID), attribute.String("hookflow.event", eventName(d.ev)))
	}
}

// limitClient bounds requests per client address before anything else:
// unauthenticated floods are stopped here, on their own budget, without
// touching any integration's.
func (s *Server) limitClient(d *delivery) *refusal {
	host, _, err := net.SplitHostPort(d.r.RemoteAddr)
	if err != nil {
		host = d.r.RemoteAddr
	}
	if wait, ok := s.clients.allow(host, d.now); !ok {
		return &refusal{metric: "client_rate_limited", retryAfter: wait, err: &hook.Error{Status: http.StatusTooManyRequests, Code: "rate_limited",
			Message: "too many requests from this address", Hint: "retry after the number of seconds in Retry-After"}}
	}
	return nil
}

func (s *Server) resolve(d *delivery) *refusal {
	path := chi.URLParam(d.r, "path")
	notFound := &refusal{metric: "unknown_integration", err: &hook.Error{Status: http.StatusNotFound, Code: "unknown_integration",
		Message: "no integration at this URL", Hint: "check the URL printed by `hookflow integrations create`"}}
	if !integrations.MaybePath(path) {
		return notFound // not even looked up, and never cached
	}
	// The lookup outlives a client that hangs up: its refusal is still
	// journaled.
	in, err := s.cache.byPath(d.lasting, path)
	if errors.Is(err, integrations.ErrNotFound) {
		return notFound
	}
	if err != nil {
		s.log.ErrorContext(d.ctx, "integration lookup failed", "error", err)
		return &refusal{metric: "internal", err: &hook.Error{Status: http.StatusInternalServerError, Code: "internal", Message: "integration lookup failed"}}
	}
	d.in, d.resolved = in, true
	if span := trace.SpanFromContext(d.ctx); span.IsRecording() {
		span.SetAttributes(attribute.String("hookflow.integration", in.ID))
	}
	d.src = s.cfg.Sources[in.Source]
	if d.src == nil {
		return rejected(&hook.Error{Status: http.StatusInternalServerError, Code: "unknown_source", Message: fmt.Sprintf("source %q is not built into this server", in.Source)})
	}
	d.label = d.src.Label(d.r.Header, in.Options)
	d.label.DeliveryID, d.label.Event = headerText(d.label.DeliveryID), headerText(d.label.Event)
	return nil
}

// headerText is a header value fit for the journal and logs: valid UTF-8,
// at most 200 bytes.
func headerText(v string) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	if len(v) > 200 {
		v = strings.ToValidUTF8(v[:200], "")
	}
	return v
}

func (s *Server) admit(d *delivery) *refusal {
	if s.cfg.MaxBacklog > 0 && s.backlog.get(d.ctx, s.cfg.Journal, d.now, s.cfg.Metrics) >= s.cfg.MaxBacklog {
		// Not journaled either: the journal is what is full.
		return &refusal{metric: "backlog_full", retryAfter: 30 * time.Second, err: &hook.Error{Status: http.StatusServiceUnavailable, Code: "backlog_full",
			Message: "too many deliveries are waiting to be forwarded; retry later", Hint: "the delivery was not stored: send it again after Retry-After seconds"}}
	}
	return nil
}

// busy is the refusal of a request that would take the in-flight bytes
// over MaxInFlightBytes.
var busy = &hook.Error{Status: http.StatusServiceUnavailable, Code: "busy",
	Message: "the ingress is reading as many bodies as it may hold; retry later", Hint: "the delivery was not stored: send it again after Retry-After seconds"}

func (s *Server) read(d *delivery) *refusal {
	d.limit = s.cfg.MaxBodyBytes
	if opt, ok := d.in.Options[OptionMaxBodyBytes]; ok {
		if v, err := strconv.ParseInt(opt, 10, 64); err == nil && v > 0 {
			d.limit = v
		}
	}
	tooLarge := func() *refusal {
		return rejected(&hook.Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Message: fmt.Sprintf("body exceeds %d bytes", d.limit),
			Hint: "raise the integration's max_body_bytes option if the sender needs more"})
	}
	if d.r.ContentLength > d.limit {
		return tooLarge()
	}
	if ct := d.r.Header.Get("Content-Type"); ct == "application/json" {
		d.mediaType = ct // what most senders send, as it is: nothing to parse
	} else if ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return rejected(&hook.Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "the Content-Type header cannot be parsed", Hint: "send application/json"})
		}
		d.mediaType = mt
	}
	if !acceptableMediaType(d.mediaType) {
		return rejected(&hook.Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: fmt.Sprintf("content type %q is not accepted", d.mediaType), Hint: "send application/json"})
	}
	body, err := s.readBody(d)
	var maxErr *http.MaxBytesError
	switch {
	case errors.Is(err, errBusy):
		return &refusal{metric: "busy", retryAfter: time.Second, err: busy}
	case errors.As(err, &maxErr):
		return tooLarge()
	case err != nil:
		return rejected(hook.BadRequest("unreadable_body", "could not read the body", ""))
	}
	d.body = body
	return nil
}

var errBusy = errors.New("ingress: in-flight byte budget exhausted")

// preallocMax bounds the buffer readBody allocates from Content-Length
// before any byte arrives; a larger body grows it as its bytes come.
const preallocMax = 64 << 10

// readBody reads the body under the limit. Every byte the buffer holds is
// first reserved in the in-flight budget: a buffer sized from
// Content-Length (at most preallocMax, so that a sender that announces a
// large body and sends nothing holds little) is reserved whole before the
// first read; beyond it the buffer grows with the bytes that arrive.
func (s *Server) readBody(d *delivery) ([]byte, error) {
	rd := &reservingReader{r: http.MaxBytesReader(d.w, d.r.Body, d.limit), d: d, budget: s.inflight}
	var buf []byte
	if n := min(d.r.ContentLength, d.limit, preallocMax); n > 0 && s.inflight.reserve(n) {
		d.reserved += n
		rd.prepaid = n
		buf = make([]byte, 0, n)
	}
	for {
		if len(buf) == cap(buf) {
			// Full: a body of exactly the announced length ends here;
			// look for its end without growing the buffer.
			var one [1]byte
			n, err := rd.Read(one[:])
			buf = append(buf, one[:n]...)
			if err == io.EOF {
				return buf, nil
			}
			if err != nil {
				return nil, err
			}
			continue
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// reservingReader reserves what it reads in the in-flight budget, beyond
// the prepaid bytes reserved for the buffer up front.
type reservingReader struct {
	r       io.Reader
	d       *delivery
	budget  *inflight
	prepaid int64
}

func (r *reservingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		paid := min(int64(n), r.prepaid)
		r.prepaid -= paid
		if rest := int64(n) - paid; rest > 0 {
			if !r.budget.reserve(rest) {
				return 0, errBusy
			}
			r.d.reserved += rest
		}
	}
	return n, err
}

func (s *Server) verify(d *delivery) *refusal {
	d.req = s.hookRequest(d)
	if err := d.src.Verify(d.req); err != nil {
		e := asHookError(err)
		s.cfg.Metrics.verificationFailed(d.in.Source, e)
		return rejected(e)
	}
	return nil
}

func (s *Server) hookRequest(d *delivery) *hook.Request {
	return &hook.Request{Context: d.ctx, IntegrationID: d.in.ID, Header: d.r.Header, Body: d.body, ContentType: d.mediaType,
		Secrets: d.in.ValidSecrets(d.now), Options: d.in.Options, Now: d.now}
}

// rateLimit charges the integration's budget, after verification: a
// forged request never spends a real sender's rate.
func (s *Server) rateLimit(d *delivery) *refusal {
	if wait, ok := s.limits.allow(d.in, d.now); !ok {
		return &refusal{metric: "rate_limited", retryAfter: wait, err: &hook.Error{Status: http.StatusTooManyRequests, Code: "rate_limited",
			Message: "too many requests for this integration", Hint: "retry after the number of seconds in Retry-After; raise the integration's rate_limit option if the sender needs more"}}
	}
	return nil
}

func (s *Server) parse(d *delivery) *refusal {
	ev, err := d.src.Parse(d.req)
	if err != nil {
		if ev.Type != "" {
			d.label.Event = headerText(ev.Type)
		}
		return rejected(asHookError(err))
	}
	ev.Integration, ev.ReceivedAt, ev.Source = d.in.ID, d.now.UTC(), d.src.Name()
	ev.PayloadSize = len(ev.Payload)
	d.ev = ev
	return nil
}

// route decides, once, which workflows the event must reach; the
// forwarder signals exactly these.
func (s *Server) route(d *delivery) *refusal {
	d.entry = journal.Entry{Event: d.ev, Status: journal.Accepted}
	d.entry.Event.TraceParent = traceParent(d.ctx)
	switch {
	case d.src.Ping(d.ev):
		d.entry.Status, d.entry.Reason = journal.Ignored, "ping"
	default:
		d.entry.Routes = journal.RoutesOf(s.cfg.Router.Routes(d.ev))
		if len(d.entry.Routes) == 0 {
			d.entry.Status, d.entry.Reason = journal.Ignored, fmt.Sprintf("no blueprint subscribes to %s %s", d.ev.Source, eventName(d.ev))
		}
	}
	return nil
}

// journal appends the entry: the acknowledgement point. The append goes on
// if the sender hangs up: once accepted, a delivery is committed.
func (s *Server) journal(d *delivery) *refusal {
	res, err := s.cfg.Journal.Append(d.lasting, d.entry)
	s.appends.record(d.now, err)
	if err != nil {
		s.log.ErrorContext(d.ctx, "journal append failed", "error", err, "integration", d.in.ID, "delivery_id", d.ev.DeliveryID)
		return &refusal{metric: "journal_unavailable", retryAfter: 5 * time.Second, err: &hook.Error{Status: http.StatusServiceUnavailable,
			Code: "journal_unavailable", Message: "the delivery could not be stored; retry later"}}
	}
	d.entry.Event.Seq = res.Seq
	if res.Duplicate {
		d.entry.Status, d.entry.Reason = journal.Duplicate, ""
	}
	return nil
}

// answer answers a journaled delivery and returns its status label.
func (s *Server) answer(d *delivery) string {
	status, code := string(d.entry.Status), http.StatusAccepted
	switch d.entry.Status {
	case journal.Duplicate, journal.Ignored:
		code = http.StatusOK
	default:
		s.backlog.add(1)
		if s.cfg.Accepted != nil {
			s.cfg.Accepted()
		}
	}
	ev := d.ev
	// Typed attributes: the key-value form boxed every value (a tenth of
	// the allocations per delivery).
	s.log.LogAttrs(d.ctx, slog.LevelInfo, "delivery", slog.String("status", status), slog.String("delivery_id", ev.DeliveryID),
		slog.String("source", ev.Source), slog.String("event", ev.Type), slog.String("action", ev.Action), slog.String("integration", d.in.ID),
		slog.Int64("seq", d.entry.Event.Seq), slog.Int("routes", len(d.entry.Routes)), slog.String("trace_id", traceID(d.ctx)))
	if a, ok := d.src.(hook.Answerer); ok {
		code, body := a.Answer(s.hookRequest(d), ev, status)
		writeJSON(d.w, code, body)
		return status
	}
	writeJSON(d.w, code, answer{DeliveryID: ev.DeliveryID, Status: status, Reason: d.entry.Reason})
	return status
}

// refuse is the one exit of refused deliveries: it journals the refusal
// when it can be attributed to an integration (within the refusal
// budget), logs it without the body, and answers.
func (s *Server) refuse(d *delivery, ref *refusal) {
	if ref.retryAfter > 0 {
		d.w.Header().Set("Retry-After", strconv.Itoa(int((ref.retryAfter+time.Second-1)/time.Second)))
	}
	if d.resolved && ref.journal {
		s.journalRefusal(d, ref.err)
	}
	if d.resolved {
		s.log.WarnContext(d.ctx, "delivery refused", "status", ref.err.Status, "code", ref.err.Code, "delivery_id", d.label.DeliveryID,
			"event", d.label.Event, "source", d.in.Source, "integration", d.in.ID)
	}
	writeError(d.w, ref.err)
}

// RefusalsPerMinute is how many refusals of one integration and status
// are journaled each minute, with their delivery IDs and reasons; the
// rest are counted in hookflow_refusals_suppressed_total and summarized
// in one journal row for that minute.
const RefusalsPerMinute = 20

func (s *Server) journalRefusal(d *delivery, e *hook.Error) {
	ok, summary := s.refusals.take(d.in.ID, e.Status, d.now)
	ctx := d.lasting
	if summary.count > 0 {
		s.appendRefusal(ctx, d, "", fmt.Sprintf("%d %s: %d more refusals in the minute from %s were not journaled one by one",
			e.Status, "suppressed", summary.count, summary.minute.UTC().Format(time.RFC3339)))
	}
	if !ok {
		s.cfg.Metrics.refusalSuppressed(d.in.Source, e.Status)
		return
	}
	s.appendRefusal(ctx, d, d.label.DeliveryID, fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message))
}

func (s *Server) appendRefusal(ctx context.Context, d *delivery, deliveryID, reason string) {
	entry := journal.Entry{Status: journal.Rejected, Reason: reason, Event: workflows.Event{
		DeliveryID: deliveryID, Source: d.in.Source, Type: d.label.Event, Integration: d.in.ID, ReceivedAt: d.now.UTC(),
	}}
	_, err := s.cfg.Journal.Append(ctx, entry)
	s.appends.record(d.now, err)
	if err != nil {
		s.log.ErrorContext(ctx, "journal append failed", "error", err, "integration", d.in.ID)
	}
}

// refusalBudget counts refusals per integration and status per minute.
type refusalBudget struct {
	mu sync.Mutex
	m  map[refusalKey]*refusalWindow
}

type refusalKey struct {
	integration string
	status      int
}

type refusalWindow struct {
	minute     time.Time
	n          int
	suppressed int
}

// suppressedMinute is a finished minute's count of refusals not journaled.
type suppressedMinute struct {
	minute time.Time
	count  int
}

// take says whether this refusal is journaled, and hands over the count of
// a finished minute's suppressed refusals (once) to summarize.
func (b *refusalBudget) take(integration string, status int, now time.Time) (bool, suppressedMinute) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[refusalKey]*refusalWindow{}
	}
	k := refusalKey{integration, status}
	w := b.m[k]
	minute := now.Truncate(time.Minute)
	var done suppressedMinute
	if w == nil || !w.minute.Equal(minute) {
		if w != nil && w.suppressed > 0 {
			done = suppressedMinute{minute: w.minute, count: w.suppressed}
		}
		w = &refusalWindow{minute: minute}
		b.m[k] = w
	}
	w.n++
	if w.n > RefusalsPerMinute {
		w.suppressed++
		return false, done
	}
	return true, done
}

// DefaultClientRateLimit is the requests per second one client address
// may send to /hooks when Config.ClientRateLimit is zero: far above any
// real sender's burst, low enough that one address cannot flood.
const DefaultClientRateLimit = 1000

// clientLimits holds a token bucket per client address, forgetting them
// all when too many addresses are tracked (so an attacker spreading
// addresses bounds its memory, not ours).
type clientLimits struct {
	perSec float64
	mu     sync.Mutex
	m      map[string]*rate.Limiter
}

const maxTrackedClients = 10000

func (c *clientLimits) allow(addr string, now time.Time) (time.Duration, bool) {
	if c.perSec <= 0 {
		return 0, true
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxTrackedClients {
		c.m = map[string]*rate.Limiter{}
	}
	l := c.m[addr]
	if l == nil {
		l = rate.NewLimiter(rate.Limit(c.perSec), max(1, int(c.perSec)))
		c.m[addr] = l
	}
	c.mu.Unlock()
	r := l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// DefaultMaxInFlightBytes is the bound on request body bytes held at once
// when Config.MaxInFlightBytes is zero.
const DefaultMaxInFlightBytes = 64 << 20

// inflight is the budget of body bytes the ingress holds at once.
type inflight struct {
	max int64
	n   atomic.Int64
}

func (f *inflight) reserve(n int64) bool {
	if f.n.Add(n) > f.max {
		f.n.Add(-n)
		return false
	}
	return true
}

func (f *inflight) release(n int64) {
	if n > 0 {
		f.n.Add(-n)
	}
}
