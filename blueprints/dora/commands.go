package dora

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/hookflow/hookflow/blueprints"
)

// Commands are `hookflow dora report` and `hookflow dora prune`, over the
// running server's admin API.
var Commands = []blueprints.Command{
	{
		Name:  "report",
		Short: "Print the DORA metrics per repository and environment over a window: [--repo R] [--env E] [--since 30d] [--until T]",
		Flags: func(f *pflag.FlagSet) {
			f.String("repo", "", "one repository (default: every one)")
			f.String("env", "", "one environment, e.g. production (default: every one)")
			f.String("since", "30d", "start of the window: days (30d), a duration (36h) or an RFC 3339 time")
			f.String("until", "", "end of the window, as --since (default: now)")
		},
		Run: runReport,
	},
	{
		Name:  "prune",
		Short: "Remove DORA records uploaded by mistake: --batch ID | --repo R [--since T] [--dry-run]",
		Flags: func(f *pflag.FlagSet) {
			f.String("batch", "", "the batch_id of an upload: every record it last wrote")
			f.String("repo", "", "a repository: its records (with --since, those finished or created since then)")
			f.String("since", "", "with --repo: only records from this time on (days, a duration or an RFC 3339 time)")
			f.Bool("dry-run", false, "count what would be removed, remove nothing")
		},
		Run: runPrune,
	},
}

// Report is the answer of the report, as the server sends it; nil
// pointers are metrics without data.
type Report struct {
	Since        time.Time `json:"since"`
	Until        time.Time `json:"until"`
	Repositories []struct {
		Repo                       string   `json:"repo"`
		Environment                string   `json:"environment"`
		Deployments                int      `json:"deployments"`
		FailedDeployments          int      `json:"failed_deployments"`
		Incidents                  int      `json:"incidents"`
		DeploymentFrequencyPerDay  float64  `json:"deployment_frequency_per_day"`
		LeadTimeMedianSeconds      *float64 `json:"lead_time_median_seconds"`
		LeadTimeP90Seconds         *float64 `json:"lead_time_p90_seconds"`
		ChangeFailureRate          *float64 `json:"change_failure_rate"`
		TimeToRestoreMedianSeconds *float64 `json:"time_to_restore_median_seconds"`
	} `json:"repositories"`
}

func flagTime(env blueprints.CommandEnv, name string, now time.Time) (time.Time, error) {
	v, _ := env.Flags.GetString(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := blueprints.ParseTime(v, now)
	if err != nil {
		return time.Time{}, fmt.Errorf("--%s: %w", name, err)
	}
	return t, nil
}

func runReport(ctx context.Context, env blueprints.CommandEnv) error {
	now := time.Now().UTC()
	until, err := flagTime(env, "until", now)
	if err != nil {
		return err
	}
	if until.IsZero() {
		until = now
	}
	// --since counts back from --until's time when it is a duration.
	since, err := flagTime(env, "since", until)
	if err != nil {
		return err
	}
	if since.IsZero() {
		since = until.AddDate(0, 0, -30)
	}
	q := url.Values{"since": {since.UTC().Format(time.RFC3339Nano)}, "until": {until.UTC().Format(time.RFC3339Nano)}}
	if v, _ := env.Flags.GetString("repo"); v != "" {
		q.Set("repo", v)
	}
	if v, _ := env.Flags.GetString("env"); v != "" {
		q.Set("env", v)
	}
	var raw json.RawMessage
	if err := env.Admin(ctx, http.MethodGet, "/dora/report?"+q.Encode(), nil, &raw); err != nil {
		return err
	}
	if env.Output == "json" {
		_, err := fmt.Fprintln(env.Out, string(raw))
		return err
	}
	var r Report
	if err := json.Unmarshal(raw, &r); err != nil {
		return err
	}
	return printReport(env, r)
}

func printReport(env blueprints.CommandEnv, r Report) error {
	fmt.Fprintf(env.Out, "window %s – %s\n", r.Since.Format(time.RFC3339), r.Until.Format(time.RFC3339))
	if len(r.Repositories) == 0 {
		_, err := fmt.Fprintln(env.Out, "no deployments or incidents in the window")
		return err
	}
	tw := tabwriter.NewWriter(env.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REPO\tENV\tDEPLOYS\tFAILED\tINCIDENTS\tPER DAY\tPER WEEK\tLEAD MEDIAN\tLEAD P90\tCFR\tRESTORE MEDIAN")
	for _, m := range r.Repositories {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.2f\t%.2f\t%s\t%s\t%s\t%s\n", m.Repo, m.Environment, m.Deployments, m.FailedDeployments, m.Incidents,
			m.DeploymentFrequencyPerDay, m.DeploymentFrequencyPerDay*7, duration(m.LeadTimeMedianSeconds), duration(m.LeadTimeP90Seconds),
			percent(m.ChangeFailureRate), duration(m.TimeToRestoreMedianSeconds))
	}
	return tw.Flush()
}

func duration(s *float64) string {
	if s == nil {
		return "-"
	}
	return (time.Duration(*s * float64(time.Second))).Round(time.Second).String()
}

func percent(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v*100, 'f', 1, 64) + "%"
}

// PruneRequest is the body of POST /admin/v1/dora/prune.
type PruneRequest struct {
	Batch  string    `json:"batch,omitempty"`
	Repo   string    `json:"repo,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	DryRun bool      `json:"dry_run,omitempty"`
}

func runPrune(ctx context.Context, env blueprints.CommandEnv) error {
	var req PruneRequest
	req.Batch, _ = env.Flags.GetString("batch")
	req.Repo, _ = env.Flags.GetString("repo")
	req.DryRun, _ = env.Flags.GetBool("dry-run")
	if (req.Batch == "") == (req.Repo == "") {
		return errors.New("give exactly one of --batch and --repo")
	}
	since, err := flagTime(env, "since", time.Now().UTC())
	if err != nil {
		return err
	}
	if !since.IsZero() && req.Repo == "" {
		return errors.New("--since goes with --repo")
	}
	req.Since = since
	var out struct {
		Deployments int  `json:"deployments"`
		Incidents   int  `json:"incidents"`
		DryRun      bool `json:"dry_run,omitempty"`
	}
	if err := env.Admin(ctx, http.MethodPost, "/dora/prune", req, &out); err != nil {
		return err
	}
	if env.Output == "json" {
		b, _ := json.Marshal(out)
		_, err := fmt.Fprintln(env.Out, string(b))
		return err
	}
	verb := "removed"
	if out.DryRun {
		verb = "would remove"
	}
	_, err = fmt.Fprintf(env.Out, "%s %d deployments and %d incidents\n", verb, out.Deployments, out.Incidents)
	return err
}
