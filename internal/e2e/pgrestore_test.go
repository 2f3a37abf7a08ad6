package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/postgres"
	"github.com/hookflow/hookflow/ingress/postgres/pgtest"
)

// TestPostgresDumpRestore is the PostgreSQL procedure of
// docs/operations.md: pg_dump --format=custom of the journal's schema
// while an ingress accepts deliveries, pg_restore into a fresh database,
// an ingress on the restored database with the same HOOKFLOW_SECRET_KEY.
// Every delivery answered before the dump started is in the restored
// journal, the integration verifies signatures, a redelivery is answered
// as a duplicate.
func TestPostgresDumpRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end PostgreSQL restore; run without -short")
	}
	for _, tool := range []string{"pg_dump", "pg_restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (.ci/run installs postgresql-client): %v", tool, err)
		}
	}
	server := pgtest.ServerDSN(t)
	dsn := pgtest.Schema(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	schema := u.Query().Get("search_path")
	require.NotEmpty(t, schema)

	bin := hookflowBinary(t)
	root := t.TempDir()
	env := []string{"HOOKFLOW_SECRET_KEY=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))}
	// ingress starts an ingress on journalDSN; it returns the process, the
	// webhook base URL and a CLI pointed at its admin listener.
	ingress := func(name, journalDSN string) (*proc, string, *devProcess) {
		httpAddr, adminAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))
		dir := filepath.Join(root, name)
		p := startProc(t, name, bin, env, "listening on", "--data-dir", dir, "ingress", "--http", httpAddr, "--admin-http", adminAddr,
			"--journal", journalDSN, "--forward=false", "--rate-limit", "0",
			// The relay blueprint subscribes to generic events, so they are
			// routed (accepted, 202) rather than ignored; nothing forwards.
			"--relay-url", "http://127.0.0.1:9")
		return p, "http://" + httpAddr, &devProcess{bin: bin, dataDir: dir, ingressURL: "http://" + adminAddr}
	}
	ia, hookA, cliA := ingress("ingress-a", dsn)
	var in struct{ ID, URL, Secret string }
	require.NoError(t, json.Unmarshal(cliA.cli(t, "integrations", "create", "--source", "generic", "--name", "pg-drill",
		"--option", "scheme=hmac", "--option", "keys=entity", "--output", "json"), &in))
	path := in.URL[strings.Index(in.URL, "/hooks/"):]

	// A steady stream while the dump runs.
	client := &http.Client{Timeout: 5 * time.Second}
	var mu sync.Mutex
	var acked []string
	var n atomic.Int64
	var refused atomic.Value // the first answer other than 202
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			i := n.Add(1)
			id := fmt.Sprintf("pg-%d", i)
			status, answer := postGeneric(client, hookA+path, in.Secret, id, []byte(fmt.Sprintf(`{"entity":"e%d","n":%d}`, i%5, i)))
			if status == http.StatusAccepted {
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			} else {
				refused.CompareAndSwap(nil, fmt.Sprintf("%d %s", status, answer))
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		k := len(acked)
		mu.Unlock()
		if k >= 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d deliveries accepted in a minute; first refusal: %v", k, n.Load(), refused.Load())
		}
	}
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()
	dump := filepath.Join(root, "journal.dump")
	start := time.Now()
	out, err := exec.Command("pg_dump", "--format=custom", "--no-owner", "--schema="+schema, "--file="+dump, "--dbname="+server).CombinedOutput()
	require.NoError(t, err, "pg_dump: %s", out)
	dumpTook := time.Since(start)
	close(stop)
	wg.Wait()
	ia.stop(t)

	// A fresh database, as after losing the server.
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	dbName := "hookflow_restore_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := postgres.Open(ctx, server)
	require.NoError(t, err)
	_, err = admin.ExecContext(ctx, `CREATE DATABASE `+dbName)
	require.NoError(t, err)
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP DATABASE `+dbName+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", dbName, err)
		}
	})
	restoredServer := *u
	restoredServer.Path = "/" + dbName
	q := restoredServer.Query()
	q.Del("search_path")
	restoredServer.RawQuery = q.Encode()
	start = time.Now()
	out, err = exec.Command("pg_restore", "--no-owner", "--exit-on-error", "--dbname="+restoredServer.String(), dump).CombinedOutput()
	require.NoError(t, err, "pg_restore: %s", out)
	restoreTook := time.Since(start)

	ib, hookB, cliB := ingress("ingress-b", pgtest.WithParam(restoredServer.String(), "search_path", schema))
	var list []struct {
		DeliveryID string `json:"delivery_id"`
		Status     string `json:"status"`
	}
	require.NoError(t, json.Unmarshal(cliB.cli(t, "deliveries", "list", "--limit", "100000", "--output", "json"), &list))
	have := map[string]bool{}
	for _, d := range list {
		have[d.DeliveryID] = true
	}
	for _, id := range before {
		require.True(t, have[id], "%s was answered before pg_dump started but is not in the restored journal", id)
	}
	status, answer := postGeneric(client, hookB+path, in.Secret, before[0], []byte(`{"entity":"e1","n":1}`))
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, answer, "duplicate")
	status, _ = postGeneric(client, hookB+path, in.Secret, "after-restore", []byte(`{"entity":"e1","n":0}`))
	require.Equal(t, http.StatusAccepted, status, "the restored integration verifies with the same HOOKFLOW_SECRET_KEY")
	status, _ = postGeneric(client, hookB+path, "wrong-secret", "forged", []byte(`{"entity":"e1","n":0}`))
	require.Equal(t, http.StatusUnauthorized, status)
	t.Logf("pg_dump of the journal schema under load: %s (%d deliveries answered before it started, %d in the restored journal); pg_restore into a fresh database: %s",
		dumpTook.Round(time.Millisecond), len(before), len(list), restoreTook.Round(time.Millisecond))
	ib.stop(t)
}
