package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func auditFixture() []auditStep {
	t0 := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	return []auditStep{
		{Time: t0, RunID: "run-one-0123456789", Step: "workflow.started", Detail: "prcomment.PullRequest"},
		{Time: t0.Add(time.Second), RunID: "run-one-0123456789", Step: "delivery", Deliveries: []auditDelivery{
			{DeliveryID: "d-1", Integration: "int_a", Source: "github", Event: "pull_request", Action: "opened", ReceivedAt: t0.Format(time.RFC3339Nano), Seq: 7, PayloadSHA256: strings.Repeat("ab", 32)},
			{DeliveryID: "=HYPERLINK(\"x\")", Integration: "int_a", Source: "github", Event: "pull_request", Action: "edited", ReceivedAt: t0.Format(time.RFC3339Nano), Seq: 8},
		}},
		{Time: t0.Add(2 * time.Second), RunID: "run-one-0123456789", Step: "activity.scheduled", Activity: "github.CreateComment"},
		{Time: t0.Add(3 * time.Second), RunID: "run-one-0123456789", Step: "activity.failed", Activity: "github.CreateComment", Attempt: 1,
			Duration: "1s", ErrorType: "hookflow.AuthError", Detail: "401 | <script>alert(1)</script>\nsecond line"},
		{Time: t0.Add(4 * time.Second), RunID: "run-one-0123456789", Step: "workflow.completed"},
	}
}

func TestAuditMarkdown(t *testing.T) {
	t.Parallel()
	md := string(renderAuditMarkdown("github/o/r/pr/1", auditFixture(), time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)))
	require.Contains(t, md, "# Audit record of `github/o/r/pr/1`\n")
	require.Contains(t, md, "- Exported: 2026-12-02T09:00:00Z")
	require.Contains(t, md, "- Runs: 1")
	require.Contains(t, md, "- Deliveries applied or dropped: 2; activities scheduled: 1")
	require.Contains(t, md, "| 1 | 2026-12-02T08:00:01Z | 2026-12-02T08:00:00Z | github | pull_request.opened | d-1 | int_a | "+strings.Repeat("ab", 32)+" |")
	require.Contains(t, md, "| (not in the journal) |", "a pruned entry says so")
	require.Contains(t, md, "| 2026-12-02T08:00:03Z | run-one- | activity.failed | github.CreateComment | 1 | 1s | hookflow.AuthError: 401 \\| &lt;script&gt;alert(1)&lt;/script&gt; second line |")
	require.NotContains(t, md, "<script>")
	for _, line := range strings.Split(strings.TrimSpace(md), "\n") {
		if strings.HasPrefix(line, "| 2026") {
			require.Equal(t, 8, strings.Count(strings.ReplaceAll(line, `\|`, ""), "|"), "seven columns: %s", line)
		}
	}
}

func TestAuditCSV(t *testing.T) {
	t.Parallel()
	b, err := renderAuditCSV(auditFixture())
	require.NoError(t, err)
	r := csv.NewReader(bytes.NewReader(b))
	rows, err := r.ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 1+6, "a header, a row per step and one more for the signal's second delivery")
	require.Equal(t, "payload_sha256", rows[0][15])
	require.Equal(t, []string{"d-1", "7", strings.Repeat("ab", 32)}, []string{rows[2][8], rows[2][14], rows[2][15]})
	require.Equal(t, `'=HYPERLINK("x")`, rows[3][8], "no formula for a spreadsheet to run")
	require.Equal(t, "hookflow.AuthError", rows[5][6])
	require.Contains(t, rows[5][7], "second line")
}

// A signed export verifies; any change to it, its signature or its key
// does not; the key lives in the token store and stays the same.
func TestAuditSignAndVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	g := &globals{dataDir: dir, output: "table", getenv: func(string) string { return "" }}
	_, err := auditSigningKey(ctx, g, false)
	require.ErrorContains(t, err, "hookflow-audit/ed25519", "no key before the first signed export")
	out, err := runCmd(t, newAuditCmd(g), "", "public-key")
	require.NoError(t, err)
	pub := strings.TrimSpace(out)
	require.True(t, strings.HasPrefix(pub, "ed25519:"), pub)
	again, err := runCmd(t, newAuditCmd(g), "", "public-key")
	require.NoError(t, err)
	require.Equal(t, out, again, "one key, kept in the token store")
	stored, err := os.ReadFile(filepath.Join(dir, "tokens.enc"))
	require.NoError(t, err)
	require.NotContains(t, string(stored), "hookflow-audit", "the token file is encrypted")

	key, err := auditSigningKey(ctx, g, false)
	require.NoError(t, err)
	other := &globals{dataDir: t.TempDir(), getenv: func(string) string { return "" }}
	otherKey, err := auditSigningKey(ctx, other, true)
	require.NoError(t, err)

	md := signExport(renderAuditMarkdown("github/o/r/pr/1", auditFixture(), time.Now()), "md", key)
	csvOut, err := renderAuditCSV(auditFixture())
	require.NoError(t, err)
	signedCSV := signExport(csvOut, "csv", key)
	r := csv.NewReader(bytes.NewReader(signedCSV))
	r.Comment = '#'
	parsed, err := r.ReadAll()
	require.NoError(t, err, "the signature is a comment line to a CSV reader")
	require.Len(t, parsed, 7)
	require.Contains(t, string(md), "## Signature\n\nSigned with the ed25519 key `"+pub+"`")

	write := func(name string, b []byte) string {
		p := filepath.Join(t.TempDir(), name)
		require.NoError(t, os.WriteFile(p, b, 0o600))
		return p
	}
	tampered := bytes.Replace(md, []byte("| d-1 |"), []byte("| d-2 |"), 1)
	require.NotEqual(t, md, tampered)
	lastLine := bytes.LastIndexByte(bytes.TrimSuffix(md, []byte("\n")), '\n')
	sigTampered := append(append([]byte(nil), md[:lastLine+1]...), bytes.Replace(md[lastLine+1:], []byte("ed25519:"+pub[8:12]), []byte("ed25519:AAAA"), 1)...)
	for _, tc := range []struct {
		name, file string
		args       []string
		g          *globals
		want, err  string
	}{
		{"md with the store's key", write("a.md", md), nil, g, "signature valid, made with " + pub + " (the token store's key)", ""},
		{"csv with the published key", write("a.csv", signedCSV), []string{"--public-key", pub}, other, "(--public-key)", ""},
		{"no key to compare", write("b.md", md), nil, &globals{dataDir: filepath.Join(t.TempDir(), "missing", "x"), getenv: func(string) string { return "" }}, "compare it with the published key", ""},
		{"a changed delivery ID", write("c.md", tampered), nil, g, "", "the export was altered"},
		{"another key", write("d.md", signExport(renderAuditMarkdown("w", auditFixture(), time.Now()), "md", otherKey)), []string{"--public-key", pub}, g, "", "the signature is intact but was made with"},
		{"a changed key in the signature line", write("e.md", sigTampered), nil, other, "", "does not match"},
		{"text after the signature", write("f.md", append(append([]byte(nil), md...), []byte("appended\n")...)), nil, g, "", "malformed"},
		{"unsigned", write("g.md", renderAuditMarkdown("w", auditFixture(), time.Now())), nil, g, "", "no hookflow audit signature"},
		{"a bad --public-key", write("h.md", md), []string{"--public-key", "rsa:abc"}, g, "", "not an ed25519 public key"},
	} {
		out, err := runCmd(t, newAuditCmd(tc.g), "", append([]string{"verify", tc.file}, tc.args...)...)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.name)
			continue
		}
		require.NoError(t, err, tc.name)
		require.Contains(t, out, tc.want, tc.name)
	}
	out, err = runCmd(t, newAuditCmd(g), string(md), "verify", "-")
	require.NoError(t, err, "standard input")
	require.Contains(t, out, "signature valid")
	require.Error(t, checkAuditOutput("xml"))
}
