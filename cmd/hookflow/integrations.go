package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/ingress"
)

func newIntegrationsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "integrations",
		Aliases: []string{"integration"},
		Short:   "Create, list, rotate and delete integrations (one per sender configuration)",
	}
	cmd.AddCommand(newIntegrationsCreateCmd(g), newIntegrationsListCmd(g), newIntegrationsRotateCmd(g), newIntegrationsDeleteCmd(g))
	return cmd
}

func newIntegrationsCreateCmd(g *globals) *cobra.Command {
	var req ingress.CreateIntegrationRequest
	var options []string
	var secret secretFlags
	cmd := &cobra.Command{
		Use:   "create --source SOURCE --name NAME [--secret-file FILE | --secret-stdin]",
		Short: "Create an integration: prints its secret URL and its secret (shown once)",
		Long: `Create an integration. Its webhook secret is random unless one is given with
--secret-file, --secret-stdin or HOOKFLOW_WEBHOOK_SECRET (at least 16 bytes); --secret
takes it on the command line, for development only.`,
		Example: `  hookflow integrations create --source github --name acme-github --output json
  hookflow integrations create --source github --name ghes --option allow_sha1=true
  printf %s "$GITLAB_TOKEN" | hookflow integrations create --source gitlab --name gl --secret-stdin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkOutput(); err != nil {
				return err
			}
			for _, o := range options {
				k, v, ok := strings.Cut(o, "=")
				if !ok || k == "" {
					return fmt.Errorf("--option %q: want key=value", o)
				}
				if req.Options == nil {
					req.Options = map[string]string{}
				}
				req.Options[k] = v
			}
			var err error
			if req.Secret, err = secret.integrationSecret(cmd, g.env); err != nil {
				return err
			}
			out, err := adminCall[ingress.IntegrationView](cmd, g, http.MethodPost, "/integrations", req)
			if err != nil {
				return err
			}
			return printIntegration(cmd, g, out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Source, "source", "", "sender kind: github")
	f.StringVar(&req.Name, "name", "", "a unique name")
	secret.addFlags(f, "webhook secret (default: a random one)")
	f.StringArrayVar(&options, "option", nil, "source option key=value (repeatable)")
	_ = cmd.MarkFlagRequired("source")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func printIntegration(cmd *cobra.Command, g *globals, v ingress.IntegrationView) error {
	if g.output == "json" {
		return printJSON(cmd, map[string]string{"id": v.ID, "name": v.Name, "source": v.Source, "url": v.URL, "secret": v.Secret})
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id\t%s\nname\t%s\nsource\t%s\nurl\t%s\nsecret\t%s\n", v.ID, v.Name, v.Source, v.URL, v.Secret)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(cmd.ErrOrStderr(), "the secret is shown only now: configure it on the sender")
	return nil
}

func newIntegrationsListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List integrations (without their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkOutput(); err != nil {
				return err
			}
			list, err := adminCall[[]ingress.IntegrationView](cmd, g, http.MethodGet, "/integrations", nil)
			if err != nil {
				return err
			}
			if g.output == "json" {
				return printJSON(cmd, list)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSOURCE\tCREATED\tURL")
			for _, v := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.ID, v.Name, v.Source, v.CreatedAt.Format("2006-01-02 15:04"), v.URL)
			}
			return tw.Flush()
		},
	}
}

func newIntegrationsRotateCmd(g *globals) *cobra.Command {
	var req ingress.RotateRequest
	var secret secretFlags
	cmd := &cobra.Command{
		Use:   "rotate ID [--overlap 24h] [--secret-file FILE | --secret-stdin]",
		Short: "Give an integration a new secret; the old one keeps verifying for --overlap",
		Long: `Give an integration a new webhook secret: random unless one is given with --secret-file,
--secret-stdin or HOOKFLOW_WEBHOOK_SECRET (at least 16 bytes); --secret takes it on the
command line, for development only.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkOutput(); err != nil {
				return err
			}
			var err error
			if req.Secret, err = secret.integrationSecret(cmd, g.env); err != nil {
				return err
			}
			out, err := adminCall[ingress.IntegrationView](cmd, g, http.MethodPost, "/integrations/"+args[0]+"/rotate", req)
			if err != nil {
				return err
			}
			return printIntegration(cmd, g, out)
		},
	}
	cmd.Flags().StringVar(&req.Overlap, "overlap", "24h", "how long the old secret keeps verifying (0 ends it at once)")
	secret.addFlags(cmd.Flags(), "the new webhook secret (default: a random one)")
	return cmd
}

func newIntegrationsDeleteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID",
		Short: "Delete an integration: its URL and secrets stop working at once",
		Long: `Delete an integration. Its URL stops accepting deliveries (answered 404, as an unknown
URL) and its secrets are gone; deliveries it already accepted stay in the journal and are
still forwarded. Other ingress replicas stop within their cache TTL. The deletion is
recorded in the admin audit log.`,
		Example: `  hookflow integrations delete int_abc`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkOutput(); err != nil {
				return err
			}
			out, err := adminCall[map[string]string](cmd, g, http.MethodDelete, "/integrations/"+url.PathEscape(args[0]), nil)
			if err != nil {
				return err
			}
			if g.output == "json" {
				return printJSON(cmd, out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", args[0])
			return nil
		},
	}
}
