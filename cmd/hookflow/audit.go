package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/hookflow/hookflow/workflows"
)

// auditStep is one line of an entity's record.
type auditStep struct {
	Time  time.Time `json:"time"`
	RunID string    `json:"run_id"`
	// Step is what happened: delivery, activity.scheduled,
	// activity.completed, activity.failed, timer, workflow.started,
	// workflow.completed, workflow.failed, workflow.continued_as_new, ...
	Step string `json:"step"`
	// Deliveries lists the deliveries a signal carried.
	Deliveries []auditDelivery `json:"deliveries,omitempty"`
	// Activity is the activity type, for activity steps.
	Activity string `json:"activity,omitempty"`
	// Attempt is the activity attempt that completed or failed.
	Attempt int32 `json:"attempt,omitempty"`
	// Actor is who did or decided a blueprint's recorded step.
	Actor string `json:"actor,omitempty"`
	// Detail is a failure message or another short explanation.
	Detail string `json:"detail,omitempty"`
	// ErrorType is a failed activity's or workflow's application error
	// type (hookflow.AuthError, ...).
	ErrorType string `json:"error_type,omitempty"`
	// Duration is how long an activity took from scheduled to its
	// outcome, retries included.
	Duration string `json:"duration,omitempty"`
}

type auditDelivery struct {
	DeliveryID  string `json:"delivery_id"`
	Integration string `json:"integration"`
	Source      string `json:"source"`
	Event       string `json:"event"`
	Action      string `json:"action,omitempty"`
	ReceivedAt  string `json:"received_at"`
	// Seq is the delivery's journal entry.
	Seq int64 `json:"seq,omitempty"`
	// PayloadSHA256 is the SHA-256 of the payload as the journal holds
	// it (audit_export.go); empty when the journal no longer does.
	PayloadSHA256 string `json:"payload_sha256,omitempty"`
}

// auditedWorkflow is one workflow of an entity, for audit --entity.
type auditedWorkflow struct {
	WorkflowID string      `json:"workflow_id"`
	Blueprint  string      `json:"blueprint"`
	Steps      []auditStep `json:"steps"`
}

func newAuditCmd(g *globals) *cobra.Command {
	var temporalAddr, namespace, entity string
	var ttls temporalTLS
	cmd := &cobra.Command{
		Use:   "audit WORKFLOW-ID | --entity KEY [--output table|json|md|csv]",
		Short: "Export the step-by-step record of an entity: deliveries, activities, outcomes",
		Long: `Print what happened to one entity (a pull request, an issue, a change), from its
workflow histories in Temporal, every run included: which deliveries arrived and when,
which activities ran, how many attempts they took and how they ended. Payloads are left out:
the journal keeps them (hookflow deliveries show); each delivery carries the SHA-256 of its
payload as journaled (asked of the server, --server). --output md is a readable document and
--output csv a sheet, both signed (ed25519, with the key Hookflow keeps in its token store:
see "hookflow audit public-key"); "hookflow audit verify FILE" checks one.

With --entity, find every workflow of the entity by its HookflowEntity search attribute
(OWNER/REPO#N on github.com, HOST/OWNER/REPO#N elsewhere, PROJ-123, CHG0031234), one per
blueprint that handles it, and print each one's record (table or json).`,
		Example: `  hookflow audit prcomment/github.com/octo/app/pr/42 --output json
  hookflow audit prcomment/github.com/octo/app/pr/42 --output md > pr-42-audit.md
  hookflow audit verify pr-42-audit.md --public-key ed25519:...
  hookflow audit --entity octo/app#42`,
		Args: func(cmd *cobra.Command, args []string) error {
			if (entity == "") == (len(args) == 0) || len(args) > 1 {
				return fmt.Errorf("give one WORKFLOW-ID or --entity KEY")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkAuditOutput(g.output); err != nil {
				return err
			}
			withTLS, err := ttls.option()
			if err != nil {
				return err
			}
			c, err := dialTemporal(cmd.Context(), temporalAddr, namespace, g.logger(), noTracing(), withTLS)
			if err != nil {
				return err
			}
			defer c.Close()
			if entity != "" {
				if g.output == "md" || g.output == "csv" {
					return fmt.Errorf("--entity prints table or json; export each workflow ID it lists with --output %s", g.output)
				}
				return auditEntity(cmd, g, c, namespace, entity)
			}
			steps, err := audit(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			if done, err := exportAudit(cmd, g, args[0], steps); done || err != nil {
				return err
			}
			if g.output == "json" {
				return printJSON(cmd, steps)
			}
			return printSteps(cmd.OutOrStdout(), steps)
		},
	}
	cmd.Flags().StringVar(&entity, "entity", "", "the entity's human key (HookflowEntity): owner/repo#42, PROJ-123, CHG0031234")
	cmd.Flags().StringVar(&temporalAddr, "temporal-address", envOr("TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend host:port (env TEMPORAL_ADDRESS)")
	cmd.Flags().StringVar(&namespace, "namespace", envOr("TEMPORAL_NAMESPACE", "default"), "Temporal namespace (env TEMPORAL_NAMESPACE)")
	ttls.addFlags(cmd.Flags())
	cmd.AddCommand(newAuditVerifyCmd(g), newAuditPublicKeyCmd(g))
	return cmd
}

// entityQuery is the visibility query for an entity's workflows.
func entityQuery(entity string) string {
	return fmt.Sprintf("%s = %s", workflows.AttrEntity.GetName(), strconv.Quote(entity))
}

func auditEntity(cmd *cobra.Command, g *globals, c client.Client, namespace, entity string) error {
	ctx := cmd.Context()
	var ids []string
	seen := map[string]bool{}
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: namespace, Query: entityQuery(entity), NextPageToken: token})
		if err != nil {
			return fmt.Errorf("find the workflows of %s: %w", entity, err)
		}
		for _, e := range resp.GetExecutions() {
			if id := e.GetExecution().GetWorkflowId(); !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	if len(ids) == 0 {
		return fmt.Errorf("no workflow has %s (a workflow upserts it when it applies its first event; visibility lags by a second or so)", entityQuery(entity))
	}
	sort.Strings(ids)
	var out []auditedWorkflow
	for _, id := range ids {
		steps, err := audit(ctx, c, id)
		if err != nil {
			return err
		}
		bp, _, _ := strings.Cut(id, "/")
		out = append(out, auditedWorkflow{WorkflowID: id, Blueprint: bp, Steps: steps})
	}
	if g.output == "json" {
		return printJSON(cmd, out)
	}
	w := cmd.OutOrStdout()
	for i, a := range out {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "== %s (blueprint %s)\n", a.WorkflowID, a.Blueprint)
		if err := printSteps(w, a.Steps); err != nil {
			return err
		}
	}
	return nil
}

func printSteps(w io.Writer, steps []auditStep) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tSTEP\tWHAT")
	for _, s := range steps {
		what := s.Activity
		if s.Actor != "" {
			what += "by " + s.Actor
		}
		for _, d := range s.Deliveries {
			what += fmt.Sprintf("%s %s.%s %s ", d.Source, d.Event, d.Action, d.DeliveryID)
		}
		if s.Attempt > 1 {
			what += fmt.Sprintf(" (attempt %d)", s.Attempt)
		}
		if s.Detail != "" {
			what += " " + s.Detail
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Time.Local().Format("2006-01-02 15:04:05.000"), s.Step, strings.TrimSpace(what))
	}
	return tw.Flush()
}

// audit reads every run of workflowID, oldest first.
func audit(ctx context.Context, c client.Client, workflowID string) ([]auditStep, error) {
	// Find the first run by walking back from the newest.
	var runs []string
	runID := ""
	for {
		desc, err := c.DescribeWorkflowExecution(ctx, workflowID, runID)
		if err != nil {
			if runID == "" {
				return nil, fmt.Errorf("workflow %s: %w", workflowID, err)
			}
			break
		}
		runs = append([]string{desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()}, runs...)
		first, err := firstEvent(ctx, c, workflowID, desc.GetWorkflowExecutionInfo().GetExecution().GetRunId())
		if err != nil {
			return nil, err
		}
		prev := first.GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		if prev == "" {
			break
		}
		runID = prev
	}
	var steps []auditStep
	dc := converter.GetDefaultDataConverter()
	for _, run := range runs {
		scheduled := map[int64]string{}
		scheduledAt := map[int64]time.Time{}
		// Temporal writes an activity's started event (with its attempt)
		// when the activity ends, just before the outcome.
		attempts := map[int64]int32{}
		iter := c.GetWorkflowHistory(ctx, workflowID, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			if err != nil {
				return nil, fmt.Errorf("workflow %s run %s: %w", workflowID, run, err)
			}
			s := auditStep{Time: ev.GetEventTime().AsTime(), RunID: run}
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
				s.Step = "workflow.started"
				s.Detail = ev.GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
				a := ev.GetWorkflowExecutionSignaledEventAttributes()
				s.Step = "signal." + a.GetSignalName()
				var b workflows.Batch
				if a.GetSignalName() == workflows.SignalEvents && dc.FromPayloads(a.GetInput(), &b) == nil {
					s.Step = "delivery"
					for _, e := range b.Events {
						s.Deliveries = append(s.Deliveries, auditDelivery{DeliveryID: e.DeliveryID, Integration: e.Integration,
							Source: e.Source, Event: e.Type, Action: e.Action, ReceivedAt: e.ReceivedAt.Format(time.RFC3339Nano), Seq: e.Seq})
					}
				}
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
				name := ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
				scheduled[ev.GetEventId()] = name
				scheduledAt[ev.GetEventId()] = ev.GetEventTime().AsTime()
				s.Step, s.Activity = "activity.scheduled", name
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
				attempts[ev.GetEventId()] = ev.GetActivityTaskStartedEventAttributes().GetAttempt()
				continue
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
				a := ev.GetActivityTaskCompletedEventAttributes()
				s.Step, s.Activity = "activity.completed", scheduled[a.GetScheduledEventId()]
				s.Attempt = attempts[a.GetStartedEventId()]
				s.Duration = since(scheduledAt, a.GetScheduledEventId(), s.Time)
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
				a := ev.GetActivityTaskFailedEventAttributes()
				s.Step, s.Activity, s.Detail = "activity.failed", scheduled[a.GetScheduledEventId()], a.GetFailure().GetMessage()
				s.Attempt = attempts[a.GetStartedEventId()]
				s.ErrorType = a.GetFailure().GetApplicationFailureInfo().GetType()
				s.Duration = since(scheduledAt, a.GetScheduledEventId(), s.Time)
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
				a := ev.GetActivityTaskTimedOutEventAttributes()
				s.Step, s.Activity, s.Detail = "activity.timed_out", scheduled[a.GetScheduledEventId()], a.GetFailure().GetMessage()
				s.Duration = since(scheduledAt, a.GetScheduledEventId(), s.Time)
			case enumspb.EVENT_TYPE_TIMER_STARTED:
				s.Step = "timer.started"
				s.Detail = ev.GetTimerStartedEventAttributes().GetStartToFireTimeout().AsDuration().String()
			case enumspb.EVENT_TYPE_TIMER_FIRED:
				s.Step = "timer.fired"
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
				s.Step = "workflow.completed"
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
				f := ev.GetWorkflowExecutionFailedEventAttributes().GetFailure()
				s.Step, s.Detail, s.ErrorType = "workflow.failed", f.GetMessage(), f.GetApplicationFailureInfo().GetType()
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
				s.Step = "workflow.continued_as_new"
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
				s.Step, s.Detail = "workflow.terminated", ev.GetWorkflowExecutionTerminatedEventAttributes().GetReason()
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
				s.Step = "workflow.canceled"
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
				s.Step = "workflow.timed_out"
			case enumspb.EVENT_TYPE_MARKER_RECORDED:
				// A blueprint's own step (workflows.RecordStep); other
				// markers are Temporal's bookkeeping.
				a := ev.GetMarkerRecordedEventAttributes()
				var st workflows.Step
				if a.GetMarkerName() != "SideEffect" || dc.FromPayloads(a.GetDetails()["data"], &st) != nil || st.Step == "" {
					continue
				}
				s.Step, s.Actor, s.Detail = "record."+st.Step, st.Actor, st.Detail
			default:
				continue // workflow tasks are Temporal's bookkeeping
			}
			steps = append(steps, s)
		}
	}
	return steps, nil
}

// since is how long after the activity scheduled as id the time t is.
func since(scheduledAt map[int64]time.Time, id int64, t time.Time) string {
	at, ok := scheduledAt[id]
	if !ok {
		return ""
	}
	return t.Sub(at).Round(time.Millisecond).String()
}

func firstEvent(ctx context.Context, c client.Client, workflowID, runID string) (*historypb.HistoryEvent, error) {
	iter := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !iter.HasNext() {
		return nil, fmt.Errorf("workflow %s run %s: empty history", workflowID, runID)
	}
	return iter.Next()
}
