package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"

	"github.com/hookflow/hookflow/blueprints/prcomment"
	ghsrc "github.com/hookflow/hookflow/ingress/github"
	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/workflows"
)

// dev is a running `hookflow dev`.
type dev struct {
	server
	temporal string
}

// startDev runs `hookflow dev` on a fresh data directory with the UI off,
// and creates a GitHub integration with secret.
func (b *bench) startDev(ctx context.Context, name string, secret []byte) (*dev, error) {
	dir, err := b.dir(name)
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	tport, err := freePortRange(5)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	data := filepath.Join(dir, "data")
	c, err := startChild(ctx, "hookflow dev", filepath.Join(dir, "dev.log"), "hookflow dev is running", b.opts.bin,
		"--data-dir", data, "dev", "--http", addr, "--temporal-port", strconv.Itoa(tport), "--ui-port", "0", "--client-rate-limit", "-1")
	if err != nil {
		return nil, err
	}
	a, err := newAdmin("http://"+addr, data)
	if err == nil {
		var url string
		if url, err = a.createIntegration(ctx, "bench", secret); err == nil {
			return &dev{server: server{proc: c, hookURL: url, admin: a}, temporal: "127.0.0.1:" + strconv.Itoa(tport)}, nil
		}
	}
	c.stop()
	return nil, err
}

func dialTemporal(ctx context.Context, address string) (client.Client, error) {
	return client.DialContext(ctx, client.Options{
		HostPort:  address,
		Namespace: "default",
		Logger:    sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
}

// e2eResult is one end-to-end run.
type e2eResult struct {
	signalled time.Duration // until every event reached Temporal
	applied   time.Duration // until every workflow had applied its events
	events    int
	retries   int64
	// From a sample of workflows' histories:
	sampleSignals, sampleEvents int
	sampleWant                  int
	peakRSS                     int64
}

func (r e2eResult) rate() float64 { return float64(r.events) / r.applied.Seconds() }

// endToEnd runs N events over K = N entities and K = N/hot-ratio entities,
// through Hookflow and through the raw driver, each run on a fresh
// `hookflow dev` (an empty Temporal database), in the order raw, Hookflow
// for the first K and Hookflow, raw for the second.
func (b *bench) endToEnd(ctx context.Context) error {
	n := b.opts.events
	type pair struct{ hf, raw e2eResult }
	var results []pair
	for i, k := range []int{n, n / b.opts.hotRatio} {
		var p pair
		order := []string{"raw", "hookflow"}
		if i == 1 {
			order = []string{"hookflow", "raw"}
		}
		for _, system := range order {
			r, err := b.e2eRun(ctx, system, n, k)
			if err != nil {
				return fmt.Errorf("%s with K=%d: %w", system, k, err)
			}
			b.log.Info("end to end", "system", system, "N", n, "K", k, "signalled", r.signalled.Round(time.Millisecond),
				"applied", r.applied.Round(time.Millisecond), "events/s", fmt.Sprintf("%.1f", r.rate()),
				"sample_signals", r.sampleSignals, "sample_events", r.sampleEvents, "retries", r.retries)
			if system == "raw" {
				p.raw = r
			} else {
				p.hf = r
			}
		}
		results = append(results, p)
	}
	for i, p := range results {
		k := n
		label := fmt.Sprintf("end to end, new entities (N=%d, K=N)", n)
		g := goal{name: "e2e_new_entities", ratio: true, target: 0.9, atLeast: true}
		if i == 1 {
			k = n / b.opts.hotRatio
			label = fmt.Sprintf("end to end, hot entities (N=%d, K=N/%d=%d)", n, b.opts.hotRatio, k)
			g = goal{name: "e2e_hot_entities", ratio: true, target: 2, atLeast: true}
		}
		b.rep.add(label, "events/s (to applied)", fmtRate(p.hf.rate(), "ev/s"), fmtRate(p.raw.rate(), "ev/s"), ratio(p.hf.rate(), p.raw.rate()))
		b.rep.add(label, "time to drain (applied)", fmtSec(p.hf.applied), fmtSec(p.raw.applied), ratio(p.hf.applied.Seconds(), p.raw.applied.Seconds()))
		b.rep.add(label, "time until all signalled", fmtSec(p.hf.signalled), fmtSec(p.raw.signalled), ratio(p.hf.signalled.Seconds(), p.raw.signalled.Seconds()))
		b.rep.add(label, "events per signal (sample)", perSignal(p.hf), perSignal(p.raw), "")
		b.rep.add(label, "dev peak RSS (VmHWM)", fmtMiB(p.hf.peakRSS), fmtMiB(p.raw.peakRSS), ratio(float64(p.hf.peakRSS), float64(p.raw.peakRSS)))
		g.got = p.hf.rate() / p.raw.rate()
		g.why = fmt.Sprintf("Hookflow took %s until all signalled and %s until applied; the raw driver %s and %s. "+
			"Both are bound by the Temporal dev server and the worker (20-40 ms of server CPU per new workflow) on 2 cores. In "+
			"Hookflow's run the same process also runs the ingress and the forwarder (HTTP, JSON, the journal's 8 KiB inserts "+
			"and marks), which take CPU from the server and the worker, while the raw driver's client runs in the benchmark "+
			"process; and the forwarder works in rounds of up to 500 entries, each waiting for its slowest signal before the "+
			"next round starts (see docs/benchmarks.md).",
			fmtSec(p.hf.signalled), fmtSec(p.hf.applied), fmtSec(p.raw.signalled), fmtSec(p.raw.applied))
		b.rep.goal(g)
	}
	b.rep.note("**End to end.** Each run starts a fresh `hookflow dev --ui-port 0` (embedded Temporal dev server on SQLite, "+
		"the worker with 16 workflow-task pollers, the ingress and its forwarder) and sends N = %d pull_request `synchronize` "+
		"events (8 KiB each) round-robin over K entities (pull requests), so that the prcomment blueprint applies each one "+
		"without an activity. *Hookflow*: the events are POSTed, signed, to the ingress (64 at a time) and go journal → "+
		"forwarder (16 concurrent SignalWithStart calls, its default; events pending for the same workflow go in one signal) "+
		"→ workflow. *Raw driver*: this process calls `SignalWithStartWorkflow` for `%s` on task queue `hookflow` directly, "+
		"one `workflows.Batch{Events: []workflows.Event{ev}}` per event on signal `%s`, %d calls at a time, with the "+
		"same Event the ingress would build (the GitHub source's Parse over the same body). *Signalled*: Hookflow's journal "+
		"backlog (`/readyz`) is zero after the last POST (every entry forwarded; the run fails if any entry failed), or "+
		"every raw call returned. *Applied*: DescribeWorkflowExecution of every one of the K workflows shows no pending "+
		"workflow task, so every signal it received has been processed by the worker. Events/s is N divided by the time from "+
		"the first POST (or call) to applied. A sample of three workflows' histories is read back to count the events and "+
		"signals they received (all N/K events must be there); *events per signal* is the sample's ratio.",
		n, prcomment.WorkflowName, workflows.SignalEvents, b.opts.e2eConc)
	return nil
}

func perSignal(r e2eResult) string {
	if r.sampleSignals == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f", float64(r.sampleEvents)/float64(r.sampleSignals))
}

// e2eRun runs n events over k entities through system ("hookflow" or
// "raw") on a fresh `hookflow dev`.
func (b *bench) e2eRun(ctx context.Context, system string, n, k int) (e2eResult, error) {
	ctx, cancel := context.WithTimeout(ctx, b.opts.drainTimeout)
	defer cancel()
	secret := randomSecret()
	d, err := b.startDev(ctx, "e2e-"+system, secret)
	if err != nil {
		return e2eResult{}, err
	}
	defer d.proc.stop()
	c, err := dialTemporal(ctx, d.temporal)
	if err != nil {
		return e2eResult{}, err
	}
	defer c.Close()

	repo := fmt.Sprintf("%s-k%d", system, k)
	deliveries := make([]*delivery, k)
	for e := range k {
		if deliveries[e], err = signed("bench", repo, e+1, secret); err != nil {
			return e2eResult{}, err
		}
	}
	events, ids, err := routedEvents(ctx, deliveries)
	if err != nil {
		return e2eResult{}, err
	}
	// A moment of quiet after startup, so both systems start alike.
	time.Sleep(2 * time.Second)
	rss := sampleRSS(d.proc.pid())
	res := e2eResult{events: n}
	start := time.Now()
	switch system {
	case "hookflow":
		err = b.driveHookflow(ctx, d, deliveries, repo, n)
	default:
		err = b.driveRaw(ctx, c, events, repo, n, &res.retries)
	}
	if err != nil {
		rss.done()
		return res, err
	}
	res.signalled = time.Since(start)
	err = waitApplied(ctx, c, ids)
	res.applied = time.Since(start)
	rss.done()
	if err != nil {
		return res, fmt.Errorf("waiting for the workflows to apply their events: %w", err)
	}
	m, _ := readMemory(d.proc.pid())
	res.peakRSS = m.hwm
	res.sampleWant = n / k
	for _, e := range []int{0, k / 2, k - 1} {
		signals, events, err := countSignalled(ctx, c, ids[e])
		if err != nil {
			return res, err
		}
		res.sampleSignals += signals
		res.sampleEvents += events
		want := n / k
		if e < n%k {
			want++
		}
		if events != want {
			return res, fmt.Errorf("workflow %s received %d events, want %d", ids[e], events, want)
		}
	}
	return res, nil
}

// driveHookflow POSTs n deliveries, event i to entity i%len(deliveries),
// 64 at a time, then waits for the journal backlog to reach zero.
func (b *bench) driveHookflow(ctx context.Context, d *dev, deliveries []*delivery, repo string, n int) error {
	p := newPoster(d.hookURL)
	next := atomic.Int64{}
	var failed atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				code, err := p.postID(ctx, deliveries[i%len(deliveries)], repo+"-"+strconv.Itoa(i))
				if err == nil && code != http.StatusAccepted {
					err = fmt.Errorf("answer %d", code)
				}
				if err != nil {
					failed.Add(1)
					once.Do(func() { firstErr = err })
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("%d deliveries refused, first: %w", failed.Load(), firstErr)
	}
	for {
		n, err := d.admin.backlog(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("journal backlog still %d: %w", n, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if f, err := d.admin.countStatus(ctx, "failed", 10); err != nil || f > 0 {
		return fmt.Errorf("%d deliveries failed to forward (%v)", f, err)
	}
	return nil
}

// driveRaw calls SignalWithStart once per event (events round-robin, each
// with a delivery ID of its own), e2e-concurrency at a time, retrying a
// failed call (counted in retries).
func (b *bench) driveRaw(ctx context.Context, c client.Client, events []workflows.Event, repo string, n int, retries *int64) error {
	next := atomic.Int64{}
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range b.opts.e2eConc {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				ev := events[i%len(events)]
				ev.DeliveryID, ev.ReceivedAt, ev.Seq = repo+"-"+strconv.Itoa(i), time.Now().UTC(), int64(i+1)
				wfID := workflowID(ev)
				opts := client.StartWorkflowOptions{ID: wfID, TaskQueue: "hookflow"}
				var err error
				for attempt := range 10 {
					callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
					_, err = c.SignalWithStartWorkflow(callCtx, wfID, workflows.SignalEvents,
						workflows.Batch{Events: []workflows.Event{ev}}, opts, prcomment.WorkflowName, prcomment.Input{})
					cancel()
					if err == nil || ctx.Err() != nil {
						break
					}
					atomic.AddInt64(retries, 1)
					time.Sleep(time.Duration(100<<attempt) * time.Millisecond)
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

func workflowID(ev workflows.Event) string { return prcomment.WorkflowID(ev) }

// routedEvents are the events the ingress builds from deliveries and the
// workflows it routes them to, in order. (The IDs were written out here
// once, and went stale when IDs were namespaced by blueprint and host:
// every run then waited for workflows that did not exist until its drain
// timeout.)
func routedEvents(ctx context.Context, deliveries []*delivery) ([]workflows.Event, []string, error) {
	events := make([]workflows.Event, len(deliveries))
	ids := make([]string, len(deliveries))
	for e, dl := range deliveries {
		ev, err := parseDelivery(ctx, dl)
		if err != nil {
			return nil, nil, err
		}
		if ids[e] = workflowID(ev); ids[e] == "" {
			return nil, nil, fmt.Errorf("delivery %d routes to no %s workflow", e+1, prcomment.WorkflowName)
		}
		events[e] = ev
	}
	return events, ids, nil
}

// parseDelivery is the Event the ingress builds from dl (the GitHub
// source's Parse over its body), of integration int_raw.
func parseDelivery(ctx context.Context, dl *delivery) (workflows.Event, error) {
	h := http.Header{}
	h.Set("X-GitHub-Event", "pull_request")
	h.Set("X-GitHub-Delivery", "template")
	ev, err := ghsrc.Source{}.Parse(&hook.Request{Context: ctx, Header: h, Body: dl.body, ContentType: "application/json"})
	ev.Integration = "int_raw"
	return ev, err
}

// waitApplied waits until no workflow in ids has a pending workflow task:
// every signal it received has been processed by the worker. A workflow
// that got all its signals and has no pending task stays applied, so each
// is confirmed once, four at a time: the check itself must not load the
// Temporal server it measures (a few describes per workflow at most).
func waitApplied(ctx context.Context, c client.Client, ids []string) error {
	next := atomic.Int64{}
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ids) {
					return
				}
				for {
					resp, err := c.DescribeWorkflowExecution(ctx, ids[i], "")
					if err == nil && resp.PendingWorkflowTask == nil {
						break
					}
					var nf *serviceerror.NotFound
					if errors.As(err, &nf) {
						// Every workflow was signalled before this wait.
						once.Do(func() { firstErr = fmt.Errorf("workflow %s does not exist, though every event was signalled", ids[i]) })
						return
					}
					if err != nil {
						once.Do(func() { firstErr = fmt.Errorf("describe %s: %w", ids[i], err) })
						return
					}
					select {
					case <-ctx.Done():
						once.Do(func() { firstErr = fmt.Errorf("%s still has a pending workflow task: %w", ids[i], ctx.Err()) })
						return
					case <-time.After(50 * time.Millisecond):
					}
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// countSignalled reads a workflow's history (every run of its chain) and
// returns how many events signals it received and how many events they
// carried.
func countSignalled(ctx context.Context, c client.Client, id string) (signals, events int, err error) {
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	dc := converter.GetDefaultDataConverter()
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return 0, 0, fmt.Errorf("history of %s: %w", id, err)
		}
		a := ev.GetWorkflowExecutionSignaledEventAttributes()
		if a == nil || a.GetSignalName() != workflows.SignalEvents {
			continue
		}
		var batch workflows.Batch
		if err := dc.FromPayloads(a.GetInput(), &batch); err != nil {
			return 0, 0, fmt.Errorf("history of %s: %w", id, err)
		}
		signals++
		events += len(batch.Events)
	}
	return signals, events, nil
}

// devMemory: RSS of `hookflow dev` idle, then under --rate requests/s of
// pull_request deliveries over 20 hot pull requests for --rate-duration
// (the forwarder and the worker busy too), then how long the forwarder
// takes to catch up.
func (b *bench) devMemory(ctx context.Context) error {
	secret := randomSecret()
	d, err := b.startDev(ctx, "dev-memory", secret)
	if err != nil {
		return err
	}
	defer d.proc.stop()
	time.Sleep(5 * time.Second)
	idle, err := readMemory(d.proc.pid())
	if err != nil {
		return err
	}
	const hot = 20
	deliveries := make([]*delivery, hot)
	for e := range deliveries {
		if deliveries[e], err = signed("bench", "memory", e+1, secret); err != nil {
			return err
		}
	}
	sampler := sampleRSS(d.proc.pid())
	s := openLoop(ctx, b.opts.rate, b.opts.rateDuration, roundRobin(newPoster(d.hookURL), deliveries))
	loaded := sampler.done()
	backlog, _ := d.admin.backlog(ctx)
	t := time.Now()
	drained := "not within 60 s"
	for deadline := t.Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if n, err := d.admin.backlog(ctx); err == nil && n == 0 {
			drained = fmtSec(time.Since(t))
			break
		}
	}
	m, _ := readMemory(d.proc.pid())
	b.log.Info("dev memory", "idle", fmtMiB(idle.rss), "under_load", fmtMiB(loaded.rss), "hwm", fmtMiB(m.hwm),
		"p99", s.pct(99), "statuses", s.statusSummary(), "backlog_at_end", backlog, "drained_after", drained)
	name := fmt.Sprintf("hookflow dev memory (%d req/s, %s)", b.opts.rate, b.opts.rateDuration)
	b.rep.add(name, "RSS: max under load vs idle", fmtMiB(loaded.rss), fmtMiB(idle.rss), ratio(float64(loaded.rss), float64(idle.rss)))
	b.rep.add(name, "private memory (RssAnon): max under load vs idle", fmtMiB(loaded.anon), fmtMiB(idle.anon), ratio(float64(loaded.anon), float64(idle.anon)))
	b.rep.add(name, "peak RSS (VmHWM)", fmtMiB(m.hwm), "", "")
	b.rep.add(name, "ack p50 / p99 under load", fmtMs(s.pct(50))+" / "+fmtMs(s.pct(99)), "", "")
	b.rep.add(name, "backlog at end of load → drained after", fmt.Sprintf("%d → %s", backlog, drained), "", "")
	b.rep.note("**hookflow dev memory.** A fresh `hookflow dev --ui-port 0` (Temporal server, worker, ingress, forwarder in one "+
		"process); RSS 5 s after start (idle), then the fixed-rate load (%d signed pull_request deliveries/s, open loop, "+
		"for %s) spread over %d pull requests, so that the forwarder and the worker work while the ingress takes the load; "+
		"VmRSS sampled every 100 ms. Answers: %s.", b.opts.rate, b.opts.rateDuration, hot, s.statusSummary())
	return nil
}
