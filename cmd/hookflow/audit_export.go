package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/ingress"
)

// checkAuditOutput accepts audit's formats: the global table and json,
// and the hand-over formats md and csv.
func checkAuditOutput(o string) error {
	switch o {
	case "table", "json", "md", "csv":
		return nil
	}
	return fmt.Errorf("--output must be table, json, md or csv, not %q", o)
}

// exportAudit adds the payload digests to steps and, for md and csv,
// prints the signed document; done says whether it printed. Table and
// json go on without digests (with a warning) when the server cannot be
// asked; md and csv, made to be handed over, need them and the signing
// key.
func exportAudit(cmd *cobra.Command, g *globals, workflowID string, steps []auditStep) (done bool, err error) {
	handOver := g.output == "md" || g.output == "csv"
	if err := addDigests(cmd, g, steps); err != nil {
		if handOver {
			return true, fmt.Errorf("payload digests: %w", err)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: payload digests left out: %v\n", err)
	}
	if !handOver {
		return false, nil
	}
	key, err := auditSigningKey(cmd.Context(), g, true)
	if err != nil {
		return true, err
	}
	var body []byte
	if g.output == "md" {
		body = renderAuditMarkdown(workflowID, steps, time.Now())
	} else {
		if body, err = renderAuditCSV(steps); err != nil {
			return true, err
		}
	}
	_, err = cmd.OutOrStdout().Write(signExport(body, g.output, key))
	return true, err
}

// addDigests sets each delivery's PayloadSHA256 from the journal, through
// the admin API (the payloads stay on the server).
func addDigests(cmd *cobra.Command, g *globals, steps []auditStep) error {
	var seqs []int64
	seen := map[int64]bool{}
	for _, s := range steps {
		for _, d := range s.Deliveries {
			if d.Seq > 0 && !seen[d.Seq] {
				seen[d.Seq] = true
				seqs = append(seqs, d.Seq)
			}
		}
	}
	if len(seqs) == 0 {
		return nil
	}
	a, err := g.admin()
	if err != nil {
		return err
	}
	sums := map[int64]string{}
	for len(seqs) > 0 {
		chunk := seqs[:min(len(seqs), 1000)]
		seqs = seqs[len(chunk):]
		var res ingress.DigestsResult
		if err := a.do(cmd.Context(), http.MethodPost, "/deliveries/digests", ingress.DigestsRequest{Seqs: chunk}, &res); err != nil {
			return err
		}
		for _, d := range res.Digests {
			sums[d.Seq] = d.SHA256
		}
	}
	for i := range steps {
		for j := range steps[i].Deliveries {
			d := &steps[i].Deliveries[j]
			d.PayloadSHA256 = sums[d.Seq]
		}
	}
	return nil
}

// mdCell makes s safe in a Markdown table cell: one line, no column
// break, no HTML.
func mdCell(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
	if s == "" {
		return " "
	}
	return s
}

// renderAuditMarkdown is the export as a readable document: a summary, the
// deliveries, then every step.
func renderAuditMarkdown(workflowID string, steps []auditStep, now time.Time) []byte {
	var b bytes.Buffer
	runs, deliveries, activities := []string{}, 0, 0
	for _, s := range steps {
		if len(runs) == 0 || runs[len(runs)-1] != s.RunID {
			runs = append(runs, s.RunID)
		}
		deliveries += len(s.Deliveries)
		if s.Step == "activity.scheduled" {
			activities++
		}
	}
	fmt.Fprintf(&b, "# Audit record of `%s`\n\n", strings.ReplaceAll(workflowID, "`", "'"))
	fmt.Fprintf(&b, "- Exported: %s by `hookflow audit`, from the workflow's histories in Temporal and the delivery journal\n", now.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "- Runs: %d (continue-as-new runs followed from the first)\n", len(runs))
	fmt.Fprintf(&b, "- Deliveries applied or dropped: %d; activities scheduled: %d\n", deliveries, activities)
	if len(steps) > 0 {
		fmt.Fprintf(&b, "- From %s to %s (UTC)\n", steps[0].Time.UTC().Format(time.RFC3339Nano), steps[len(steps)-1].Time.UTC().Format(time.RFC3339Nano))
	}
	b.WriteString("- Payload digests are SHA-256 of the bytes the sender sent, as the journal holds them; the signature at the end covers everything above it\n")

	b.WriteString("\n## Deliveries\n\n| # | Signalled (UTC) | Received (UTC) | Source | Event | Delivery ID | Integration | Payload SHA-256 |\n|---|---|---|---|---|---|---|---|\n")
	n := 0
	for _, s := range steps {
		for _, d := range s.Deliveries {
			n++
			ev := d.Event
			if d.Action != "" {
				ev += "." + d.Action
			}
			sum := d.PayloadSHA256
			if sum == "" {
				sum = "(not in the journal)"
			}
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s | %s |\n", n, s.Time.UTC().Format(time.RFC3339Nano), mdCell(d.ReceivedAt),
				mdCell(d.Source), mdCell(ev), mdCell(d.DeliveryID), mdCell(d.Integration), mdCell(sum))
		}
	}
	if n == 0 {
		b.WriteString("| | | | | | | | |\n")
	}

	b.WriteString("\n## Steps\n\n| Time (UTC) | Run | Step | What | Attempt | Duration | Result or error |\n|---|---|---|---|---|---|---|\n")
	for _, s := range steps {
		what := s.Activity
		for i, d := range s.Deliveries {
			if i > 0 {
				what += ", "
			}
			what += d.DeliveryID
		}
		attempt := ""
		if s.Attempt > 0 {
			attempt = strconv.Itoa(int(s.Attempt))
		}
		result := s.Detail
		if s.ErrorType != "" {
			result = s.ErrorType + ": " + result
		}
		run := s.RunID
		if len(run) > 8 {
			run = run[:8]
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", s.Time.UTC().Format(time.RFC3339Nano), mdCell(run), mdCell(s.Step), mdCell(what),
			mdCell(attempt), mdCell(s.Duration), mdCell(result))
	}
	return b.Bytes()
}

// csvCell keeps a spreadsheet from reading a cell as a formula.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// renderAuditCSV is the export as a sheet: one row per step, and one per
// delivery of a signal that carried several.
func renderAuditCSV(steps []auditStep) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"time", "run_id", "step", "activity", "attempt", "duration", "error_type", "detail",
		"delivery_id", "integration", "source", "event", "action", "received_at", "journal_seq", "payload_sha256"})
	for _, s := range steps {
		attempt := ""
		if s.Attempt > 0 {
			attempt = strconv.Itoa(int(s.Attempt))
		}
		row := []string{s.Time.UTC().Format(time.RFC3339Nano), s.RunID, s.Step, s.Activity, attempt, s.Duration, s.ErrorType, s.Detail}
		if len(s.Deliveries) == 0 {
			row = append(row, "", "", "", "", "", "", "", "")
			for i := range row {
				row[i] = csvCell(row[i])
			}
			_ = w.Write(row)
			continue
		}
		for _, d := range s.Deliveries {
			seq := ""
			if d.Seq > 0 {
				seq = strconv.FormatInt(d.Seq, 10)
			}
			r := append(append([]string(nil), row...), d.DeliveryID, d.Integration, d.Source, d.Event, d.Action, d.ReceivedAt, seq, d.PayloadSHA256)
			for i := range r {
				r[i] = csvCell(r[i])
			}
			_ = w.Write(r)
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}
