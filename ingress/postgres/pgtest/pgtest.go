// Package pgtest gives tests a PostgreSQL schema of their own on the server
// named by HOOKFLOW_TEST_POSTGRES, so that tests run in parallel and
// repeatedly against one server.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/postgres"
)

// EnvDSN is the environment variable naming the test server, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvDSN = "HOOKFLOW_TEST_POSTGRES"

// ServerDSN returns the test server's DSN. When EnvDSN is unset the test
// is skipped, loudly, or fails when the CI variable is set: CI must never
// pass by skipping the PostgreSQL tests.
func ServerDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		const msg = "!!! " + EnvDSN + " is unset: the PostgreSQL tests did NOT run. " +
			"Point it at a server, e.g. " + EnvDSN + "=postgres://postgres@127.0.0.1:5432/test?sslmode=disable !!!"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set, so this is a failure)")
		}
		t.Skip(msg)
	}
	return dsn
}

// Schema creates a schema with a random name on the test server and
// returns a DSN whose sessions work in it. The schema is dropped when the
// test ends; register the cleanups that close what uses it after calling
// Schema, so that they run first.
func Schema(t testing.TB) string {
	t.Helper()
	dsn := ServerDSN(t)
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := "hookflow_test_" + hex.EncodeToString(b)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := postgres.Open(ctx, dsn)
	require.NoError(t, err)
	_, err = admin.ExecContext(ctx, `CREATE SCHEMA `+name)
	require.NoError(t, err)
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP SCHEMA `+name+` CASCADE`); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
		}
	})
	return WithParam(dsn, "search_path", name)
}

// WithParam returns dsn with the run-time parameter key set to value.
func WithParam(dsn, key, value string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return strings.TrimSpace(dsn) + " " + key + "=" + value
}
