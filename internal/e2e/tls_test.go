package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/internal/tlstest"
)

// TestTemporalMTLS runs the embedded Temporal with a TLS frontend that
// requires client certificates from a self-signed CA (as a production
// cluster with requireClientAuth does), then a worker and an ingress that
// reach it with --temporal-tls-*; the ingress serves webhooks over its
// own certificate (--tls-cert) and its admin API plain on --admin-http.
// Without a client certificate, with one from another CA, or in
// plaintext, the worker is refused at start.
func TestTemporalMTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end mTLS test; run without -short")
	}
	bin := hookflowBinary(t)
	sink := newRelaySink(t)
	ca := tlstest.NewCA(t, "hookflow test CA")
	other := tlstest.NewCA(t, "someone else's CA")
	frontend := ca.Server(t, "frontend", "temporal.test", "127.0.0.1")
	sysWorker := ca.Client(t, "system-worker", "temporal-system-worker")
	workerCert := ca.Client(t, "worker", "hookflow-worker")
	ingressClient := ca.Client(t, "ingress-client", "hookflow-ingress")
	ingressServer := ca.Server(t, "ingress-server", "127.0.0.1")
	stranger := other.Client(t, "stranger", "hookflow-worker")

	root := t.TempDir()
	temporalPort := freePortRange(t, 5)
	temporalAddr := fmt.Sprintf("127.0.0.1:%d", temporalPort)
	env := []string{"HOOKFLOW_RELAY_SECRET=" + relaySecret,
		"HOOKFLOW_DEV_TEMPORAL_TLS_CERT=" + frontend.CertFile, "HOOKFLOW_DEV_TEMPORAL_TLS_KEY=" + frontend.KeyFile,
		"HOOKFLOW_DEV_TEMPORAL_TLS_CLIENT_CA=" + ca.CertFile,
		"HOOKFLOW_DEV_TEMPORAL_TLS_WORKER_CERT=" + sysWorker.CertFile, "HOOKFLOW_DEV_TEMPORAL_TLS_WORKER_KEY=" + sysWorker.KeyFile,
		"HOOKFLOW_DEV_TEMPORAL_TLS_SERVER_NAME=temporal.test",
	}
	tp := startProc(t, "temporal", bin, env, "press Ctrl-C to stop", "dev", "--components", "temporal", "--data-dir", filepath.Join(root, "temporal"),
		"--temporal-port", strconv.Itoa(temporalPort), "--ui-port", "0")

	// Refused: the worker checks its connection at start (DialContext).
	refused := []struct {
		name string
		args []string
	}{
		{"plaintext", nil},
		{"no client certificate", []string{"--temporal-tls-ca", ca.CertFile, "--temporal-tls-server-name", "temporal.test"}},
		{"client certificate of another CA", []string{"--temporal-tls-ca", ca.CertFile, "--temporal-tls-server-name", "temporal.test",
			"--temporal-tls-cert", stranger.CertFile, "--temporal-tls-key", stranger.KeyFile}},
		{"frontend not trusted", []string{"--temporal-tls-ca", other.CertFile, "--temporal-tls-server-name", "temporal.test",
			"--temporal-tls-cert", workerCert.CertFile, "--temporal-tls-key", workerCert.KeyFile}},
	}
	for _, r := range refused {
		t.Run("refused/"+strings.ReplaceAll(r.name, " ", "_"), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			args := append([]string{"--data-dir", filepath.Join(root, "refused"), "worker", "--temporal-address", temporalAddr}, r.args...)
			start := time.Now()
			out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
			require.Error(t, err, "%s", out)
			require.NoError(t, ctx.Err(), "the worker gave up by itself")
			require.Contains(t, string(out), "connect to Temporal at "+temporalAddr)
			t.Logf("%s: refused after %s", r.name, time.Since(start).Round(100*time.Millisecond))
		})
	}

	tlsArgs := func(p tlstest.Pair) []string {
		return []string{"--temporal-tls-ca", ca.CertFile, "--temporal-tls-server-name", "temporal.test",
			"--temporal-tls-cert", p.CertFile, "--temporal-tls-key", p.KeyFile}
	}
	wp := startProc(t, "worker", bin, env, "polling", append([]string{"--data-dir", filepath.Join(root, "worker"), "worker",
		"--temporal-address", temporalAddr, "--relay-url", sink.URL}, tlsArgs(workerCert)...)...)
	httpAddr, adminAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	ingressDir := filepath.Join(root, "ingress")
	ip := startProc(t, "ingress", bin, env, "listening on https://", append([]string{"--data-dir", ingressDir, "ingress",
		"--http", httpAddr, "--admin-http", adminAddr, "--temporal-address", temporalAddr, "--rate-limit", "0",
		"--relay-url", sink.URL, "--tls-cert", ingressServer.CertFile, "--tls-key", ingressServer.KeyFile}, tlsArgs(ingressClient)...)...)
	cli := &devProcess{bin: bin, dataDir: ingressDir, ingressURL: "http://" + adminAddr}
	var in struct{ ID, URL, Secret string }
	require.NoError(t, json.Unmarshal(cli.cli(t, "integrations", "create", "--source", "generic", "--name", "mtls",
		"--option", "scheme=hmac", "--option", "keys=entity", "--output", "json"), &in))
	require.True(t, strings.HasPrefix(in.URL, "https://"), "the public URL of a TLS ingress is https: %s", in.URL)
	hook := "https://" + httpAddr + in.URL[strings.Index(in.URL, "/hooks/"):]

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}}
	const entities, perEntity = 2, 10
	for i := 1; i <= perEntity; i++ {
		for e := range entities {
			body := []byte(fmt.Sprintf(`{"entity":"e%d","n":%d,"type":"mtls"}`, e, i))
			status, answer := postGeneric(client, hook, in.Secret, fmt.Sprintf("e%d-%d", e, i), body)
			require.Equal(t, http.StatusAccepted, status, answer)
		}
	}
	status, _ := postGeneric(&http.Client{Timeout: 5 * time.Second}, "http://"+httpAddr+"/healthz", "", "plain", nil)
	require.NotEqual(t, http.StatusOK, status, "the webhook listener speaks TLS only")

	deadline := time.Now().Add(2 * time.Minute)
	for sink.unique() < entities*perEntity && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	r := sink.report(entities, perEntity)
	require.Zero(t, r.lost, "lost")
	require.Zero(t, r.doubled, "doubled")
	require.Zero(t, r.outOfOrder, "out of order")
	t.Logf("%d deliveries over HTTPS, forwarded by the ingress and applied by the worker, both over mTLS to Temporal", r.unique)

	// The audit command dials Temporal the same way.
	var list []struct {
		WorkflowIDs []string `json:"workflow_ids"`
	}
	require.NoError(t, json.Unmarshal(cli.cli(t, "deliveries", "list", "--output", "json"), &list))
	require.NotEmpty(t, list)
	require.NotEmpty(t, list[0].WorkflowIDs)
	out := cli.cli(t, append([]string{"audit", list[0].WorkflowIDs[0], "--temporal-address", temporalAddr}, tlsArgs(workerCert)...)...)
	require.Contains(t, string(out), "e")

	for _, p := range []*proc{ip, wp, tp} {
		p.stop(t)
	}
}
