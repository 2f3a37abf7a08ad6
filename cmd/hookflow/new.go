package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/blueprints/all"
	"github.com/hookflow/hookflow/internal/scaffold"
)

func newNewCmd(_ *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "new", Short: "Create new things in a Hookflow checkout"}
	var dir, source, event string
	bp := &cobra.Command{
		Use:   "blueprint NAME",
		Short: "Create blueprints/NAME: a blueprint with a subscription, settings, a workflow and a test over a recorded delivery",
		Long: `Create blueprints/NAME in the checkout at --dir (default: the current directory) and add it
to the one list in blueprints/all. The blueprint takes --source events of type --event
(the type the router sees: pull_request, push, merge_request, jira:issue_updated, ...);
its test pushes a recorded delivery of that type, copied from ingress/<source>/testdata,
through the sender's parser and the router, then runs the workflow. It passes
"go test ./blueprints/NAME/..." as generated. docs/blueprints.md says what to do next.`,
		Example: `  hookflow new blueprint prlabels --source github --event pull_request
  go test ./blueprints/prlabels/...`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				wd, err := os.Getwd()
				if err != nil {
					return err
				}
				dir = wd
			}
			res, err := scaffold.Generate(scaffold.Options{Root: dir, Name: args[0], Source: source, Event: event,
				Existing: blueprints.Names(all.List())})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, f := range res.Files {
				if rel, err := filepath.Rel(dir, f); err == nil {
					f = rel
				}
				fmt.Fprintf(out, "wrote %s\n", f)
			}
			fmt.Fprintf(out, "\nnext:\n  go test ./blueprints/%s/...\n  go run -tags nodevserver ./cmd/hookflow blueprints list\n  see docs/blueprints.md\n", args[0])
			return nil
		},
	}
	bp.Flags().StringVar(&dir, "dir", "", "root of the Hookflow checkout (default: the current directory)")
	bp.Flags().StringVar(&source, "source", "github", "sender of the events: github, gitlab, bitbucket, jira, servicenow")
	bp.Flags().StringVar(&event, "event", "pull_request", "event type the blueprint takes, as the router sees it")
	cmd.AddCommand(bp)
	return cmd
}
