package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/sqlite"
)

// newDB creates a WAL database like the ingress's, with a deliveries and
// an integrations table.
func newDB(t *testing.T) (string, func(n int)) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hookflow.db")
	db, err := sqlite.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	require.NoError(t, sqlite.Migrate(ctx, db, "journal", []string{`CREATE TABLE deliveries (seq INTEGER PRIMARY KEY, delivery_id TEXT NOT NULL UNIQUE)`}))
	require.NoError(t, sqlite.Migrate(ctx, db, "integrations", []string{`CREATE TABLE integrations (id TEXT PRIMARY KEY)`}))
	_, err = db.Exec(`INSERT INTO integrations (id) VALUES ('a'), ('b')`)
	require.NoError(t, err)
	insert := func(n int) {
		_, err := db.Exec(`INSERT INTO deliveries (seq, delivery_id) VALUES (?, ?)`, n, "d-"+strconv.Itoa(n))
		require.NoError(t, err)
	}
	return path, insert
}

// TestCreateUnderWrites backs up while a writer commits: the snapshot
// holds every row committed before Create started, passes the integrity
// check and extracts to the same bytes.
func TestCreateUnderWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path, insert := newDB(t)
	for i := 1; i <= 200; i++ {
		insert(i)
	}
	var next atomic.Int64
	next.Store(201)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				insert(int(next.Add(1) - 1))
			}
		}
	})
	before := next.Load() - 1 // committed before Create
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tokens.enc"), []byte("sealed tokens"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secret.key"), []byte("a key\n"), 0o600))
	var buf bytes.Buffer
	m, err := Create(ctx, &buf, Source{Database: path, Tokens: filepath.Join(dir, "tokens.enc")}, t.TempDir())
	close(stop)
	wg.Wait()
	require.NoError(t, err)
	require.GreaterOrEqual(t, m.Deliveries, before)
	require.Equal(t, int64(2), m.Integrations)
	require.Equal(t, map[string]int{"journal": 1, "integrations": 1}, m.Schema)
	require.False(t, m.SecretKeyIncluded)

	out := t.TempDir()
	got, err := Extract(bytes.NewReader(buf.Bytes()), out)
	require.NoError(t, err)
	require.Equal(t, m, got)
	info, err := Inspect(ctx, filepath.Join(out, DatabaseName))
	require.NoError(t, err)
	require.Equal(t, m.Deliveries, info.Deliveries)
	tok, err := os.ReadFile(filepath.Join(out, TokensName))
	require.NoError(t, err)
	require.Equal(t, "sealed tokens", string(tok))
	_, err = os.Stat(filepath.Join(out, SecretKeyName))
	require.ErrorIs(t, err, os.ErrNotExist, "the key stays out unless asked for")
	st, err := os.Stat(filepath.Join(out, DatabaseName))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}

// TestCreateWithSecretKey includes the key when asked.
func TestCreateWithSecretKey(t *testing.T) {
	t.Parallel()
	path, _ := newDB(t)
	key := filepath.Join(t.TempDir(), "secret.key")
	require.NoError(t, os.WriteFile(key, []byte("a key\n"), 0o600))
	var buf bytes.Buffer
	m, err := Create(context.Background(), &buf, Source{Database: path, Tokens: "/nonexistent/tokens.enc", SecretKey: key}, "")
	require.NoError(t, err)
	require.True(t, m.SecretKeyIncluded)
	require.Len(t, m.Files, 2, "database and key; a missing token file is skipped")
	out := t.TempDir()
	_, err = Extract(&buf, out)
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(out, SecretKeyName))
	require.NoError(t, err)
	require.Equal(t, "a key\n", string(b))
}

func TestCreateMissingDatabase(t *testing.T) {
	t.Parallel()
	_, err := Create(context.Background(), io.Discard, Source{Database: filepath.Join(t.TempDir(), "none.db")}, "")
	require.ErrorIs(t, err, os.ErrNotExist)
}

// TestExtractRefuses damages a good archive in the ways a copy goes wrong.
func TestExtractRefuses(t *testing.T) {
	t.Parallel()
	path, insert := newDB(t)
	insert(1)
	var good bytes.Buffer
	_, err := Create(context.Background(), &good, Source{Database: path}, "")
	require.NoError(t, err)
	members := readMembers(t, good.Bytes())

	rewrite := func(change func(names []string, data map[string][]byte) []string) []byte {
		names := []string{ManifestName, DatabaseName}
		data := map[string][]byte{}
		for k, v := range members {
			data[k] = bytes.Clone(v)
		}
		names = change(names, data)
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		for _, n := range names {
			require.NoError(t, tw.WriteHeader(&tar.Header{Name: n, Mode: 0o600, Size: int64(len(data[n])), Typeflag: tar.TypeReg}))
			_, err := tw.Write(data[n])
			require.NoError(t, err)
		}
		require.NoError(t, tw.Close())
		require.NoError(t, gz.Close())
		return buf.Bytes()
	}
	tests := []struct {
		name    string
		archive []byte
		want    string
	}{
		{"not gzip", []byte("PGDMP plain text"), "not a hookflow backup"},
		{"truncated", good.Bytes()[:len(good.Bytes())/2], ""},
		{"flipped byte", rewrite(func(n []string, d map[string][]byte) []string { d[DatabaseName][100] ^= 0xff; return n }), "corrupted"},
		{"missing database", rewrite(func(n []string, _ map[string][]byte) []string { return n[:1] }), "missing"},
		{"extra member", rewrite(func(n []string, d map[string][]byte) []string {
			d["../evil"] = []byte("x")
			return append(n, "../evil")
		}), "unexpected member"},
		{"no manifest", rewrite(func(n []string, _ map[string][]byte) []string { return n[1:] }), "no hookflow-backup.json"},
		{"newer format", rewrite(func(n []string, d map[string][]byte) []string {
			d[ManifestName] = bytes.Replace(d[ManifestName], []byte(`"format": 1`), []byte(`"format": 9`), 1)
			return n
		}), "format 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Extract(bytes.NewReader(tt.archive), t.TempDir())
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

func readMembers(t *testing.T, archive []byte) map[string][]byte {
	gz, err := gzip.NewReader(bytes.NewReader(archive))
	require.NoError(t, err)
	tr := tar.NewReader(gz)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		out[h.Name] = b
	}
}
