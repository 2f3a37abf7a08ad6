package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// row is one line of the table: a Hookflow figure, its baseline measured
// in the same run, and Hookflow ÷ baseline.
type row struct {
	bench, metric, hookflow, baseline, ratio string
}

// goal is one of issue 5's goals, judged by this run.
type goal struct {
	name string
	// ratio goals compare with a baseline; the others are absolute values.
	ratio bool
	got   float64
	// target is the bound; atLeast says whether got must reach it (else
	// stay under it).
	target  float64
	atLeast bool
	// why explains a miss: where the time or memory goes, and which
	// profile shows it.
	why string
}

func (g goal) met() bool {
	if g.atLeast {
		return g.got >= g.target
	}
	return g.got <= g.target
}

// line is the goal's machine-readable line.
func (g goal) line() string {
	kind, met := "value", "no"
	if g.ratio {
		kind = "ratio"
	}
	if g.met() {
		met = "yes"
	}
	return fmt.Sprintf("goal %s: %s=%s target=%s met=%s", g.name, kind, num(g.got), num(g.target), met)
}

// shortfall says by how much a missed goal is missed.
func (g goal) shortfall() string {
	if g.atLeast {
		return fmt.Sprintf("%s against a target of at least %s: %.0f%% short", num(g.got), num(g.target), 100*(1-g.got/g.target))
	}
	return fmt.Sprintf("%s against a target of at most %s: %.0f%% over", num(g.got), num(g.target), 100*(g.got/g.target-1))
}

func num(f float64) string {
	switch {
	case f >= 100:
		return fmt.Sprintf("%.0f", f)
	case f >= 10:
		return fmt.Sprintf("%.1f", f)
	default:
		return fmt.Sprintf("%.2f", f)
	}
}

// report collects what the phases measured.
type report struct {
	opts      options
	started   time.Time
	loadStart string
	rows      []row
	goals     []goal
	notes     []string
	profiles  []string
	failures  []string
	took      time.Duration
}

func newReport(o options) *report {
	return &report{opts: o, started: time.Now(), loadStart: loadavg()}
}

func (r *report) add(bench, metric, hookflow, baseline, ratio string) {
	r.rows = append(r.rows, row{bench, metric, hookflow, baseline, ratio})
}

func (r *report) goal(g goal) { r.goals = append(r.goals, g) }

// note adds a paragraph to the report's method notes.
func (r *report) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

func (r *report) failure(phase string, err error) {
	r.failures = append(r.failures, fmt.Sprintf("%s: %v", phase, err))
}

func (r *report) printTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BENCHMARK\tMETRIC\tHOOKFLOW\tBASELINE\tRATIO")
	for _, x := range r.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", x.bench, x.metric, x.hookflow, x.baseline, x.ratio)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, g := range r.goals {
		fmt.Fprintln(w, g.line())
	}
	for _, f := range r.failures {
		fmt.Fprintln(w, "FAILED", f)
	}
}

func (r *report) markdown() string {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Benchmarks\n\n")
	p("Written by `make bench` (`cmd/hookflow-bench`); do not edit by hand. What each benchmark does,\n")
	p("how \"applied\" is measured and how to profile: [docs/benchmarks.md](docs/benchmarks.md).\n")
	p("Every Hookflow figure sits next to its baseline, measured in the same run on the same machine.\n\n")
	p("| | |\n|---|---|\n")
	p("| run | %s, took %s |\n", r.started.UTC().Format("2006-01-02 15:04 MST"), r.took.Round(time.Second))
	p("| commit | `%s` |\n", gitDescribe())
	p("| machine | %s/%s, %d CPUs, %s, Go %s |\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), memTotal(), strings.TrimPrefix(runtime.Version(), "go"))
	p("| load average | %s at the start, %s at the end (other work on the machine inflates every figure, both sides alike) |\n", r.loadStart, loadavg())
	o := r.opts
	p("| flags | `--duration %s --concurrency %d --rate %d --rate-duration %s --events %d --hot-ratio %d --e2e-concurrency %d --journal-duration %s --scale-latency %s --scale-events %d --hot-duration %s` |\n\n",
		o.ackDuration, o.concurrency, o.rate, o.rateDuration, o.events, o.hotRatio, o.e2eConc, o.journalDur, o.scaleRTT, o.scaleEvents, o.hotDuration)

	p("## Results\n\n")
	p("| benchmark | metric | Hookflow | baseline | ratio |\n|---|---|---:|---:|---:|\n")
	for _, x := range r.rows {
		p("| %s | %s | %s | %s | %s |\n", x.bench, x.metric, x.hookflow, x.baseline, x.ratio)
	}
	p("\n## Goals\n\n```text\n")
	for _, g := range r.goals {
		p("%s\n", g.line())
	}
	p("```\n\n")
	var missed []goal
	for _, g := range r.goals {
		if !g.met() {
			missed = append(missed, g)
		}
	}
	if len(missed) > 0 {
		p("### Missed goals\n\n")
		for _, g := range missed {
			p("- **%s**: %s. %s\n", g.name, g.shortfall(), g.why)
		}
		p("\n")
	}
	if len(r.failures) > 0 {
		p("### Phases that failed\n\n")
		for _, f := range r.failures {
			p("- %s\n", f)
		}
		p("\n")
	}
	if len(r.notes) > 0 {
		p("## How these were measured\n\n")
		for _, n := range r.notes {
			p("%s\n\n", n)
		}
	}
	if len(r.profiles) > 0 {
		p("## Profiles\n\n")
		for _, s := range r.profiles {
			p("%s\n\n", s)
		}
	}
	return b.String()
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "? RAM"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kb int64
			fmt.Sscan(v, &kb)
			return fmt.Sprintf("%.0f GiB RAM", float64(kb)/(1<<20))
		}
	}
	return "? RAM"
}

func gitDescribe() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// Formatting of figures.

func fmtRate(f float64, unit string) string { return fmt.Sprintf("%s %s", thousands(f), unit) }

func thousands(f float64) string {
	s := fmt.Sprintf("%.0f", f)
	if f < 100 {
		s = fmt.Sprintf("%.1f", f)
		return s
	}
	var out []byte
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	return string(out)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fmtMs(d time.Duration) string { return fmt.Sprintf("%.2f ms", ms(d)) }

func fmtSec(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func fmtMiB(b int64) string { return fmt.Sprintf("%.0f MiB", mib(b)) }

func ratio(a, b float64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}
