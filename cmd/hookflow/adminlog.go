package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/internal/timeflag"
)

func newAdminCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "admin", Short: "Look at what operators did: the admin audit log"}
	var since string
	var limit int
	log := &cobra.Command{
		Use:   "log [--since 24h|RFC3339] [--limit N]",
		Short: "List the admin audit log: every state-changing action (console, admin API, CLI), newest first",
		Long: `List the admin audit log the server keeps in its journal: who (the admin token or an
OIDC user), with which role, through which door (console, api, cli), did what to what, and
when. Secrets are never recorded.`,
		Example: `  hookflow admin log --since 24h
  hookflow admin log --since 2026-12-01T00:00:00Z --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkOutput(); err != nil {
				return err
			}
			q := url.Values{}
			if since != "" {
				t, err := timeflag.ParseTime(since, time.Now())
				if err != nil {
					return fmt.Errorf("--since: %w", err)
				}
				q.Set("since", t.UTC().Format(time.RFC3339))
			}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			a, err := g.admin()
			if err != nil {
				return err
			}
			var out []journal.AuditRecord
			path := "/audit"
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			if err := a.do(cmd.Context(), http.MethodGet, path, nil, &out); err != nil {
				return err
			}
			if g.output == "json" {
				return printJSON(cmd, out)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "AT\tACTOR\tROLE\tVIA\tACTION\tTARGET\tDETAIL")
			for _, r := range out {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.At.UTC().Format(time.RFC3339), r.Actor, r.Role, r.Via, r.Action, r.Target, r.Detail)
			}
			return tw.Flush()
		},
	}
	log.Flags().StringVar(&since, "since", "", "only actions since then: a duration ago (24h, 7d) or an RFC 3339 time (default: the latest)")
	log.Flags().IntVar(&limit, "limit", 0, "at most this many records (0: 200)")
	cmd.AddCommand(log)
	return cmd
}
