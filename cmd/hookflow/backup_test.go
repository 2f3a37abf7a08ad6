package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/tokens"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/journal"
	"github.com/hookflow/hookflow/workflows"
)

// runRoot runs "hookflow ARGS" and returns what it printed.
func runRoot(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// seedDataDir makes a data directory as a server leaves it: an
// integration, journal entries and a stored token, encrypted with the
// directory's own secret.key.
func seedDataDir(t *testing.T) (dir string, in integrations.Integration) {
	t.Helper()
	if os.Getenv("HOOKFLOW_SECRET_KEY") != "" {
		t.Skip("HOOKFLOW_SECRET_KEY is set: these tests exercise the data directory's secret.key")
	}
	ctx := context.Background()
	dir = t.TempDir()
	st, err := openStores(ctx, dir, "")
	require.NoError(t, err)
	defer st.Close()
	in, err = st.integrations.Create(ctx, integrations.Integration{Name: "backup-test", Source: "generic", Options: map[string]string{"scheme": "hmac"}})
	require.NoError(t, err)
	for _, id := range []string{"d-1", "d-2", "d-3"} {
		_, err := st.journal.Append(ctx, journal.Entry{Status: journal.Ignored,
			Event: workflows.Event{Integration: in.ID, DeliveryID: id, Source: "generic", Type: "push", Payload: []byte(`{}`)}})
		require.NoError(t, err)
	}
	key, err := secretKey(dir)
	require.NoError(t, err)
	tf, err := tokens.NewFile(filepath.Join(dir, tokens.DefaultFileName), key)
	require.NoError(t, err)
	require.NoError(t, tf.Put(ctx, tokens.Key{System: "github", Installation: "42"}, "ghs_storedTokenValue0123456789"))
	return dir, in
}

// TestBackupRestore backs up a data directory and restores it in the ways
// an operator would, right and wrong.
func TestBackupRestore(t *testing.T) {
	t.Parallel()
	src, in := seedDataDir(t)
	archive := filepath.Join(t.TempDir(), "hookflow.backup")
	out, err := runRoot(t, "--data-dir", src, "backup", "--to", archive)
	require.NoError(t, err)
	require.Contains(t, out, "3 deliveries, 1 integrations")
	require.Contains(t, out, "the secret key is NOT in the backup")
	st, err := os.Stat(archive)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	withKey := filepath.Join(t.TempDir(), "with-key.backup")
	_, err = runRoot(t, "--data-dir", src, "backup", "--to", withKey, "--include-secret-key")
	require.NoError(t, err)

	wrongKey := filepath.Join(t.TempDir(), "secret.key")
	require.NoError(t, os.WriteFile(wrongKey, []byte("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"), 0o600))
	nonEmpty := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(nonEmpty, "hookflow.db"), []byte("old"), 0o600))

	tests := []struct {
		name    string
		target  string
		args    []string
		wantErr string
	}{
		{"no key anywhere", "", []string{"--from", archive}, "the backup holds no secret key"},
		{"wrong key", "", []string{"--from", archive, "--secret-key-file", wrongKey}, "does not decrypt this backup"},
		{"key from a file", "", []string{"--from", archive, "--secret-key-file", filepath.Join(src, "secret.key")}, ""},
		{"key in the backup", "", []string{"--from", withKey}, ""},
		{"non-empty target", nonEmpty, []string{"--from", withKey}, "is not empty"},
		{"no data dir", "-", []string{"--from", withKey}, "--data-dir DIR is required"},
		{"not a backup", "", []string{"--from", filepath.Join(src, "secret.key")}, "not a hookflow backup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target := tt.target
			if target == "" {
				target = filepath.Join(t.TempDir(), "restored")
			}
			args := append([]string{"--data-dir", target, "restore"}, tt.args...)
			if target == "-" {
				args = append([]string{"restore"}, tt.args...)
			}
			out, err := runRoot(t, args...)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				if target != "-" && target != nonEmpty {
					_, serr := os.Stat(filepath.Join(target, "hookflow.db"))
					require.ErrorIs(t, serr, os.ErrNotExist, "a refused restore writes no journal")
				}
				return
			}
			require.NoError(t, err)
			require.Contains(t, out, "3 deliveries, 1 integrations")
			checkRestored(t, target, in)
		})
	}

	t.Run("force replaces", func(t *testing.T) {
		t.Parallel()
		target := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(target, "hookflow.db"), []byte("old"), 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(target, "hookflow.db-wal"), []byte("old wal"), 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(target, "keep.txt"), []byte("mine"), 0o600))
		_, err := runRoot(t, "--data-dir", target, "restore", "--from", withKey, "--force")
		require.NoError(t, err)
		checkRestored(t, target, in)
		b, err := os.ReadFile(filepath.Join(target, "keep.txt"))
		require.NoError(t, err)
		require.Equal(t, "mine", string(b), "files restore does not own stay")
	})
}

// checkRestored opens the restored directory as a server would: the
// journal has every entry, the integration verifies with its secret, the
// token decrypts.
func checkRestored(t *testing.T, dir string, in integrations.Integration) {
	t.Helper()
	ctx := context.Background()
	_, err := os.Stat(filepath.Join(dir, "hookflow.db-wal"))
	require.ErrorIs(t, err, os.ErrNotExist, "no stale WAL beside the restored database")
	st, err := openStores(ctx, dir, "")
	require.NoError(t, err)
	defer st.Close()
	got, err := st.integrations.ByPath(ctx, in.Path)
	require.NoError(t, err)
	require.Equal(t, in.ID, got.ID)
	require.Equal(t, in.ValidSecrets(time.Now()), got.ValidSecrets(time.Now()))
	entries, err := st.journal.List(ctx, journal.Filter{Integration: in.ID})
	require.NoError(t, err)
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.Event.DeliveryID)
	}
	require.ElementsMatch(t, []string{"d-1", "d-2", "d-3"}, ids)
	ts, err := openTokenStoreEnv(dir, func(string) string { return "" })
	require.NoError(t, err)
	tok, err := ts.Token(ctx, tokens.Key{System: "github", Installation: "42"})
	require.NoError(t, err)
	require.Equal(t, "ghs_storedTokenValue0123456789", tok)
	st2, err := os.Stat(filepath.Join(dir, "secret.key"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st2.Mode().Perm())
}

func TestBackupRefusesPostgres(t *testing.T) {
	t.Parallel()
	_, err := runRoot(t, "--data-dir", t.TempDir(), "backup", "--to", filepath.Join(t.TempDir(), "x"), "--journal", "postgres://u:hunter2@db/x")
	require.ErrorContains(t, err, "pg_dump")
	require.NotContains(t, err.Error(), "hunter2")
}
