package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// probotScript is Probot's receiving path on Node: see probot.mjs.
//
//go:embed probot.mjs
var probotScript []byte

// octokitWebhooks is the package Probot receives webhooks with, at the
// version the comparison of issue 18 names.
const octokitWebhooks = "@octokit/webhooks@14.2.0"

// probotBodySize is the comparison's body: a 22 KB pull_request.
const probotBodySize = 22 << 10

// installOctokit installs octokitWebhooks and octokitExamples into dir
// (once: they stay for the next run) and writes the script beside them;
// it returns the script's path.
func installOctokit(ctx context.Context, dir string) (string, error) {
	if _, err := exec.LookPath("node"); err != nil {
		return "", errors.New("node is not installed")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return "", errors.New("npm is not installed")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if !installed(dir, octokitWebhooks) || !installed(dir, octokitExamples) {
		if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"hookflow-bench-probot","private":true,"type":"module"}`+"\n"), 0o644); err != nil {
			return "", err
		}
		ictx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ictx, "npm", "install", "--no-audit", "--no-fund", "--prefix", dir, octokitWebhooks, octokitExamples)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("npm install %s %s: %w: %s", octokitWebhooks, octokitExamples, err, out)
		}
	}
	script := filepath.Join(dir, "probot.mjs")
	return script, os.WriteFile(script, probotScript, 0o644)
}

// installed reports whether dir's node_modules holds pkg ("name@version")
// at its version.
func installed(dir, pkg string) bool {
	at := strings.LastIndex(pkg, "@")
	var p struct{ Version string }
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", filepath.FromSlash(pkg[:at]), "package.json"))
	return err == nil && json.Unmarshal(b, &p) == nil && p.Version == pkg[at+1:]
}

// probot: Hookflow's ingress (the production build, SQLite journal,
// fsync'd group commit, forwarding off) against Probot's receiving path
// (@octokit/webhooks' Node middleware with a trivial handler, storing
// nothing), the same signed 22 KB pull_request bodies (a delivery as
// GitHub sends it, and one that is mostly description), closed loop at
// --concurrency, in two interleaved halves. Skipped, with a row saying
// why, when Node.js or npm is missing.
func (b *bench) probot(ctx context.Context) error {
	name := func(shape *payloadShape) string {
		return fmt.Sprintf("receiving path vs Probot (22 KB pull_request, %s, c=%d, %s)", shape.label, b.opts.concurrency, b.opts.ackDuration)
	}
	script, err := installOctokit(ctx, b.opts.nodeCache)
	if err != nil {
		b.rep.add(name(shapeFull), "requests/s", "skipped: "+err.Error(), "", "")
		b.log.Warn("probot comparison skipped", "error", err)
		return nil
	}
	secret := randomSecret()
	dir, err := b.dir("probot")
	if err != nil {
		return err
	}
	node, err := startChildEnv(ctx, "probot (node)", filepath.Join(dir, "node.log"), "listening on http://", []string{"SECRET=" + string(secret)},
		"node", script)
	if err != nil {
		return err
	}
	defer node.stop()
	pb := &server{proc: node, hookURL: node.url() + "/hooks/probot"}
	hf, err := b.startIngress(ctx, secret)
	if err != nil {
		return err
	}
	defer hf.proc.stop()

	// The goal is judged on deliveries as GitHub sends them (every
	// object in full); the long description, which compresses least, is
	// measured beside it.
	for _, shape := range payloadShapes {
		d, err := signedOfSize("bench", "probot", 1, probotBodySize, shape, secret)
		if err != nil {
			return err
		}
		ps, hs := b.alternate(ctx, []*delivery{d}, "probot-"+shape.name, pb, hf)
		b.compared(name(shape), ps, hs)
		if shape == shapeFull {
			b.rep.goal(probotGoal("ingress_vs_probot", ps, hs, "every Hookflow answer waits for its group's fsync'd commit in the single SQLite writer, which Probot does not do "+
				"(Probot stores nothing). On 3 December this ratio measured 0.7-1.0 with the writer on database/sql and 1.4-1.5 "+
				"after it moved to SQLite's C API, while both sides' own rates moved from run to run on this shared machine "+
				"(Probot's by up to 70%). See the ack goal for what was done and what was tried"))
		}
	}
	// Payloads written by others: every GitHub.com example the Octokit
	// project keeps, each with its own event type, in turn.
	examples, err := loadExamples(filepath.Join(b.opts.nodeCache, examplesIndex), secret)
	if err != nil {
		return err
	}
	en := fmt.Sprintf("receiving path vs Probot (GitHub's %d payload examples in turn, mean %.1f KB, c=%d, %s)",
		len(examples), float64(meanSize(examples))/1000, b.opts.concurrency, b.opts.ackDuration)
	ps, hs := b.alternate(ctx, examples, "probot-examples", pb, hf)
	b.compared(en, ps, hs)
	b.rep.goal(probotGoal("ingress_vs_probot_examples", ps, hs, "at a mean of about 10 KB per body the fixed cost of a delivery weighs most, "+
		"and the journal's one writer sets the pace (busy ~80% at c=64, groups of ~18): each delivery's random GUID lands on its own leaf "+
		"page of the dedup index, one more 4 KiB WAL frame, checkpoint write and fsync share per delivery, which a counter as delivery ID "+
		"hid until 4 December (1.34x with counters, 0.80x with GUIDs, 0.83-1.04x over five runs after the fixes of that day; see docs/benchmarks.md)"))
	hfMem, _ := readMemory(hf.proc.pid())
	pbMem, _ := readMemory(node.pid())
	b.rep.add(name(shapeFull), "peak RSS over both payloads (VmHWM)", fmtMiB(hfMem.hwm), fmtMiB(pbMem.hwm), ratio(float64(hfMem.hwm), float64(pbMem.hwm)))
	b.rep.note("**Probot comparison.** Signed 22 KB GitHub `pull_request` deliveries, %d keep-alive connections, closed loop, "+
		"%s per side and payload in two interleaved halves. Three workloads: *every object in full* is a synchronize delivery as "+
		"GitHub sends it (the author, assignee, reviewer, both ends' users and repositories, the repository and the sender with "+
		"all their URL fields, built from GitHub's documented payload with values of our own) with a 1 KB description: most "+
		"real deliveries look like this, and the goal is judged on it; *long description* is the synchronize example trimmed "+
		"to the fields routing reads with 21 KB of prose in `pull_request.body`, which compresses least (2-3x against about 7x). "+
		"Hookflow: the ingress of the production build (`--ingress-bin`), SQLite journal with fsync'd group commit, forwarding "+
		"off, as in the ack benchmark. Probot: `%s`'s `createNodeMiddleware` on Node %s with one trivial "+
		"handler for every event (`onAny`): it verifies the signature, parses the body and dispatches, storing nothing (installed once "+
		"into %s). *GitHub's payload examples* are every GitHub.com example of `%s` (GitHub's documented payloads, which "+
		"@octokit/webhooks is tested with), compacted as GitHub sends them, each posted with its own `X-GitHub-Event`, one "+
		"after the other; Hookflow answers those no blueprint routes 200 (ignored) after journaling them like the rest.",
		b.opts.concurrency, b.opts.ackDuration, octokitWebhooks, nodeVersion(), b.opts.nodeCache, octokitExamples)
	return nil
}

// compared adds the rows every Probot comparison has: the rates, the
// p99s and the errors.
func (b *bench) compared(name string, ps, hs *stats) {
	b.rep.add(name, "requests/s (Hookflow vs Probot)", fmtRate(hs.rps(), "req/s"), fmtRate(ps.rps(), "req/s"), ratio(hs.rps(), ps.rps()))
	b.rep.add(name, "p99", fmtMs(hs.pct(99)), fmtMs(ps.pct(99)), ratio(ms(hs.pct(99)), ms(ps.pct(99))))
	b.rep.add(name, "errors", strconv.Itoa(hs.errors), strconv.Itoa(ps.errors), "")
}

// probotGoal is the goal that Hookflow answers at least as many requests
// per second as Probot, with zero errors.
func probotGoal(name string, ps, hs *stats, why string) goal {
	g := goal{name: name, ratio: true, got: hs.rps() / ps.rps(), target: 1, atLeast: true, why: why}
	if hs.errors > 0 {
		g.got, g.why = 0, fmt.Sprintf("Hookflow answered with %d errors (%s)", hs.errors, hs.statusSummary())
	}
	return g
}

// alternate posts ds in turn to a and to hf at --concurrency, closed loop, for
// --duration on each side in two interleaved halves (a, hf, a, hf), so
// that a change in the machine's background load hits both alike.
func (b *bench) alternate(ctx context.Context, ds []*delivery, phase string, a, hf *server) (as, hs *stats) {
	half := b.opts.ackDuration / 2
	var aRuns, hfRuns []*stats
	for round := range 2 {
		for _, side := range []struct {
			srv  *server
			runs *[]*stats
			name string
		}{{a, &aRuns, "baseline"}, {hf, &hfRuns, "hf"}} {
			send := roundRobin(newPoster(side.srv.hookURL), ds)
			s := closedLoop(ctx, b.opts.concurrency, time.Second, half, send)
			*side.runs = append(*side.runs, s)
			b.log.Info(phase, "side", side.name, "round", round, "req/s", int(s.rps()), "p99", s.pct(99), "statuses", s.statusSummary())
		}
	}
	return mergeStats(aRuns), mergeStats(hfRuns)
}

func nodeVersion() string {
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		return "?"
	}
	return string(trimNL(out))
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
