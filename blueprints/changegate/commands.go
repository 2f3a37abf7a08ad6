package changegate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/pflag"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/workflows"
)

// EventRequest is the body of POST /admin/v1/events: a synthetic delivery
// journaled, routed and ordered like any other (ingress/admin_events.go
// holds the same shape).
type EventRequest struct {
	Source  string            `json:"source"`
	Type    string            `json:"type"`
	Action  string            `json:"action,omitempty"`
	Keys    map[string]string `json:"keys,omitempty"`
	Payload json.RawMessage   `json:"payload"`
}

// EventAnswer is the admin API's answer to an EventRequest.
type EventAnswer struct {
	DeliveryID  string   `json:"delivery_id"`
	Status      string   `json:"status"`
	WorkflowIDs []string `json:"workflow_ids,omitempty"`
}

var commands = []blueprints.Command{breakGlassCommand("approve"), breakGlassCommand("reject")}

func breakGlassCommand(decision string) blueprints.Command {
	return blueprints.Command{
		Name:  decision,
		Short: "Break glass: " + decision + " a waiting deployment while ServiceNow is down (WORKFLOW-ID --reason TEXT --actor NAME)",
		Flags: func(f *pflag.FlagSet) {
			f.String("reason", "", "why (required; recorded on the change and in the audit trail)")
			f.String("actor", "", "who decides, recorded as declared (required)")
		},
		Run: func(ctx context.Context, env blueprints.CommandEnv) error {
			req, err := BreakGlassRequest(decision, env.Args, env.Flags)
			if err != nil {
				return err
			}
			if err := checkWaiting(ctx, env, req.Keys[workflows.KeyEntity]); err != nil {
				return fmt.Errorf("changegate %s: %w", decision, err)
			}
			if env.Admin == nil {
				return errors.New("changegate: no admin API")
			}
			var ans EventAnswer
			if err := env.Admin(ctx, http.MethodPost, "/events", req, &ans); err != nil {
				return fmt.Errorf("changegate %s: %w", decision, err)
			}
			if env.Output == "json" {
				return json.NewEncoder(env.Out).Encode(ans)
			}
			_, err = fmt.Fprintf(env.Out, "journaled break glass %s for %s: delivery %s\n", decision, req.Keys[workflows.KeyEntity], ans.DeliveryID)
			return err
		},
	}
}

// BreakGlassRequest builds the synthetic delivery of `hookflow changegate
// approve|reject WORKFLOW-ID --reason --actor`, refusing what the workflow
// would ignore.
func BreakGlassRequest(decision string, args []string, flags *pflag.FlagSet) (EventRequest, error) {
	if len(args) != 1 {
		return EventRequest{}, fmt.Errorf("changegate %s: one WORKFLOW-ID, the ID of a changegate workflow (changegate/<host>/<owner>/<repo>/deployment/<id>)", decision)
	}
	id := args[0]
	if !IsWorkflowID(id) {
		return EventRequest{}, fmt.Errorf("changegate %s: %q is not a changegate workflow ID (changegate/<host>/<owner>/<repo>/deployment/<id>)", decision, id)
	}
	reason, _ := flags.GetString("reason")
	actor, _ := flags.GetString("actor")
	if strings.TrimSpace(reason) == "" {
		return EventRequest{}, fmt.Errorf("changegate %s: --reason is required", decision)
	}
	if strings.TrimSpace(actor) == "" {
		return EventRequest{}, fmt.Errorf("changegate %s: --actor is required", decision)
	}
	body, err := json.Marshal(BreakGlassPayload{WorkflowID: id, Decision: decision, Reason: reason, Actor: actor})
	if err != nil {
		return EventRequest{}, err
	}
	return EventRequest{Source: SourceHookflow, Type: EventBreakGlass, Action: decision,
		Keys: map[string]string{workflows.KeyEntity: id}, Payload: body}, nil
}

// checkWaiting refuses a workflow ID Temporal does not know or whose gate
// has finished, when Temporal answers. When it does not (it is down, which
// is when break glass is needed most), the decision is journaled anyway
// and the workflow applies it when it runs, or records it as ignored.
func checkWaiting(ctx context.Context, env blueprints.CommandEnv, id string) error {
	if env.Temporal == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := env.Temporal(ctx)
	if err != nil {
		return nil
	}
	defer c.Close()
	d, err := c.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return fmt.Errorf("no workflow %s: check the ID (hookflow audit, the Temporal UI)", id)
	case err != nil:
		return nil
	}
	if st := d.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return fmt.Errorf("workflow %s is not running (%s): its gate has finished, nothing to decide", id, strings.ToLower(strings.TrimPrefix(st.String(), "WORKFLOW_EXECUTION_STATUS_")))
	}
	return nil
}
