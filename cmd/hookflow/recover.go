package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/recovery"
	"github.com/hookflow/hookflow/internal/timeflag"
)

func newRecoverCmd(g *globals) *cobra.Command {
	return newRecoverCmdEnv(g, os.Getenv)
}

func newRecoverCmdEnv(g *globals, getenv func(string) string) *cobra.Command {
	var (
		integration, since, until, hook, apiURL, journalURL, appID string
		dryRun                                                     bool
		maxWait, wait                                              time.Duration
	)
	cmd := &cobra.Command{
		Use:   "recover --integration ID [--since 72h] [--until T] [--dry-run] [--hook HOOK] [--api-url URL]",
		Short: "Ask the sender to redeliver every delivery it recorded that the journal lacks",
		Long: `List the deliveries GitHub (App, repository and organization hooks; GitHub.com keeps
them 3 days, GHES 7) or GitLab (project and group hooks, 7 days) recorded for the
integration's hook between --since and --until, find those whose delivery ID no journal
entry of the integration holds (an entry the ingress refused, 401 or 503, does not count),
and ask the sender to redeliver each, oldest first. Redeliveries arrive through the
ingress like any delivery; the journal deduplicates one that arrives twice.

The hook, the API root and the credential come from the integration's options
(recover_hook, recover_api_url, recover_credential, recover_app_id: see docs/senders.md);
--hook and --api-url override them. Credentials are read as the workers read them: the
token store (Vault, or <data-dir>/tokens.enc), then HOOKFLOW_GITHUB_TOKEN or
HOOKFLOW_GITLAB_TOKEN; the App's own hook uses a JWT signed with the key stored under
github-app/<app id>. The journal is read directly: --data-dir or --journal must name the
ingress's database.

Exits non-zero when listing fails (then nothing was requested) or any request failed.`,
		Example: `  hookflow recover --integration int_abc --since 72h --dry-run
  hookflow recover --integration int_abc --hook repos/acme/shop/hooks/1234 --output json
  hookflow recover --integration gl --hook projects/15/hooks/3 --api-url https://gitlab.example.com/api/v4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkOutput(); err != nil {
				return err
			}
			ctx := cmd.Context()
			now := time.Now()
			var from, to time.Time
			var err error
			if since != "" {
				if from, err = timeflag.ParseTime(since, now); err != nil {
					return fmt.Errorf("--since: %w", err)
				}
			}
			to = now
			if until != "" {
				if to, err = timeflag.ParseTime(until, now); err != nil {
					return fmt.Errorf("--until: %w", err)
				}
			}
			st, err := openStores(ctx, g.dataDir, cmp.Or(journalURL, getenv("HOOKFLOW_JOURNAL")))
			if err != nil {
				return err
			}
			defer st.Close()
			in, err := findIntegration(ctx, st.integrations, integration)
			if err != nil {
				return err
			}
			rec, _, err := recoveryStores(ctx, st)
			if err != nil {
				return err
			}
			senders := &recovery.Senders{
				Tokens:       recoveryTokens(g.dataDir, getenv),
				GitHubAPIURL: getenv("HOOKFLOW_GITHUB_API_URL"),
				GitHubAppID:  cmp.Or(appID, getenv("HOOKFLOW_GITHUB_APP_ID")),
			}
			sender, err := senders.For(in, recovery.Override{Hook: hook, APIURL: apiURL})
			if err != nil {
				return err
			}
			if from.IsZero() {
				from = now.Add(-sender.Retention())
			}
			if !to.After(from) {
				return fmt.Errorf("--until %s is not after --since %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
			}
			rep, err := recovery.Recover(ctx, recovery.Pass{Integration: in.ID, Sender: sender, Journal: rec, Since: from, Until: to,
				DryRun: dryRun, MaxWait: maxWait, Logger: g.logger()})
			if err != nil {
				return err
			}
			// Wait for the redeliveries, so that the journal holds them
			// when the command returns (and a run right after asks for
			// none again).
			arrived := map[string]bool{}
			if asked := rep.RequestedGUIDs(); len(asked) > 0 && wait > 0 {
				late, err := recovery.AwaitArrival(ctx, rec, in.ID, asked, wait, 0)
				if err != nil {
					return err
				}
				for _, id := range asked {
					arrived[id] = true
				}
				for _, id := range late {
					delete(arrived, id)
				}
				if len(late) > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "%d of %d redeliveries had not arrived after %s; the sender may still send them: run again later to check\n", len(late), len(asked), wait)
				}
			}
			if g.output == "json" {
				if err := printJSON(cmd, rep); err != nil {
					return err
				}
			} else if err := printRecovery(cmd, rep, arrived, wait > 0); err != nil {
				return err
			}
			if n := len(rep.Failed); n > 0 {
				return fmt.Errorf("%d of %d missing deliveries could not be requested (see failed)", n, n+rep.Requested)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&integration, "integration", "", "the integration's ID (or name)")
	f.StringVar(&since, "since", "", "from this long ago (72h, 3d) or this RFC 3339 time (default: as far back as the sender keeps deliveries)")
	f.StringVar(&until, "until", "", "up to this long ago or this RFC 3339 time (default: now)")
	f.BoolVar(&dryRun, "dry-run", false, "list and decide, request nothing")
	f.StringVar(&hook, "hook", "", "the sender's hook: app | repos/OWNER/REPO/hooks/ID | orgs/ORG/hooks/ID | projects/ID/hooks/ID | groups/ID/hooks/ID (default: the option recover_hook)")
	f.StringVar(&apiURL, "api-url", "", "the sender's REST API root, e.g. https://HOST/api/v3 or https://HOST/api/v4 (default: the option recover_api_url, HOOKFLOW_GITHUB_API_URL, api.github.com or gitlab.com)")
	f.StringVar(&journalURL, "journal", "", "the ingress's journal: sqlite://PATH (default <data-dir>/hookflow.db) or postgres://DSN (env HOOKFLOW_JOURNAL)")
	f.StringVar(&appID, "github-app-id", "", "the GitHub App whose hook is app (default: the option recover_app_id, HOOKFLOW_GITHUB_APP_ID)")
	f.DurationVar(&maxWait, "max-wait", recovery.DefaultMaxWait, "wait at most this long for a rate limit to reset; longer, and the call fails")
	f.DurationVar(&wait, "wait", 30*time.Second, "then wait up to this long for the redeliveries to arrive in the journal (0: do not wait)")
	_ = cmd.MarkFlagRequired("integration")
	return cmd
}

// findIntegration returns the integration with ID or name ref.
func findIntegration(ctx context.Context, store *integrations.Store, ref string) (integrations.Integration, error) {
	in, err := store.Get(ctx, ref)
	if err == nil {
		return in, nil
	}
	if !errors.Is(err, integrations.ErrNotFound) {
		return in, err
	}
	list, err := store.List(ctx)
	if err != nil {
		return integrations.Integration{}, err
	}
	for _, in := range list {
		if in.Name == ref {
			return in, nil
		}
	}
	return integrations.Integration{}, fmt.Errorf("no integration %q in this journal (hookflow integrations list shows them; --data-dir or --journal must name the ingress's database)", ref)
}

func printRecovery(cmd *cobra.Command, rep recovery.Report, arrived map[string]bool, waited bool) error {
	out := cmd.OutOrStdout()
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	verb := "requested"
	if rep.DryRun {
		verb = "to request"
	}
	events := make([]string, 0, len(rep.ByEvent))
	for ev, n := range rep.ByEvent {
		events = append(events, fmt.Sprintf("%s=%d", ev, n))
	}
	slices.Sort(events)
	if len(events) == 0 {
		events = []string{"-"}
	}
	fmt.Fprintf(tw, "integration\t%s\nhook\t%s\nwindow\t%s to %s\nlisted\t%d\nin journal\t%d\n%s\t%d\nfailed\t%d\nby event\t%s\n",
		rep.Integration, rep.Hook, rep.Since.Format(time.RFC3339), rep.Until.Format(time.RFC3339), rep.Listed, rep.InJournal,
		verb, rep.Requested, len(rep.Failed), strings.Join(events, " "))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rep.Missing) == 0 && len(rep.Failed) == 0 {
		fmt.Fprintln(out, "nothing is missing")
		return nil
	}
	failed := map[string]string{}
	for _, f := range rep.Failed {
		failed[f.GUID] = f.Error
	}
	fmt.Fprintln(out)
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ATTEMPT\tDELIVERY\tEVENT\tAT\tSENDER SAID\tRESULT")
	for _, d := range rep.Missing {
		result := verb
		switch e, ok := failed[d.GUID]; {
		case ok:
			result = "failed: " + e
		case arrived[d.GUID]:
			result = "requested, arrived"
		case waited && !rep.DryRun:
			result = "requested, not arrived yet"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.GUID, d.Event, d.At.Local().Format("01-02 15:04:05"), d.Status, result)
	}
	for _, f := range rep.Failed {
		if f.GUID == "" {
			fmt.Fprintf(tw, "%d\t-\t-\t-\t-\tfailed: %s\n", f.ID, f.Error)
		}
	}
	return tw.Flush()
}
