package e2e

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	fnconn "github.com/hookflow/hookflow/connectors/httpfunc"
	"github.com/hookflow/hookflow/ingress/postgres/pgtest"
)

const relaySecret = "relay-signing-secret-for-chaos"

// TestChaos sends N signed deliveries over many entities while it stops the
// Temporal server for 20 s, SIGKILLs the worker once and SIGKILLs the
// ingress once, then counts effects at the relay function: every delivery
// answered 2xx must take effect exactly once, in order per entity.
// HOOKFLOW_CHAOS_N sets N (default 2000; `make chaos` runs 10000).
func TestChaos(t *testing.T) {
	runChaos(t, chaosOptions{})
}

// TestChaosPostgres is the same run with the journal on PostgreSQL.
func TestChaosPostgres(t *testing.T) {
	runChaos(t, chaosOptions{journal: pgtest.Schema(t)})
}

// TestTwoIngressesSharePostgres runs two ingress processes on one
// PostgreSQL journal behind a round-robin sender and SIGKILLs one of them
// for good mid-run: the other takes over forwarding, nothing is lost or
// doubled.
func TestTwoIngressesSharePostgres(t *testing.T) {
	runChaos(t, chaosOptions{journal: pgtest.Schema(t), ingresses: 2})
}

// TestHATwoIngressesTwoWorkers is the high-availability run of
// docs/operations.md: two ingress processes and two workers on one
// PostgreSQL journal and one Temporal; one worker is SIGKILLed at 30% of
// the stream, the ingress that leads forwarding at 50%. The other ingress
// takes forwarding over within a bound, the other worker takes the
// workflows and activities over, and nothing is lost, doubled or
// reordered.
func TestHATwoIngressesTwoWorkers(t *testing.T) {
	runChaos(t, chaosOptions{journal: pgtest.Schema(t), ingresses: 2, workers: 2})
}

// leaderTakeover bounds how long forwarding may stay without a leader
// after the leading ingress dies: its session ends with the process, the
// advisory lock is released at once, and the waiting ingress retries it
// every second (journal.Postgres leaderPoll).
const leaderTakeover = 10 * time.Second

type chaosOptions struct {
	// journal is a postgres:// DSN; empty means SQLite in the data dir.
	journal string
	// ingresses > 1 runs that many ingress processes on the shared
	// journal and kills the one leading forwarding mid-run, leaving
	// Temporal and the workers up.
	ingresses int
	// workers > 1 runs that many workers and kills one of them before the
	// ingress.
	workers int
}

func runChaos(t *testing.T, opts chaosOptions) {
	if testing.Short() {
		t.Skip("end-to-end chaos test; run without -short")
	}
	n := 2000
	if v := os.Getenv("HOOKFLOW_CHAOS_N"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	entities := max(1, n/40)
	bin := hookflowBinary(t)
	sink := newRelaySink(t)
	dataDir := t.TempDir()

	temporalPort := freePortRange(t, 5)
	temporalAddr := fmt.Sprintf("127.0.0.1:%d", temporalPort)
	env := []string{"HOOKFLOW_RELAY_SECRET=" + relaySecret, "HOOKFLOW_SECRET_KEY=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{42}, 32))}
	journalArgs := []string{}
	if opts.journal != "" {
		journalArgs = []string{"--journal", opts.journal}
	}
	replicas := max(1, opts.ingresses)
	httpAddrs := make([]string, replicas)
	for i := range httpAddrs {
		httpAddrs[i] = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	}

	temporal := func() *proc {
		return startProc(t, "temporal", bin, env, "press Ctrl-C to stop", "dev", "--components", "temporal", "--data-dir", dataDir,
			"--temporal-port", strconv.Itoa(temporalPort), "--ui-port", "0")
	}
	worker := func(i int) *proc {
		return startProc(t, fmt.Sprint("worker-", i), bin, env, "polling", "--data-dir", filepath.Join(dataDir, fmt.Sprint("worker-", i)),
			"worker", "--temporal-address", temporalAddr, "--relay-url", sink.URL)
	}
	ingressProc := func(i int) *proc {
		args := append([]string{"--data-dir", filepath.Join(dataDir, fmt.Sprint("ingress-", i)), "ingress", "--http", httpAddrs[i],
			"--temporal-address", temporalAddr, "--rate-limit", "0", "--relay-url", sink.URL}, journalArgs...)
		return startProc(t, fmt.Sprint("ingress-", i), bin, env, "listening on", args...)
	}
	tp := temporal()
	wps := make([]*proc, max(1, opts.workers))
	for i := range wps {
		wps[i] = worker(i)
	}
	ips := make([]*proc, replicas)
	for i := range ips {
		ips[i] = ingressProc(i)
	}
	cli := &devProcess{bin: bin, dataDir: filepath.Join(dataDir, "ingress-0"), ingressURL: "http://" + httpAddrs[0]}
	var in struct{ ID, URL, Secret string }
	require.NoError(t, json.Unmarshal(cli.cli(t, "integrations", "create", "--source", "generic", "--name", "chaos",
		"--option", "scheme=hmac", "--option", "keys=entity", "--output", "json"), &in))
	path := in.URL[strings.Index(in.URL, "/hooks/"):]
	urls := make([]string, replicas)
	for i, a := range httpAddrs {
		urls[i] = "http://" + a + path
	}

	// The sender: one goroutine per entity sends its events in order, each
	// until it is answered 2xx, as a webhook sender's retry loop does;
	// attempts go round-robin over the ingress replicas.
	var sent, accepted, duplicates, retries atomic.Int64
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: entities}}
	perEntity := n / entities
	// Senders are paced over a 45 s window, so that every fault below
	// strikes while deliveries are in flight.
	window := 45 * time.Second
	pace := make(chan struct{})
	stopPace := make(chan struct{})
	go func() {
		tick := time.NewTicker(window / time.Duration(n))
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				select {
				case pace <- struct{}{}:
				case <-stopPace:
					return
				}
			case <-stopPace:
				return
			}
		}
	}()
	defer close(stopPace)
	var wg sync.WaitGroup
	var rr atomic.Int64
	start := time.Now()
	for e := range entities {
		wg.Go(func() {
			for i := 1; i <= perEntity; i++ {
				body := []byte(fmt.Sprintf(`{"entity":"e%d","n":%d,"type":"chaos","pad":%q}`, e, i, strings.Repeat("x", 512)))
				id := fmt.Sprintf("e%d-%d", e, i)
				<-pace
				for attempt := 0; ; attempt++ {
					status, answer := postGeneric(client, urls[int(rr.Add(1))%replicas], in.Secret, id, body)
					if status == http.StatusAccepted || (status == http.StatusOK && strings.Contains(answer, `"duplicate"`)) {
						if status == http.StatusAccepted {
							accepted.Add(1)
						} else {
							duplicates.Add(1)
						}
						break
					}
					retries.Add(1)
					time.Sleep(min(time.Second, time.Duration(50<<min(attempt, 5))*time.Millisecond))
				}
				sent.Add(1)
			}
		})
	}

	// The chaos, driven by progress.
	waitSent := func(frac float64) {
		for float64(sent.Load()) < frac*float64(n) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	var timeline []string
	mark := func(s string) { timeline = append(timeline, fmt.Sprintf("%6.1fs  %s", time.Since(start).Seconds(), s)) }
	// held is how the replicas' forwarders log their partition share.
	held := func(p *proc, n int) bool { return strings.Contains(p.stderr.String(), fmt.Sprintf(`"held":%d,`, n)) }
	survivorLog := 0
	if replicas > 1 {
		require.Eventually(t, func() bool { return held(ips[0], 32) && held(ips[1], 32) }, 30*time.Second, 100*time.Millisecond,
			"the two replicas split the 64 partitions")
		mark("the replicas forward 32 partitions each")
		waitSent(0.5)
		survivorLog = len(ips[1].stderr.String())
		ips[0].kill(t)
		mark("ingress-0 SIGKILLed for good")
		ips = ips[1:]
	} else {
		waitSent(0.1)
		wps[0].kill(t)
		mark("worker SIGKILLed")
		time.Sleep(2 * time.Second)
		wps[0] = worker(0)
		mark("worker restarted")
		waitSent(0.2)
		tp.stop(t)
		mark("Temporal stopped")
		time.Sleep(20 * time.Second)
		tp = temporal()
		mark("Temporal restarted")
		waitSent(0.8)
		ips[0].kill(t)
		mark("ingress SIGKILLed")
		ips[0] = ingressProc(0)
		mark("ingress restarted")
	}
	wg.Wait()
	mark(fmt.Sprintf("all %d deliveries answered 2xx", n))

	// Drain: every delivery must reach the function.
	deadline := time.Now().Add(10 * time.Minute)
	for sink.unique() < n && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
	}
	mark(fmt.Sprintf("%d effects at the function", sink.unique()))
	if replicas > 1 {
		require.Contains(t, ips[0].stderr.String()[survivorLog:], `"held":64,`, "the survivor took the dead replica's partitions over")
	}
	time.Sleep(2 * time.Second) // anything doubled would show up now
	r := sink.report(entities, perEntity)
	journalName := "SQLite"
	if opts.journal != "" {
		journalName = "PostgreSQL"
	}
	t.Logf("\n%s\n\nchaos: N=%d over %d entities, %s journal, %d ingress replica(s), %d worker(s)\n  accepted (202)            %d\n  duplicate answers (200)   %d\n  sender retries            %d\n  applied (unique effects)  %d\n  calls retried by Temporal %d\n  doubled                   %d\n  out-of-order              %d\n  lost                      %d\n  elapsed                   %s",
		strings.Join(timeline, "\n"), n, entities, journalName, replicas, max(1, opts.workers), accepted.Load(), duplicates.Load(), retries.Load(), r.unique, r.retriedCalls, r.doubled, r.outOfOrder, r.lost, time.Since(start).Round(time.Second))
	require.Equal(t, int64(n), accepted.Load()+duplicates.Load())
	require.Positive(t, retries.Load(), "an ingress was killed while deliveries were in flight")
	require.Zero(t, r.lost, "lost")
	require.Zero(t, r.doubled, "doubled")
	require.Zero(t, r.outOfOrder, "out of order")
	require.Equal(t, n, r.unique)
	require.Zero(t, sink.badSignatures.Load(), "every call is signed")

	all := append(append([]*proc{tp}, wps...), ips...)
	for _, p := range all {
		p.stop(t)
	}
	for _, p := range all {
		require.NotContains(t, p.stderr.String(), in.Secret)
		require.NotContains(t, p.stderr.String(), relaySecret)
	}
}

func postGeneric(c *http.Client, url, secret, id string, body []byte) (int, string) {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Request-Id", id)
	req.Header.Set("X-Signature", hex.EncodeToString(m.Sum(nil)))
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// relaySink is the relay blueprint's function: it records each
// idempotency key with the position the workflow applied it at.
type relaySink struct {
	*httptest.Server
	mu            sync.Mutex
	applied       map[string]int   // idempotency key -> applied position
	doubled       int              // keys seen again with another position
	calls         int              // all calls
	byEntity      map[string][]int // entity -> n, indexed by applied position
	badSignatures atomic.Int64
}

type sinkReport struct{ unique, retriedCalls, doubled, outOfOrder, lost int }

func newRelaySink(t *testing.T) *relaySink {
	s := &relaySink{applied: map[string]int{}, byEntity: map[string][]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := fnconn.Verify(relaySecret, r.Header.Get("X-Hookflow-Timestamp"), r.Header.Get("X-Hookflow-Signature"), body, time.Now(), 5*time.Minute); err != nil {
			s.badSignatures.Add(1)
			http.Error(w, `{"error":"bad signature"}`, http.StatusUnauthorized)
			return
		}
		var msg struct {
			Applied int               `json:"applied"`
			Keys    map[string]string `json:"keys"`
			Payload struct {
				N int `json:"n"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(body, &msg); err != nil {
			http.Error(w, `{"error":"bad json"}`, http.StatusBadRequest)
			return
		}
		key := r.Header.Get("X-Hookflow-Idempotency-Key")
		s.mu.Lock()
		s.calls++
		if pos, ok := s.applied[key]; ok {
			if pos != msg.Applied {
				s.doubled++
			}
		} else {
			s.applied[key] = msg.Applied
			ns := s.byEntity[msg.Keys["entity"]]
			for len(ns) < msg.Applied {
				ns = append(ns, 0)
			}
			ns[msg.Applied-1] = msg.Payload.N
			s.byEntity[msg.Keys["entity"]] = ns
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *relaySink) unique() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.applied)
}

func (s *relaySink) report(entities, perEntity int) sinkReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := sinkReport{unique: len(s.applied), retriedCalls: s.calls - len(s.applied), doubled: s.doubled}
	for e := range entities {
		ns := s.byEntity[fmt.Sprint("e", e)]
		for i, v := range ns {
			if v != i+1 {
				r.outOfOrder++
			}
		}
		r.lost += perEntity - len(ns)
	}
	return r
}

// proc is one hookflow process of the chaos test.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan error
}

func startProc(t *testing.T, name, bin string, env []string, ready string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &proc{name: name, cmd: cmd, stderr: &syncBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	require.NoError(t, cmd.Start())
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	up := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), ready) {
				once.Do(func() { close(up) })
			}
		}
	}()
	select {
	case <-up:
	case err := <-p.exited:
		t.Fatalf("%s exited before it was ready: %v\n%s", name, err, p.stderr.String())
	case <-time.After(3 * time.Minute):
		t.Fatalf("%s not ready after 3 minutes\n%s", name, p.stderr.String())
	}
	return p
}

func (p *proc) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
	<-p.exited
}

func (p *proc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not stop within 60 s of SIGTERM", p.name)
	}
}
