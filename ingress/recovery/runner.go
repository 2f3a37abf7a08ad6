package recovery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"time"

	"github.com/hookflow/hookflow/ingress/integrations"
)

// IntegrationLister lists integrations (an *integrations.Store).
type IntegrationLister interface {
	List(ctx context.Context) ([]integrations.Integration, error)
}

// SenderFactory makes an integration's Sender (a *Senders).
type SenderFactory interface {
	For(in integrations.Integration, o Override) (Sender, error)
}

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	// Integrations are read every Tick; those with recover=auto are
	// recovered. Required.
	Integrations IntegrationLister
	// Journal tells which deliveries arrived. Required.
	Journal Journal
	// State keeps leases and high-water marks. Required.
	State *Store
	// Senders makes each integration's Sender. Required.
	Senders SenderFactory
	// Holder names this replica in leases. Empty means
	// <hostname>-<pid>-<random>.
	Holder string
	// Tick is how often the Runner looks for integrations whose interval
	// has passed. Zero means a minute.
	Tick time.Duration
	// Overlap is how far before the high-water mark a pass starts, for
	// deliveries the sender recorded late and clocks that disagree. Zero
	// means 15 minutes.
	Overlap time.Duration
	// LeaseTTL is how long a lease lasts unless renewed; a pass renews
	// it every third of that. Zero means 5 minutes.
	LeaseTTL time.Duration
	// StartGap: the first pass after a start is skipped when a pass of
	// any replica started less than this long ago, so that replicas
	// started together (a rolling deploy) do not all make one. Zero
	// means a minute.
	StartGap time.Duration
	// MaxWait is Pass.MaxWait. Zero means DefaultMaxWait.
	MaxWait time.Duration
	// Metrics, when set, are updated after each pass.
	Metrics *Metrics
	// Logger gets a line per pass. Nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// OnPass, when set, is called after each pass this replica makes.
	OnPass func(integration string, r Report, err error)
}

// Runner recovers every integration with the option recover=auto: when it
// starts, then every recover_interval, since the integration's high-water
// mark, one replica at a time.
type Runner struct {
	cfg RunnerConfig
	// started holds the integrations this Runner has recovered since it
	// started: the first pass of each ignores the interval.
	started map[string]bool
}

// NewRunner validates cfg and returns a Runner. It does no I/O.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if cfg.Integrations == nil || cfg.Journal == nil || cfg.State == nil || cfg.Senders == nil {
		return nil, errors.New("recovery: Integrations, Journal, State and Senders are required")
	}
	if cfg.Holder == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		cfg.Holder = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Minute
	}
	if cfg.Overlap <= 0 {
		cfg.Overlap = 15 * time.Minute
	}
	if cfg.StartGap <= 0 {
		cfg.StartGap = time.Minute
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Runner{cfg: cfg, started: map[string]bool{}}, nil
}

// Run recovers until ctx is done: at once, then every Tick for the
// integrations that are due. It returns nil when ctx is done.
func (r *Runner) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.Tick)
	defer t.Stop()
	for {
		r.tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (r *Runner) tick(ctx context.Context) {
	list, err := r.cfg.Integrations.List(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.cfg.Logger.Warn("recover: list integrations", "error", err)
		}
		return
	}
	oldest := map[string]time.Time{}
	for _, in := range list {
		if ctx.Err() != nil {
			return
		}
		set, err := ReadSettings(in)
		if err != nil {
			r.cfg.Logger.Warn("recover: integration options", "integration", in.ID, "error", err)
			continue
		}
		if !set.Auto {
			continue
		}
		st := r.recover(ctx, in, set)
		if !st.LastSuccess.IsZero() {
			if o, ok := oldest[in.Source]; !ok || st.LastSuccess.Before(o) {
				oldest[in.Source] = st.LastSuccess
			}
		}
	}
	for source, t := range oldest {
		r.cfg.Metrics.setLastSuccess(source, float64(t.UnixNano())/1e9)
	}
}

// recover makes a pass over in when it is due and this replica gets the
// lease; it returns the integration's state as it then stands.
func (r *Runner) recover(ctx context.Context, in integrations.Integration, set Settings) State {
	log := r.cfg.Logger.With("integration", in.ID, "source", in.Source)
	now := r.cfg.Now()
	gap := set.Interval
	if !r.started[in.ID] {
		gap = min(gap, r.cfg.StartGap) // the first pass after a start catches up at once
	}
	st, ok, err := r.cfg.State.Acquire(ctx, in.ID, r.cfg.Holder, now, r.cfg.LeaseTTL, gap)
	if err != nil {
		log.Warn("recover: lease", "error", err)
		return st
	}
	if !ok {
		return st // not due, or another replica is on it
	}
	r.started[in.ID] = true
	sender, err := r.cfg.Senders.For(in, Override{})
	if err != nil {
		log.Warn("recover: pass failed", "error", err)
		r.cfg.Metrics.pass(in.Source, 0, 0, err)
		_ = r.cfg.State.Finish(ctx, in.ID, r.cfg.Holder, now, time.Time{}, err)
		return st
	}
	retention := sender.Retention()
	since := now.Add(-retention)
	if !st.HighWater.IsZero() {
		since = later(since, st.HighWater.Add(-r.cfg.Overlap))
	} else {
		since = later(since, in.CreatedAt.Add(-r.cfg.Overlap))
	}
	r.warnRetention(log, sender, st, in, now)

	passCtx, cancel := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		r.renew(passCtx, cancel, in.ID)
	}()
	started := time.Now()
	rep, err := Recover(passCtx, Pass{Integration: in.ID, Sender: sender, Journal: r.cfg.Journal, Since: since, Until: now,
		MaxWait: r.cfg.MaxWait, Logger: log})
	cancel()
	<-renewed

	highWater := now
	passErr := err
	if err != nil {
		highWater = time.Time{}
	} else if len(rep.Failed) > 0 {
		passErr = fmt.Errorf("%d of %d redelivery requests failed, the first: %s", len(rep.Failed), len(rep.Failed)+rep.Requested, rep.Failed[0].Error)
		highWater = firstFailed(rep)
	}
	r.cfg.Metrics.pass(sender.Source(), rep.Requested, len(rep.Failed), err)
	fin := r.cfg.Now()
	if ferr := r.cfg.State.Finish(context.WithoutCancel(ctx), in.ID, r.cfg.Holder, fin, highWater, passErr); ferr != nil {
		log.Warn("recover: record the pass", "error", ferr)
	}
	attrs := []any{"hook", sender.Hook(), "since", since.UTC().Format(time.RFC3339), "until", now.UTC().Format(time.RFC3339),
		"listed", rep.Listed, "in_journal", rep.InJournal, "requested", rep.Requested, "failed", len(rep.Failed),
		"by_event", rep.ByEvent, "duration", time.Since(started).Round(time.Millisecond).String()}
	if passErr != nil {
		log.Warn("recover pass failed", append(attrs, "error", passErr.Error())...)
	} else {
		log.Info("recover pass", attrs...)
	}
	if r.cfg.OnPass != nil {
		r.cfg.OnPass(in.ID, rep, err)
	}
	if after, gerr := r.cfg.State.Get(ctx, in.ID); gerr == nil {
		return after
	}
	return st
}

// renew keeps the lease until ctx is done; losing it cancels the pass.
func (r *Runner) renew(ctx context.Context, cancel context.CancelFunc, integration string) {
	t := time.NewTicker(r.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := r.cfg.State.Renew(ctx, integration, r.cfg.Holder, r.cfg.Now(), r.cfg.LeaseTTL); err != nil {
			if ctx.Err() == nil {
				r.cfg.Logger.Warn("recover: lease renewal failed; stopping the pass", "integration", integration, "error", err)
				cancel()
			}
			return
		}
	}
}

// warnRetention calls out an outage that approaches, or has passed, the
// length of time the sender keeps deliveries.
func (r *Runner) warnRetention(log *slog.Logger, s Sender, st State, in integrations.Integration, now time.Time) {
	keep := s.Retention()
	covered := st.HighWater
	if covered.IsZero() {
		if st.LastError == "" {
			return // the first pass
		}
		covered = in.CreatedAt
	}
	behind := now.Sub(covered)
	switch {
	case behind > keep:
		log.Error("recover: deliveries may be lost for good: the sender keeps them "+days(keep)+" and recovery last covered "+covered.UTC().Format(time.RFC3339),
			"behind", behind.Round(time.Minute).String(), "lost_before", now.Add(-keep).UTC().Format(time.RFC3339), "last_error", st.LastError)
	case behind > keep/2:
		log.Warn("recover: the outage approaches the sender's retention of "+days(keep)+"; deliveries older than that are lost unless recovery succeeds",
			"behind", behind.Round(time.Minute).String(), "first_loss_at", covered.Add(keep).UTC().Format(time.RFC3339), "last_error", st.LastError)
	}
}

func days(d time.Duration) string {
	return fmt.Sprintf("%g days", math.Round(d.Hours()/24*10)/10)
}

// firstFailed is the time of the earliest delivery whose redelivery
// failed: the high-water mark stops there, so the next pass retries it.
func firstFailed(rep Report) time.Time {
	failed := map[string]bool{}
	for _, f := range rep.Failed {
		if f.GUID != "" { // a record without a GUID can never be recovered: it must not hold the mark back
			failed[f.GUID] = true
		}
	}
	for _, d := range rep.Missing { // oldest first
		if failed[d.GUID] {
			return d.At
		}
	}
	return rep.Until
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
