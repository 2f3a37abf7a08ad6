package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/ingress"
)

func newKeysCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "keys",
		Aliases: []string{"key"},
		Short:   "Issue, list and revoke API keys for generic senders and CI systems",
		Long: `API keys authenticate deliveries to a generic integration created with
--option scheme=apikey: the sender sends "Authorization: Bearer <key>" or "X-API-Key: <key>".
A key is shown once; the server keeps only its hash.`,
	}
	cmd.AddCommand(newKeysCreateCmd(g), newKeysListCmd(g), newKeysRevokeCmd(g))
	return cmd
}

func newKeysCreateCmd(g *globals) *cobra.Command {
	var req ingress.CreateKeyRequest
	cmd := &cobra.Command{
		Use:     "create --integration ID --name NAME [--scope deployments,incidents] [--expires 90d]",
		Short:   "Issue an API key (shown once)",
		Example: `  hookflow keys create --integration int_abc --name jenkins --expires 90d --output json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkOutput(); err != nil {
				return err
			}
			out, err := adminCall[ingress.KeyView](cmd, g, http.MethodPost, "/keys", req)
			if err != nil {
				return err
			}
			if g.output == "json" {
				return printJSON(cmd, out)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			scopes := "all"
			if len(out.Scopes) > 0 {
				scopes = strings.Join(out.Scopes, ",")
			}
			fmt.Fprintf(tw, "id\t%s\nintegration\t%s\nname\t%s\nscopes\t%s\nexpires\t%s\nkey\t%s\n", out.ID, out.Integration, out.Name, scopes, when(out.ExpiresAt, "never"), out.Secret)
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "the key is shown only now: store it in the sender's secret store")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Integration, "integration", "", "integration ID")
	f.StringVar(&req.Name, "name", "", "what the key is for")
	f.StringVar(&req.Expires, "expires", "", "lifetime: 90d, 720h (default: never)")
	f.StringSliceVar(&req.Scopes, "scope", nil, "what the key may send, comma separated: deployments, incidents (dora integrations; default: every scope)")
	_ = cmd.MarkFlagRequired("integration")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func newKeysListCmd(g *globals) *cobra.Command {
	var integration string
	cmd := &cobra.Command{
		Use:   "list [--integration ID]",
		Short: "List API keys: prefix, name, created, last used, expiry",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkOutput(); err != nil {
				return err
			}
			keys, err := adminCall[[]ingress.KeyView](cmd, g, http.MethodGet, "/keys?integration="+url.QueryEscape(integration), nil)
			if err != nil {
				return err
			}
			if g.output == "json" {
				return printJSON(cmd, keys)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tPREFIX\tNAME\tINTEGRATION\tCREATED\tLAST USED\tEXPIRES\tREVOKED")
			for _, k := range keys {
				fmt.Fprintf(tw, "%s\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Name, k.Integration, when(k.CreatedAt, ""),
					when(k.LastUsedAt, "never"), when(k.ExpiresAt, "never"), when(k.RevokedAt, "-"))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&integration, "integration", "", "only this integration's keys")
	return cmd
}

func newKeysRevokeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API key; it stops verifying at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := g.admin()
			if err != nil {
				return err
			}
			if err := a.do(cmd.Context(), http.MethodDelete, "/keys/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s\n", args[0])
			return nil
		},
	}
}

func when(t time.Time, zero string) string {
	if t.IsZero() {
		return zero
	}
	return t.Local().Format("2006-01-02 15:04")
}
