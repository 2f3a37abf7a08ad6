package main

import (
	"fmt"
	"net/http"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/ingress"
	"github.com/hookflow/hookflow/ingress/journal"
)

// pauseFlags are the flags pause and resume share.
func pauseFlags(cmd *cobra.Command, req *ingress.PauseRequest) {
	f := cmd.Flags()
	f.StringVar(&req.Workflow, "workflow", "", "a workflow ID (one entity, as in the WORKFLOWS column of `deliveries list`)")
	f.StringVar(&req.Integration, "integration", "", "an integration ID")
	cmd.MarkFlagsMutuallyExclusive("workflow", "integration")
	cmd.MarkFlagsOneRequired("workflow", "integration")
}

func newDeliveriesPauseCmd(g *globals) *cobra.Command {
	var req ingress.PauseRequest
	cmd := &cobra.Command{
		Use:   "pause --workflow ID | --integration ID [--reason TEXT]",
		Short: "Hold deliveries to a workflow or from an integration until resumed",
		Long: `Pause a workflow (one entity) or an integration: its deliveries that are waiting to be
forwarded are held, and new ones are accepted (senders still get 202) and held too, until
"deliveries resume". Held deliveries stay in the journal with route status held; nothing is
lost or reordered.`,
		Example: `  hookflow deliveries pause --workflow github/octo/app/pr/42 --reason "rolling back the comment bot"
  hookflow deliveries pause --integration int_abc`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkOutput(); err != nil {
				return err
			}
			out, err := adminCall[ingress.PauseResult](cmd, g, http.MethodPost, "/deliveries/pause", req)
			if err != nil {
				return err
			}
			if g.output == "json" {
				return printJSON(cmd, out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "paused %s %s: %d deliveries held\n", out.Kind, out.ID, out.Held)
			return nil
		},
	}
	pauseFlags(cmd, &req)
	cmd.Flags().StringVar(&req.Reason, "reason", "", "why, for whoever looks later (`deliveries paused` shows it)")
	return cmd
}

func newDeliveriesResumeCmd(g *globals) *cobra.Command {
	var req ingress.PauseRequest
	cmd := &cobra.Command{
		Use:   "resume --workflow ID | --integration ID",
		Short: "Forward a paused workflow's or integration's held deliveries, in order",
		Long: `Resume a paused workflow or integration: its held deliveries are forwarded in the order
they were accepted, before anything accepted later. A delivery also covered by another pause
(its integration and its workflow were both paused) stays held until that one is resumed too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkOutput(); err != nil {
				return err
			}
			out, err := adminCall[ingress.PauseResult](cmd, g, http.MethodPost, "/deliveries/resume", req)
			if err != nil {
				return err
			}
			if g.output == "json" {
				return printJSON(cmd, out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "resumed %s %s: %d deliveries released\n", out.Kind, out.ID, out.Released)
			return nil
		},
	}
	pauseFlags(cmd, &req)
	return cmd
}

func newDeliveriesPausedCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "paused",
		Short: "List paused workflows and integrations, with how many deliveries each holds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkOutput(); err != nil {
				return err
			}
			list, err := adminCall[[]journal.Pause](cmd, g, http.MethodGet, "/pauses", nil)
			if err != nil {
				return err
			}
			if g.output == "json" {
				return printJSON(cmd, list)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KIND\tID\tHELD\tPAUSED\tREASON")
			for _, p := range list {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", p.Kind, p.ID, p.Held, p.PausedAt.Local().Format("01-02 15:04:05"), p.Reason)
			}
			return tw.Flush()
		},
	}
}
