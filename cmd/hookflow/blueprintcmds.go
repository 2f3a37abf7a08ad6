package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/hookflow/hookflow/blueprints"
)

// addBlueprintCommands mounts each blueprint's commands as
// `hookflow <blueprint> <command>`. A blueprint name that collides with a
// built-in command is a programmer error caught by blueprints.CheckName and
// the list's test; it panics here rather than hide a command.
func addBlueprintCommands(root *cobra.Command, g *globals, list []blueprints.Blueprint) {
	for _, bp := range list {
		if len(bp.Commands) == 0 {
			continue
		}
		for _, c := range root.Commands() {
			if c.Name() == bp.Name {
				panic(fmt.Sprintf("blueprint %s collides with the built-in command %s", bp.Name, c.Name()))
			}
		}
		parent := &cobra.Command{Use: bp.Name, Short: "Commands of the " + bp.Name + " blueprint: " + bp.Description}
		for _, bc := range bp.Commands {
			var temporalAddr, namespace string
			cmd := &cobra.Command{
				Use:   bc.Name,
				Short: bc.Short,
				RunE: func(cmd *cobra.Command, args []string) error {
					if err := g.checkOutput(); err != nil {
						return err
					}
					f, err := g.loadConfig(cmd.Flags())
					if err != nil {
						return err
					}
					s, err := f.Settings(bp)
					if err != nil {
						return err
					}
					return bc.Run(cmd.Context(), blueprints.CommandEnv{
						Args: args, Flags: cmd.Flags(), Out: cmd.OutOrStdout(), Output: g.output, Settings: s,
						Temporal: func(ctx context.Context) (client.Client, error) {
							return dialTemporal(ctx, temporalAddr, namespace, g.logger(), noTracing())
						},
						Admin: func(ctx context.Context, method, path string, in, out any) error {
							a, err := g.admin()
							if err != nil {
								return err
							}
							return a.do(ctx, method, path, in, out)
						},
					})
				},
			}
			cmd.Flags().StringVar(&temporalAddr, "temporal-address", envOr("TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend host:port (env TEMPORAL_ADDRESS)")
			cmd.Flags().StringVar(&namespace, "namespace", envOr("TEMPORAL_NAMESPACE", "default"), "Temporal namespace (env TEMPORAL_NAMESPACE)")
			if bc.Flags != nil {
				bc.Flags(cmd.Flags())
			}
			parent.AddCommand(cmd)
		}
		root.AddCommand(parent)
	}
}
