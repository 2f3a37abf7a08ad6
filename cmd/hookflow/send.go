package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
)

func newSendCmd(g *globals) *cobra.Command {
	var target, event, delivery, contentType string
	var secretFlags secretFlags
	cmd := &cobra.Command{
		Use:   "send --url URL (--secret-file FILE | --secret-stdin) --event TYPE [--delivery ID] FILE|-",
		Short: "Sign a payload as GitHub does and POST it: the developer's testing tool",
		Long: `Read a JSON payload from FILE (or stdin with -), sign it with HMAC-SHA256 as GitHub does
(X-Hub-Signature-256), and POST it to an integration URL with X-GitHub-Event and
X-GitHub-Delivery (a random one unless --delivery is given). Prints the answer.
The integration's secret comes from --secret-file, --secret-stdin or
HOOKFLOW_WEBHOOK_SECRET; --secret takes it on the command line, for development only.`,
		Example: `  hookflow send --url http://127.0.0.1:8080/hooks/XXXX --secret-file secret.txt --event pull_request pr-opened.json
  HOOKFLOW_WEBHOOK_SECRET=... hookflow send --url http://127.0.0.1:8080/hooks/XXXX --event push - < push.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] == "-" && secretFlags.stdin {
				return errors.New("the payload and --secret-stdin cannot both be read from standard input: give the payload as a file, or the secret with --secret-file")
			}
			secret, _, err := secretFlags.get(cmd, g.env)
			if err != nil {
				return err
			}
			if secret == "" {
				return errors.New("no secret: give --secret-file, --secret-stdin or " + webhookSecretEnv)
			}
			var body []byte
			if args[0] == "-" {
				body, err = io.ReadAll(cmd.InOrStdin())
			} else {
				body, err = os.ReadFile(args[0])
			}
			if err != nil {
				return fmt.Errorf("read payload: %w", err)
			}
			if delivery == "" {
				delivery = uuid.NewString()
			}
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, target, bytes.NewReader(body))
			if err != nil {
				return fmt.Errorf("--url: %w", err)
			}
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write(body)
			req.Header.Set("Content-Type", contentType)
			req.Header.Set("User-Agent", "GitHub-Hookshot/hookflow-send")
			req.Header.Set("X-GitHub-Event", event)
			req.Header.Set("X-GitHub-Delivery", delivery)
			req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
			resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n%s", resp.Status, answer)
			if resp.StatusCode >= 300 {
				return fmt.Errorf("delivery %s refused: %s", delivery, resp.Status)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&target, "url", "", "integration URL")
	secretFlags.addFlags(f, "the integration's secret")
	f.StringVar(&event, "event", "", "GitHub event type (pull_request, push, ...)")
	f.StringVar(&delivery, "delivery", "", "delivery ID (default: a random UUID)")
	f.StringVar(&contentType, "content-type", "application/json", "Content-Type header")
	for _, n := range []string{"url", "event"} {
		_ = cmd.MarkFlagRequired(n)
	}
	return cmd
}
