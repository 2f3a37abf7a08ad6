// Package backup writes and reads Hookflow's backup archive: an online,
// consistent copy of the SQLite database (journal, routes, integrations,
// API keys, recovery state: every table in it), the encrypted token file
// and, only when asked, the secret key, with a manifest of SHA-256 digests.
//
// The archive is a gzip'd tar whose first member is hookflow-backup.json.
// The database copy is made with SQLite's VACUUM INTO, which reads one
// snapshot in a single read transaction: writers (a running ingress) are
// not blocked, and the copy holds every transaction committed before it
// started and none after.
package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver (pure Go).
)

// Format is the archive format this package writes; Extract refuses
// another.
const Format = 1

// Names of the archive's members.
const (
	ManifestName  = "hookflow-backup.json"
	DatabaseName  = "hookflow.db"
	TokensName    = "tokens.enc"
	SecretKeyName = "secret.key"
)

// maxMember bounds one member's size on extraction (a corrupted or hostile
// header must not fill the disk): 64 GiB.
const maxMember = 64 << 30

// Manifest describes a backup.
type Manifest struct {
	Format int `json:"format"`
	// Created is when the database snapshot was taken (UTC).
	Created time.Time `json:"created"`
	// Schema is the database's schema_versions: component -> version.
	Schema map[string]int `json:"schema"`
	// Deliveries is the number of journal entries in the snapshot.
	Deliveries int64 `json:"deliveries"`
	// Integrations is the number of integrations in the snapshot.
	Integrations int64 `json:"integrations"`
	// SecretKeyIncluded says whether secret.key is in the archive. When it
	// is not, the restore needs the key from elsewhere: without it the
	// integrations' secrets and the token file cannot be decrypted.
	SecretKeyIncluded bool   `json:"secret_key_included"`
	Files             []File `json:"files"`
}

// File is one member of the archive besides the manifest.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Source is what Create backs up.
type Source struct {
	// Database is the SQLite file (usually <data-dir>/hookflow.db). It
	// must exist.
	Database string
	// Tokens is the encrypted token file; empty or missing is skipped.
	Tokens string
	// SecretKey is the key file to include; empty leaves the key out,
	// which is the default: an archive with its key is as good as the
	// plaintext secrets to whoever holds it.
	SecretKey string
}

// Create writes a backup of src to w. Work files go to tmpDir (empty: the
// system's); the database snapshot needs as much room as the database.
func Create(ctx context.Context, w io.Writer, src Source, tmpDir string) (Manifest, error) {
	if _, err := os.Stat(src.Database); err != nil {
		return Manifest{}, fmt.Errorf("backup: database: %w", err)
	}
	work, err := os.MkdirTemp(tmpDir, "hookflow-backup-")
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(work)
	snap := filepath.Join(work, DatabaseName)
	m := Manifest{Format: Format}
	if err := snapshot(ctx, src.Database, snap, &m); err != nil {
		return Manifest{}, err
	}
	members := []struct{ name, path string }{{DatabaseName, snap}}
	if src.Tokens != "" {
		if _, err := os.Stat(src.Tokens); err == nil {
			// The token file is replaced atomically (rename): a copy is
			// one whole version of it.
			members = append(members, struct{ name, path string }{TokensName, src.Tokens})
		} else if !errors.Is(err, os.ErrNotExist) {
			return Manifest{}, fmt.Errorf("backup: tokens: %w", err)
		}
	}
	if src.SecretKey != "" {
		members = append(members, struct{ name, path string }{SecretKeyName, src.SecretKey})
		m.SecretKeyIncluded = true
	}
	// Read every member once for its digest, then write: the manifest
	// comes first so a reader knows what to expect before it extracts.
	for _, mem := range members {
		f, err := digest(mem.path)
		if err != nil {
			return Manifest{}, fmt.Errorf("backup: %s: %w", mem.name, err)
		}
		f.Name = mem.name
		m.Files = append(m.Files, f)
	}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, err
	}
	if err := writeMember(tw, ManifestName, int64(len(mj)), strings.NewReader(string(mj)), m.Created); err != nil {
		return Manifest{}, err
	}
	for i, mem := range members {
		fh, err := os.Open(mem.path)
		if err != nil {
			return Manifest{}, fmt.Errorf("backup: %s: %w", mem.name, err)
		}
		err = writeMember(tw, mem.name, m.Files[i].Size, fh, m.Created)
		fh.Close()
		if err != nil {
			return Manifest{}, err
		}
	}
	if err := tw.Close(); err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	if err := gz.Close(); err != nil {
		return Manifest{}, fmt.Errorf("backup: %w", err)
	}
	return m, nil
}

// snapshot copies the database at src into dst with VACUUM INTO and fills
// m's counts from the copy.
func snapshot(ctx context.Context, src, dst string, m *Manifest) error {
	// mode=rw: never create a missing database (Stat checked it exists);
	// busy_timeout rides out a writer's checkpoint.
	db, err := sql.Open("sqlite", fileURI(src, "rw"))
	if err != nil {
		return fmt.Errorf("backup: open %s: %w", src, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	m.Created = time.Now().UTC().Truncate(time.Second)
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("backup: snapshot %s: %w", src, err)
	}
	if err := os.Chmod(dst, 0o600); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	info, err := Inspect(ctx, dst)
	if err != nil {
		return err
	}
	m.Schema, m.Deliveries, m.Integrations = info.Schema, info.Deliveries, info.Integrations
	return nil
}

// Info is what Inspect reads from a database.
type Info struct {
	Schema       map[string]int
	Deliveries   int64
	Integrations int64
}

// Inspect checks the SQLite file at path (PRAGMA integrity_check) and
// reads its schema versions and counts. Tables a database lacks count 0.
func Inspect(ctx context.Context, path string) (Info, error) {
	db, err := sql.Open("sqlite", fileURI(path, "ro"))
	if err != nil {
		return Info{}, fmt.Errorf("backup: open %s: %w", path, err)
	}
	defer db.Close()
	var ok string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok); err != nil {
		return Info{}, fmt.Errorf("backup: check %s: %w", path, err)
	}
	if ok != "ok" {
		return Info{}, fmt.Errorf("backup: %s fails the integrity check: %s", path, ok)
	}
	info := Info{Schema: map[string]int{}}
	tables := map[string]bool{}
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		return Info{}, fmt.Errorf("backup: %s: %w", path, err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return Info{}, err
		}
		tables[n] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Info{}, err
	}
	if tables["schema_versions"] {
		rows, err := db.QueryContext(ctx, `SELECT component, version FROM schema_versions`)
		if err != nil {
			return Info{}, fmt.Errorf("backup: %s: %w", path, err)
		}
		for rows.Next() {
			var c string
			var v int
			if err := rows.Scan(&c, &v); err != nil {
				rows.Close()
				return Info{}, err
			}
			info.Schema[c] = v
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return Info{}, err
		}
	}
	for table, n := range map[string]*int64{"deliveries": &info.Deliveries, "integrations": &info.Integrations} {
		if !tables[table] {
			continue
		}
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(n); err != nil {
			return Info{}, fmt.Errorf("backup: %s: %w", path, err)
		}
	}
	return info, nil
}

// fileURI is the driver's URI for path in mode (ro, rw).
func fileURI(path, mode string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	q := url.Values{}
	q.Set("mode", mode)
	q.Add("_pragma", "busy_timeout(10000)")
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

func digest(path string) (File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return File{}, err
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, fh)
	if err != nil {
		return File{}, err
	}
	return File{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

func writeMember(tw *tar.Writer, name string, size int64, r io.Reader, mod time.Time) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: mod, Typeflag: tar.TypeReg}); err != nil {
		return fmt.Errorf("backup: %s: %w", name, err)
	}
	n, err := io.Copy(tw, r)
	if err != nil {
		return fmt.Errorf("backup: %s: %w", name, err)
	}
	if n != size {
		return fmt.Errorf("backup: %s changed while it was copied (%d bytes, want %d)", name, n, size)
	}
	return nil
}

// Extract reads an archive from r into dir (which must exist), checking
// every member against the manifest's size and digest; a member the
// manifest does not list, a missing one or a mismatch is an error, and
// what was written may be left in dir (extract into a staging directory).
// Members are written with mode 0600.
func Extract(r io.Reader, dir string) (Manifest, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: not a hookflow backup (gzip): %w", err)
	}
	defer gz.Close()
	tr := tar.NewReader(gz)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != ManifestName {
		return Manifest{}, fmt.Errorf("backup: not a hookflow backup (no %s first)", ManifestName)
	}
	var m Manifest
	if err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("backup: read manifest: %w", err)
	}
	if m.Format != Format {
		return Manifest{}, fmt.Errorf("backup: archive format %d; this binary reads format %d", m.Format, Format)
	}
	want := map[string]File{}
	for _, f := range m.Files {
		if !slices.Contains([]string{DatabaseName, TokensName, SecretKeyName}, f.Name) {
			return Manifest{}, fmt.Errorf("backup: manifest lists unknown member %q", f.Name)
		}
		want[f.Name] = f
	}
	if _, ok := want[DatabaseName]; !ok {
		return Manifest{}, fmt.Errorf("backup: the archive holds no %s", DatabaseName)
	}
	seen := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Manifest{}, fmt.Errorf("backup: read archive: %w", err)
		}
		f, ok := want[hdr.Name]
		if !ok || seen[hdr.Name] || hdr.Typeflag != tar.TypeReg {
			return Manifest{}, fmt.Errorf("backup: unexpected member %q", hdr.Name)
		}
		if hdr.Size != f.Size || f.Size > maxMember {
			return Manifest{}, fmt.Errorf("backup: %s is %d bytes, the manifest says %d", hdr.Name, hdr.Size, f.Size)
		}
		seen[hdr.Name] = true
		if err := extractOne(tr, filepath.Join(dir, hdr.Name), f); err != nil {
			return Manifest{}, err
		}
	}
	for name := range want {
		if !seen[name] {
			return Manifest{}, fmt.Errorf("backup: %s is listed but missing (truncated archive?)", name)
		}
	}
	return m, nil
}

func extractOne(r io.Reader, path string, f File) error {
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(out, h), io.LimitReader(r, f.Size))
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backup: extract %s: %w", f.Name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return fmt.Errorf("backup: %s is corrupted (sha256 %s, the manifest says %s)", f.Name, got, f.SHA256)
	}
	return nil
}
