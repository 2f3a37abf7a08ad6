// Command hookflow-bench measures Hookflow against its baselines in one run,
// prints one table and writes BENCHMARKS.md. Every figure is measured next
// to a baseline in the same run, on the same machine, so that the ratios
// hold even when the machine is shared. docs/benchmarks.md says what each
// benchmark does and how to profile.
//
// The ingress and `hookflow dev` are measured as real child processes
// (--bin); the bare baselines run as a child process of this program too
// (the hidden serve-bare subcommand), so that the load generator, in this
// process, costs both sides the same.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// options are the command-line flags.
type options struct {
	bin          string
	ingressBin   string
	out          string
	workDir      string
	profileDir   string
	only         string
	keep         bool
	ackDuration  time.Duration
	concurrency  int
	rate         int
	rateDuration time.Duration
	events       int
	hotRatio     int
	e2eConc      int
	drainTimeout time.Duration
	journalDur   time.Duration
	postgres     string
	scaleRTT     time.Duration
	scaleEvents  int
	hotDuration  time.Duration
	nodeCache    string
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve-bare" {
		if err := serveBare(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "serve-bare:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "load" {
		if err := loadCmd(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hookflow-bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("hookflow-bench", flag.ContinueOnError)
	fs.StringVar(&o.bin, "bin", "bin/hookflow", "the hookflow binary under test")
	fs.StringVar(&o.ingressBin, "ingress-bin", "", "the hookflow binary whose `hookflow ingress` the ingress benchmarks run (default: --bin); production images build it with -tags nodevserver")
	fs.StringVar(&o.out, "out", "BENCHMARKS.md", "report to write (empty: none)")
	fs.StringVar(&o.workDir, "work-dir", ".bench", "parent of the temporary data directories (on the disk the journal would use: fsync cost matters)")
	fs.StringVar(&o.profileDir, "profile", "", "write CPU and allocation profiles of the in-process ingress handler and journal to this directory")
	fs.StringVar(&o.only, "only", "", "comma-separated subset of: journal,poison,scale,hot,ack,probot,rate,memory,e2e (empty: all)")
	fs.BoolVar(&o.keep, "keep", false, "keep the data directories and logs of the child processes")
	fs.DurationVar(&o.ackDuration, "duration", 10*time.Second, "ingress ack: measured duration per side")
	fs.IntVar(&o.concurrency, "concurrency", 64, "ingress ack: concurrent requests")
	fs.IntVar(&o.rate, "rate", 1000, "fixed-rate load: requests per second (open loop)")
	fs.DurationVar(&o.rateDuration, "rate-duration", 20*time.Second, "fixed-rate load: duration per side")
	fs.IntVar(&o.events, "events", 2000, "end to end: N events per run")
	fs.IntVar(&o.hotRatio, "hot-ratio", 50, "end to end: events per entity in the hot run (K = N/hot-ratio)")
	fs.IntVar(&o.e2eConc, "e2e-concurrency", 16, "end to end: concurrent SignalWithStart calls of the raw driver (the forwarder's default Concurrency)")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", 4*time.Minute, "end to end: give up on a run after this long")
	fs.DurationVar(&o.journalDur, "journal-duration", 5*time.Second, "journal: measured duration per side")
	fs.StringVar(&o.postgres, "postgres", os.Getenv("HOOKFLOW_TEST_POSTGRES"), "scale: PostgreSQL server for the partitioned-forwarding benchmark, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable (default $HOOKFLOW_TEST_POSTGRES; empty: skipped); each run uses a schema of its own, dropped after")
	fs.DurationVar(&o.scaleRTT, "scale-latency", 50*time.Millisecond, "scale: latency of every call to the Temporal stand-in (a remote cluster)")
	fs.IntVar(&o.scaleEvents, "scale-events", 4000, "scale: entries to forward per run, one per workflow")
	fs.DurationVar(&o.hotDuration, "hot-duration", 30*time.Second, "hot: how long one entity receives 100 events/s")
	cache, _ := os.UserCacheDir()
	fs.StringVar(&o.nodeCache, "node-cache", filepath.Join(cache, "hookflow-bench", "probot"), "probot: where "+octokitWebhooks+" is installed with npm (once) for the Probot comparison")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.events < o.hotRatio || o.hotRatio < 1 {
		return o, errors.New("--events must be at least --hot-ratio")
	}
	return o, nil
}

func (o options) enabled(name string) bool {
	if o.only == "" {
		return true
	}
	for _, s := range strings.Split(o.only, ",") {
		if strings.TrimSpace(s) == name {
			return true
		}
	}
	return false
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	if o.enabled("ack") || o.enabled("probot") || o.enabled("rate") || o.enabled("memory") || o.enabled("e2e") {
		if _, err := os.Stat(o.bin); err != nil {
			return fmt.Errorf("--bin %s: %w (run `go build -o bin/hookflow ./cmd/hookflow` first)", o.bin, err)
		}
		if o.bin, err = filepath.Abs(o.bin); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(o.workDir, 0o700); err != nil {
		return err
	}
	work, err := os.MkdirTemp(o.workDir, "run-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(work)
	}
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return err
		}
	}
	// Progress goes to stderr; the table to stdout.
	progress := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	b := &bench{opts: o, work: work, log: progress, rep: newReport(o)}

	started := time.Now()
	phases := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"journal", b.journal},
		{"poison", b.poison},
		{"scale", b.scale},
		{"hot", b.hot},
		{"ack", b.ingressAck},
		{"probot", b.probot},
		{"rate", b.ingressRate},
		{"memory", b.devMemory},
		{"e2e", b.endToEnd},
	}
	for _, p := range phases {
		if !o.enabled(p.name) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		t := time.Now()
		progress.Info("phase start", "phase", p.name)
		if err := p.fn(ctx); err != nil {
			b.rep.failure(p.name, err)
			progress.Error("phase failed", "phase", p.name, "error", err)
			continue
		}
		progress.Info("phase done", "phase", p.name, "took", time.Since(t).Round(time.Millisecond))
	}
	b.rep.took = time.Since(started)
	b.rep.printTable(stdout)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(b.rep.markdown()), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nwrote %s\n", o.out)
	}
	if len(b.rep.failures) > 0 {
		return fmt.Errorf("%d phase(s) failed", len(b.rep.failures))
	}
	return nil
}

// bench carries what every phase needs.
type bench struct {
	opts options
	work string
	log  *slog.Logger
	rep  *report
}

// dir returns a fresh directory under the run's work directory.
func (b *bench) dir(name string) (string, error) {
	return os.MkdirTemp(b.work, name+"-")
}
