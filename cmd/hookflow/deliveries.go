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

	"github.com/hookflow/hookflow/ingress"
)

func newDeliveriesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "deliveries",
		Aliases: []string{"delivery"},
		Short:   "Inspect the journal of deliveries",
	}
	cmd.AddCommand(newDeliveriesListCmd(g), newDeliveriesShowCmd(g))
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
}

func newDeliveriesListCmd(g *globals) *cobra.Command {
	var status, source, integration, since, until string
	var limit int
	cmd := &cobra.Command{
		Use:   "list [--status S] [--source S] [--integration ID] [--since 1h] [--limit N]",
		Short: "List deliveries, newest first",
		Long: `List journal entries, newest first. Status is one of accepted (journaled, waiting to be
forwarded), forwarded, ignored (no blueprint takes it), duplicate (a redelivery), rejected
(refused at the door: see reason) and failed (the forwarder gave up: see reason).`,
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
			a, err := g.admin()
			if err != nil {
				return err
			}
			var list []ingress.DeliveryView
			if err := a.do(cmd.Context(), http.MethodGet, "/deliveries?"+q.Encode(), nil, &list); err != nil {
				return err
			}
			if g.output == "json" {
				out := make([]deliveryJSON, 0, len(list))
				for _, d := range list {
					out = append(out, deliveryJSON{Seq: d.Seq, DeliveryID: d.DeliveryID, Integration: d.Integration, Source: d.Source,
						Event: d.Event, Action: d.Action, Status: d.Status, Reason: d.Reason, WorkflowIDs: d.WorkflowIDs, ReceivedAt: d.ReceivedAt})
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
	f.StringVar(&since, "since", "", "only received since: a duration ago (1h, 30m) or an RFC 3339 time")
	f.StringVar(&until, "until", "", "only received before: a duration ago or an RFC 3339 time")
	f.IntVar(&limit, "limit", 50, "at most this many")
	return cmd
}

func newDeliveriesShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show SEQ",
		Short: "Show one delivery with its payload",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := strconv.ParseInt(args[0], 10, 64); err != nil {
				return fmt.Errorf("SEQ must be the number in the SEQ column of `deliveries list`")
			}
			a, err := g.admin()
			if err != nil {
				return err
			}
			var d json.RawMessage
			if err := a.do(cmd.Context(), http.MethodGet, "/deliveries/"+args[0], nil, &d); err != nil {
				return err
			}
			return printJSON(cmd, d)
		},
	}
}

// parseWhen reads "1h"/"30m" as that long ago, or an RFC 3339 time.
func parseWhen(v string) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return time.Now().Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (1h) nor an RFC 3339 time", v)
}

func printJSON(cmd *cobra.Command, v any) error {
	enc := json.NewEncoder(cmd.OutOrStdout())
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
