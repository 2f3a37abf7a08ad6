package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/ingress"
	"github.com/hookflow/hookflow/ingress/journal"
)

// temporalWorkflowStatus reads a workflow's latest run's status from
// Temporal, for stuck detection.
func temporalWorkflowStatus(c client.Client) ingress.WorkflowStatus {
	return func(ctx context.Context, workflowID string) (string, error) {
		d, err := c.DescribeWorkflowExecution(ctx, workflowID, "")
		if errors.As(err, new(*serviceerror.NotFound)) {
			return "not_found", nil
		}
		if err != nil {
			return "", err
		}
		return statusName(d.GetWorkflowExecutionInfo().GetStatus()), nil
	}
}

func statusName(s enumspb.WorkflowExecutionStatus) string {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return "running"
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return "completed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return "failed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return "canceled"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return "terminated"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return "continued_as_new"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "timed_out"
	case enumspb.WORKFLOW_EXECUTION_STATUS_PAUSED:
		return "paused"
	}
	return "unknown"
}

func newDeliveriesStuckCmd(g *globals) *cobra.Command {
	var backlogAbove, minAttempts int
	var since string
	cmd := &cobra.Command{
		Use:   "stuck [--backlog-above 100] [--min-attempts 5] [--since 1h]",
		Short: "Show what is not flowing: the oldest pending delivery, backlogged entities, failing forwards, ended workflows",
		Long: `Answer "why didn't it fire?": the oldest delivery accepted but not yet forwarded (held ones
aside: see "deliveries paused"), the workflows (entities) with more than --backlog-above
deliveries waiting, the deliveries whose signal failed --min-attempts times in a row (with the
last error), and the workflows that pending, failing or recent (--since) deliveries route to
whose latest run failed, was terminated, timed out or was canceled (the server asks Temporal;
not when it runs without forwarding).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkOutput(); err != nil {
				return err
			}
			q := url.Values{}
			if backlogAbove > 0 {
				q.Set("backlog_above", strconv.Itoa(backlogAbove))
			}
			if minAttempts > 0 {
				q.Set("min_attempts", strconv.Itoa(minAttempts))
			}
			if since != "" {
				t, err := parseWhen(since)
				if err != nil {
					return fmt.Errorf("--since: %w", err)
				}
				q.Set("since", t.UTC().Format(time.RFC3339))
			}
			v, err := adminCall[ingress.StuckView](cmd, g, http.MethodGet, "/stuck?"+q.Encode(), nil)
			if err != nil {
				return err
			}
			if g.output == "json" {
				return printJSON(cmd, v)
			}
			return printStuck(cmd, v)
		},
	}
	f := cmd.Flags()
	f.IntVar(&backlogAbove, "backlog-above", journal.DefaultStuckBacklog, "list workflows with more deliveries than this waiting")
	f.IntVar(&minAttempts, "min-attempts", journal.DefaultStuckAttempts, "list deliveries whose signal failed this many times in a row")
	f.StringVar(&since, "since", "1h", "also check the workflows of deliveries received since (a duration ago or an RFC 3339 time)")
	return cmd
}

func printStuck(cmd *cobra.Command, v ingress.StuckView) error {
	w := cmd.OutOrStdout()
	if v.OldestPending == nil {
		fmt.Fprintln(w, "Oldest pending: none, every accepted delivery was forwarded (or is held by a pause)")
	} else {
		fmt.Fprintf(w, "Oldest pending: entry %d to %s, received %s (%s ago)\n", v.OldestPending.Seq, v.OldestPending.WorkflowID,
			v.OldestPending.ReceivedAt.Local().Format(time.RFC3339), (time.Duration(v.OldestPendingSeconds) * time.Second).String())
	}
	fmt.Fprintf(w, "\nBacklogged workflows: %d (the largest backlog is %d)\n", v.BackloggedTotal, v.MaxEntityBacklog)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(v.Backlogged) > 0 {
		fmt.Fprintln(tw, "WORKFLOW\tPENDING\tOLDEST SEQ")
		for _, b := range v.Backlogged {
			fmt.Fprintf(tw, "%s\t%d\t%d\n", b.WorkflowID, b.Pending, b.OldestSeq)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\nFailing forwards: %d\n", v.FailingTotal)
	if len(v.Failing) > 0 {
		fmt.Fprintln(tw, "SEQ\tDELIVERY\tWORKFLOW\tATTEMPTS\tLAST TRY\tLAST ERROR")
		for _, f := range v.Failing {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", f.Seq, f.DeliveryID, f.WorkflowID, f.Attempts, f.UpdatedAt.Local().Format("01-02 15:04:05"), f.Reason)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if !v.EndedChecked {
		fmt.Fprintln(w, "\nEnded workflows: not checked (the server does not forward to Temporal)")
		return nil
	}
	fmt.Fprintf(w, "\nEnded workflows that deliveries still route to: %d\n", len(v.Ended))
	if len(v.Ended) > 0 {
		fmt.Fprintln(tw, "WORKFLOW\tSTATUS")
		for _, e := range v.Ended {
			fmt.Fprintf(tw, "%s\t%s\n", e.WorkflowID, e.Status)
		}
	}
	return tw.Flush()
}
