package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/sqlite"
)

// TestRestoreDrill is the disaster drill of docs/operations.md on the
// SQLite journal: a paced stream of signed deliveries; `hookflow backup`
// while it runs; the ingress SIGKILLed later (its data directory is taken
// to be lost); `hookflow restore` into a fresh data directory, refused
// without the secret key and accepted with it; a new ingress on it. The
// senders redeliver what the restored journal lacks (what `hookflow
// recover` asks GitHub and GitLab for) before they reach the new ingress,
// then go on. Every delivery acknowledged before the backup started is in
// the restored journal, the restored integration verifies signatures, and
// every delivery takes effect exactly once, in order.
func TestRestoreDrill(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end restore drill; run without -short")
	}
	const entities, perEntity = 30, 30
	n := entities * perEntity
	bin := hookflowBinary(t)
	sink := newRelaySink(t)
	root := t.TempDir()
	dirA, dirB := filepath.Join(root, "ingress-a"), filepath.Join(root, "ingress-b")
	temporalPort := freePortRange(t, 5)
	temporalAddr := fmt.Sprintf("127.0.0.1:%d", temporalPort)
	// No HOOKFLOW_SECRET_KEY: the ingress's own secret.key encrypts the
	// integration's secret, which is what the restore must deal with.
	env := []string{"HOOKFLOW_RELAY_SECRET=" + relaySecret}
	addrA, addrB := fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))

	tp := startProc(t, "temporal", bin, env, "press Ctrl-C to stop", "dev", "--components", "temporal", "--data-dir", filepath.Join(root, "temporal"),
		"--temporal-port", strconv.Itoa(temporalPort), "--ui-port", "0")
	wp := startProc(t, "worker", bin, env, "polling", "--data-dir", filepath.Join(root, "worker"), "worker", "--temporal-address", temporalAddr, "--relay-url", sink.URL)
	ingress := func(dir, addr string) *proc {
		return startProc(t, filepath.Base(dir), bin, env, "listening on", "--data-dir", dir, "ingress", "--http", addr, "--temporal-address", temporalAddr, "--rate-limit", "0",
			"--relay-url", sink.URL) // the relay blueprint subscribes to the drill's generic events
	}
	ia := ingress(dirA, addrA)
	cliA := &devProcess{bin: bin, dataDir: dirA, ingressURL: "http://" + addrA}
	var in struct{ ID, URL, Secret string }
	require.NoError(t, json.Unmarshal(cliA.cli(t, "integrations", "create", "--source", "generic", "--name", "drill",
		"--option", "scheme=hmac", "--option", "keys=entity", "--output", "json"), &in))
	path := in.URL[strings.Index(in.URL, "/hooks/"):]
	var target atomic.Value // the base URL senders post to
	target.Store("http://" + addrA)

	body := func(e, i int) []byte {
		return []byte(fmt.Sprintf(`{"entity":"e%d","n":%d,"type":"drill","pad":%q}`, e, i, strings.Repeat("x", 256)))
	}
	// acked[id] is when the delivery was first answered 2xx.
	var mu sync.Mutex
	acked := map[string]time.Time{}
	var sent, retries atomic.Int64
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: entities}}
	pace := time.NewTicker(30 * time.Second / time.Duration(n))
	defer pace.Stop()
	var wg sync.WaitGroup
	start := time.Now()
	for e := range entities {
		wg.Go(func() {
			for i := 1; i <= perEntity; i++ {
				id := fmt.Sprintf("e%d-%d", e, i)
				<-pace.C
				for attempt := 0; ; attempt++ {
					status, answer := postGeneric(client, target.Load().(string)+path, in.Secret, id, body(e, i))
					if status == http.StatusAccepted || (status == http.StatusOK && strings.Contains(answer, `"duplicate"`)) {
						break
					}
					retries.Add(1)
					time.Sleep(min(time.Second, time.Duration(50<<min(attempt, 5))*time.Millisecond))
				}
				mu.Lock()
				acked[id] = time.Now()
				mu.Unlock()
				sent.Add(1)
			}
		})
	}
	waitSent := func(frac float64) {
		for float64(sent.Load()) < frac*float64(n) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	var timeline []string
	mark := func(s string) { timeline = append(timeline, fmt.Sprintf("%6.1fs  %s", time.Since(start).Seconds(), s)) }

	// The backup, under load.
	waitSent(0.35)
	mu.Lock()
	before := map[string]bool{}
	for id := range acked {
		before[id] = true
	}
	mu.Unlock()
	archive := filepath.Join(root, "hookflow.backup")
	sentAtBackup := sent.Load()
	out, err := exec.Command(bin, "--data-dir", dirA, "backup", "--to", archive).CombinedOutput()
	require.NoError(t, err, "%s", out)
	mark(fmt.Sprintf("backup taken while deliveries %d..%d were answered: %s", sentAtBackup, sent.Load(), strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])))
	require.Contains(t, string(out), "the secret key is NOT in the backup")

	// The disaster: the ingress and its data directory are gone.
	waitSent(0.7)
	ia.kill(t)
	mark(fmt.Sprintf("ingress A SIGKILLed after %d deliveries were answered; its data directory is taken as lost", sent.Load()))

	// Restore: refused without the key, accepted with it.
	out, err = exec.Command(bin, "--data-dir", dirB, "restore", "--from", archive).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "the backup holds no secret key")
	out, err = exec.Command(bin, "--data-dir", dirB, "restore", "--from", archive, "--secret-key-file", filepath.Join(dirA, "secret.key")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	mark(strings.TrimSpace(string(out)))
	inJournal := journalDeliveryIDs(t, filepath.Join(dirB, "hookflow.db"))
	for id := range before {
		require.True(t, inJournal[id], "delivery %s was answered before the backup started but is not in the restored journal", id)
	}

	ib := ingress(dirB, addrB)
	mark("ingress B started on the restored data directory")
	// The restored integration verifies: a bad signature is refused, a
	// good one accepted (the redeliveries below).
	status, _ := postGeneric(client, "http://"+addrB+path, "not-the-secret", "bad-signature", body(0, 0))
	require.Equal(t, http.StatusUnauthorized, status)

	// Redeliver, in order per entity, what was answered but is not in the
	// restored journal, before the senders reach ingress B.
	mu.Lock()
	var missing []string
	for id := range acked {
		if !inJournal[id] {
			missing = append(missing, id)
		}
	}
	mu.Unlock()
	sort.Slice(missing, func(i, j int) bool { return deliveryOrder(missing[i]) < deliveryOrder(missing[j]) })
	for _, id := range missing {
		var e, i int
		_, err := fmt.Sscanf(id, "e%d-%d", &e, &i)
		require.NoError(t, err)
		status, answer := postGeneric(client, "http://"+addrB+path, in.Secret, id, body(e, i))
		require.Equal(t, http.StatusAccepted, status, "redelivery of %s: %s", id, answer)
	}
	mark(fmt.Sprintf("%d deliveries answered after the backup redelivered to ingress B (%d were in the restored journal)", len(missing), len(inJournal)))
	target.Store("http://" + addrB)
	mark("senders switched to ingress B")
	wg.Wait()
	mark(fmt.Sprintf("all %d deliveries answered 2xx", n))

	deadline := time.Now().Add(5 * time.Minute)
	for sink.unique() < n && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // anything doubled would show up now
	r := sink.report(entities, perEntity)
	mark(fmt.Sprintf("%d effects at the function", r.unique))
	t.Logf("\n%s\n\nrestore drill: N=%d over %d entities\n  answered before the backup %d (all in the restored journal)\n  sender retries             %d\n  applied (unique effects)   %d\n  calls retried by Temporal  %d\n  doubled                    %d\n  out-of-order               %d\n  lost                       %d",
		strings.Join(timeline, "\n"), n, entities, len(before), retries.Load(), r.unique, r.retriedCalls, r.doubled, r.outOfOrder, r.lost)
	require.Positive(t, retries.Load(), "the ingress was killed while deliveries were in flight")
	require.Zero(t, r.lost, "lost")
	require.Zero(t, r.doubled, "doubled")
	require.Zero(t, r.outOfOrder, "out of order")
	require.Equal(t, n, r.unique)
	require.Zero(t, sink.badSignatures.Load())

	for _, p := range []*proc{ib, wp, tp} {
		p.stop(t)
		require.NotContains(t, p.stderr.String(), in.Secret)
	}
}

// deliveryOrder sorts "e<entity>-<n>" by entity, then n.
func deliveryOrder(id string) int {
	var e, i int
	_, _ = fmt.Sscanf(id, "e%d-%d", &e, &i)
	return e*1_000_000 + i
}

// journalDeliveryIDs reads every delivery ID in a SQLite journal.
func journalDeliveryIDs(t *testing.T, path string) map[string]bool {
	t.Helper()
	_, err := os.Stat(path)
	require.NoError(t, err)
	db, err := sqlite.Open(path)
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.QueryContext(context.Background(), `SELECT delivery_id FROM deliveries WHERE status NOT IN ('rejected', 'duplicate')`)
	require.NoError(t, err)
	defer rows.Close()
	ids := map[string]bool{}
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		ids[id] = true
	}
	require.NoError(t, rows.Err())
	return ids
}
