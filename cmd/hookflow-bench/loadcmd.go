package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"time"
)

// loadCmd is the `load` subcommand: the benchmark's load generator against
// any ingress URL, for profiling a running binary (docs/benchmarks.md):
//
//	hookflow-bench load --url URL --secret S [--rate 1000 | --concurrency 64] [--duration 20s] [--size 8192] [--payload prose|full] [--examples INDEX]
func loadCmd(args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	url := fs.String("url", "", "webhook URL of a GitHub integration")
	secret := fs.String("secret", "", "the integration's secret")
	rate := fs.Int("rate", 0, "requests per second, open loop (0: closed loop at --concurrency)")
	conc := fs.Int("concurrency", 64, "closed loop: concurrent requests")
	d := fs.Duration("duration", 20*time.Second, "how long")
	size := fs.Int("size", bodySize, "body size in bytes (the probot phase uses 22528)")
	shapeName := fs.String("payload", shapeProse.name, "what fills the body: prose (a long description) or full (every object of a real delivery in full; at least 21.6 KB)")
	examples := fs.String("examples", "", "post GitHub's payload examples in turn instead: the path of @octokit/webhooks-examples' api.github.com/index.json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *url == "" || *secret == "" {
		return fmt.Errorf("--url and --secret are required")
	}
	i := slices.IndexFunc(payloadShapes, func(p *payloadShape) bool { return p.name == *shapeName })
	if i < 0 {
		return fmt.Errorf("--payload %q: want prose or full", *shapeName)
	}
	var (
		ds  []*delivery
		err error
	)
	if *examples != "" {
		ds, err = loadExamples(*examples, []byte(*secret))
	} else {
		var d *delivery
		d, err = signedOfSize("bench", "load", 1, *size, payloadShapes[i], []byte(*secret))
		ds = []*delivery{d}
	}
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	send := roundRobin(newPoster(*url), ds)
	var s *stats
	if *rate > 0 {
		s = openLoop(ctx, *rate, *d, send)
	} else {
		s = closedLoop(ctx, *conc, 0, *d, send)
	}
	fmt.Printf("%.0f req/s  p50 %s  p95 %s  p99 %s  max %s  %s\n", s.rps(), fmtMs(s.pct(50)), fmtMs(s.pct(95)), fmtMs(s.pct(99)), fmtMs(s.pct(100)), s.statusSummary())
	return nil
}
