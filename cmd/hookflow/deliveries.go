package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/ingress"
	"github.com/hookflow/hookflow/ingress/journal"
)

func newDeliveriesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "deliveries",
		Aliases: []string{"delivery"},
		Short:   "Inspect the journal of deliveries",
	}
	cmd.AddCommand(newDeliveriesListCmd(g), newDeliveriesShowCmd(g), newDeliveriesReplayCmd(g), newDeliveriesPruneCmd(g),
		newDeliveriesPauseCmd(g), newDeliveriesResumeCmd(g), newDeliveriesPausedCmd(g), newDeliveriesStuckCmd(g))
	return cmd
}

// deliveryJSON is the stable JSON shape of `deliveries list`.
type deliveryJSON struct {
	Seq         int64     `json:"seq"`
	DeliveryID  string    `json:"delivery_id"`
	Integration string    `json:"integration"`
	Source      string    `json:"source"`
	Event       string    `json:"event"`
	Action      string    `json:"action"`
	Status      string    `json:"status"`
	Reason      string    `json:"reason,omitempty"`
	WorkflowIDs []string  `json:"workflow_ids"`
	ReceivedAt  time.Time `json:"received_at"`
	// Routes are the workflows the delivery must reach, each with its
	// own status (accepted, held, forwarded, failed, ignored).
	Routes []journal.Route `json:"routes"`
}

func newDeliveriesListCmd(g *globals) *cobra.Command {
	var status, source, integration, since, until string
	var limit int
	cmd := &cobra.Command{
		Use:   "list [--status S] [--source S] [--integration ID] [--since 1h] [--limit N]",
		Short: "List deliveries, newest first",
		Long: `List journal entries, newest first. Status is one of accepted (journaled, waiting to be
forwarded, or held by a pause: see "deliveries paused"), forwarded, ignored (no blueprint takes it), duplicate (a redelivery), rejected
(refused at the door: see reason) and failed (the forwarder gave up: see reason). An entry
reaches one workflow per route; its status is derived from its routes' (--output json lists
them): accepted while any route is pending, failed when one failed, forwarded when all are
done and one was forwarded.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkOutput(); err != nil {
				return err
			}
			q := url.Values{}
			for k, v := range map[string]string{"status": status, "source": source, "integration": integration} {
				if v != "" {
					q.Set(k, v)
				}
			}
			for k, v := range map[string]string{"since": since, "until": until} {
				if v == "" {
					continue
				}
				t, err := parseWhen(v)
				if err != nil {
					return fmt.Errorf("--%s: %w", k, err)
				}
				q.Set(k, t.Format(time.RFC3339Nano))
			}
			if limit <= 0 {
				return fmt.Errorf("--limit must be positive")
			}
			q.Set("limit", strconv.Itoa(limit))
			list, err := adminCall[[]ingress.DeliveryView](cmd, g, http.MethodGet, "/deliveries?"+q.Encode(), nil)
			if err != nil {
				return err
			}
			if g.output == "json" {
				out := make([]deliveryJSON, 0, len(list))
				for _, d := range list {
					out = append(out, deliveryJSON{Seq: d.Seq, DeliveryID: d.DeliveryID, Integration: d.Integration, Source: d.Source,
						Event: d.Event, Action: d.Action, Status: d.Status, Reason: d.Reason, WorkflowIDs: d.WorkflowIDs, ReceivedAt: d.ReceivedAt, Routes: d.Routes})
				}
				return printJSON(cmd, out)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tRECEIVED\tSTATUS\tSOURCE\tEVENT\tDELIVERY\tWORKFLOWS\tREASON")
			for _, d := range list {
				ev := d.Event
				if d.Action != "" {
					ev += "." + d.Action
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Seq, d.ReceivedAt.Local().Format("01-02 15:04:05"), d.Status, d.Source,
					ev, d.DeliveryID, strings.Join(d.WorkflowIDs, ","), d.Reason)
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&status, "status", "", "only this status")
	f.StringVar(&source, "source", "", "only this source (github, ...)")
	f.StringVar(&integration, "integration", "", "only this integration ID")
	f.StringVar(&since, "since", "", "only received since: days or a duration ago (30d, 1h) or an RFC 3339 time")
	f.StringVar(&until, "until", "", "only received before: days or a duration ago (7d, 1h) or an RFC 3339 time")
	f.IntVar(&limit, "limit", 50, "at most this many")
	return cmd
}

func newDeliveriesShowCmd(g *globals) *cobra.Command {
	var uiURL, namespace string
	cmd := &cobra.Command{
		Use:   "show SEQ",
		Short: "Show one delivery: status, reason, keys, workflows with links into the Temporal UI, payload",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := parseSeqs(args); err != nil {
				return err
			}
			d, err := adminCall[deliveryDetail](cmd, g, http.MethodGet, "/deliveries/"+args[0], nil)
			if err != nil {
				return err
			}
			for _, id := range d.WorkflowIDs {
				d.Links = append(d.Links, strings.TrimSuffix(uiURL, "/")+"/namespaces/"+url.PathEscape(namespace)+"/workflows/"+url.PathEscape(id))
			}
			return printJSON(cmd, d)
		},
	}
	cmd.Flags().StringVar(&uiURL, "ui-url", envOr("HOOKFLOW_UI_URL", "http://127.0.0.1:8233"), "Temporal Web UI base URL, for links (env HOOKFLOW_UI_URL)")
	cmd.Flags().StringVar(&namespace, "namespace", "default", "Temporal namespace, for links")
	return cmd
}

// parseWhen reads a time flag with the one parser every --since and
// --until shares: "30d" or "1h" ago, or an RFC 3339 time.
func parseWhen(v string) (time.Time, error) {
	return blueprints.ParseTime(v, time.Now())
}

func printJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // "prcomment/<host>/...", not "\u003chost\u003e"
	return enc.Encode(v)
}

func parseSeqs(args []string) ([]int64, error) {
	var seqs []int64
	for _, a := range args {
		n, err := strconv.ParseInt(a, 10, 64)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a delivery SEQ (the number in the SEQ column of `deliveries list`)", a)
		}
		seqs = append(seqs, n)
	}
	return seqs, nil
}

func newDeliveriesReplayCmd(g *globals) *cobra.Command {
	var req ingress.ReplayRequest
	var since string
	cmd := &cobra.Command{
		Use:   "replay SEQ... | --status failed [--since 1h] [--as-new]",
		Short: "Forward deliveries again",
		Long: `Append a copy of each selected delivery to the journal as accepted, so the forwarder
signals it again. A copy keeps its delivery ID, so a workflow that already applied it
drops it; --as-new gives each copy a new delivery ID, which workflows apply again.`,
		Example: `  hookflow deliveries replay 42 43
  hookflow deliveries replay --status failed --since 1h`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkOutput(); err != nil {
				return err
			}
			seqs, err := parseSeqs(args)
			if err != nil {
				return err
			}
			req.Seqs = seqs
			if (len(seqs) == 0) == (req.Status == "") {
				return fmt.Errorf("give either SEQ arguments or --status")
			}
			if since != "" {
				t, err := parseWhen(since)
				if err != nil {
					return fmt.Errorf("--since: %w", err)
				}
				req.Since = t.Format(time.RFC3339)
			}
			out, err := adminCall[ingress.ReplayResult](cmd, g, http.MethodPost, "/deliveries/replay", req)
			if err != nil {
				return err
			}
			if g.output == "json" {
				return printJSON(cmd, out)
			}
			for _, d := range out.Replayed {
				fmt.Fprintf(cmd.OutOrStdout(), "replayed %s as entry %d\n", d.DeliveryID, d.Seq)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d deliveries replayed\n", len(out.Replayed))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Status, "status", "", "replay every delivery with this status (e.g. failed)")
	f.StringVar(&since, "since", "", "with --status: only received since (1h, or an RFC 3339 time)")
	f.BoolVar(&req.AsNew, "as-new", false, "give each copy a new delivery ID so workflows apply it again")
	return cmd
}

func newDeliveriesPruneCmd(g *globals) *cobra.Command {
	var req ingress.PruneRequest
	cmd := &cobra.Command{
		Use:   "prune --older-than 30d | --integration ID | SEQ... [--dry-run]",
		Short: "Delete journal entries (never those still waiting to be forwarded)",
		Example: `  hookflow deliveries prune --older-than 30d --dry-run
  hookflow deliveries prune --integration int_abc`,
		RunE: func(cmd *cobra.Command, args []string) error {
			seqs, err := parseSeqs(args)
			if err != nil {
				return err
			}
			req.Seqs = seqs
			if req.OlderThan == "" && req.Integration == "" && len(seqs) == 0 {
				return fmt.Errorf("give --older-than, --integration or SEQ arguments")
			}
			out, err := adminCall[pruneResult](cmd, g, http.MethodPost, "/deliveries/prune", req)
			if err != nil {
				return err
			}
			if out.DryRun {
				fmt.Fprintf(cmd.OutOrStdout(), "%d entries would be pruned\n", out.Pruned)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "%d entries pruned\n", out.Pruned)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.OlderThan, "older-than", "", "entries received longer ago than this (30d, 720h)")
	f.StringVar(&req.Integration, "integration", "", "entries of this integration")
	f.BoolVar(&req.DryRun, "dry-run", false, "only count what would be pruned")
	return cmd
}

// deliveryDetail is `deliveries show`'s answer: the admin API's view with
// a Temporal UI link per workflow.
type deliveryDetail struct {
	ingress.DeliveryView
	Links []string `json:"workflow_links"`
}

// pruneResult is the admin API's answer to a prune.
type pruneResult struct {
	Pruned int  `json:"pruned"`
	DryRun bool `json:"dry_run"`
}
