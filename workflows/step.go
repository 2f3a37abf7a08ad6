package workflows

import "go.temporal.io/sdk/workflow"

// Step is a blueprint's own record of one thing it did, with who decided
// and why, for `hookflow audit`: a step an auditor reads ("changegate.approved
// by alice.approver via servicenow"), beside the deliveries and activities
// the history shows anyway.
type Step struct {
	// Step names it, prefixed by the blueprint: "changegate.approved".
	Step string `json:"hookflow_step"`
	// Actor is who did or decided it, as the blueprint knows them.
	Actor string `json:"actor,omitempty"`
	// Detail says how or why, in one line. Never a secret.
	Detail string `json:"detail,omitempty"`
}

// RecordStep writes s into the workflow's history (a side-effect marker),
// where `hookflow audit` reads it. Adding it to a released blueprint is a
// change of commands: put it behind workflow.GetVersion.
func RecordStep(ctx workflow.Context, s Step) {
	_ = workflow.SideEffect(ctx, func(workflow.Context) any { return s })
}
