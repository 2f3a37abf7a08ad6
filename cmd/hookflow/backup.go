package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hookflow/hookflow/connectors/tokens"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/sqlite"
	"github.com/hookflow/hookflow/internal/backup"
	"github.com/hookflow/hookflow/internal/secretbox"
)

// secretKeyFile is the key's name in the data directory (secretKeyEnv).
const secretKeyFile = "secret.key"

func newBackupCmd(g *globals) *cobra.Command {
	var to, journalURL string
	var withKey bool
	cmd := &cobra.Command{
		Use:   "backup --to FILE",
		Short: "Write an online, consistent backup of the SQLite journal, integrations, API keys and token file",
		Long: `Copy <data-dir>/hookflow.db (or --journal sqlite://PATH) with SQLite's VACUUM INTO while the
server runs: one snapshot of every table (journal, routes, integrations, API keys, recovery
state), taken without blocking the ingress. The encrypted token file (<data-dir>/tokens.enc)
goes with it. The archive (gzip'd tar with a manifest of SHA-256 digests) is written to
--to with mode 0600.

The secret key (secret.key, or HOOKFLOW_SECRET_KEY) that encrypts the integrations' secrets
and the token file is left out unless --include-secret-key is given: keep it apart from
the backups (a password manager, a Kubernetes Secret, Vault). A backup without its key
cannot be decrypted; hookflow restore checks the key before it writes anything.

For a PostgreSQL journal use pg_dump (docs/operations.md).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return errors.New("--to FILE is required")
			}
			db, err := sqliteJournalPath(g.dataDir, journalURL)
			if err != nil {
				return err
			}
			src := backup.Source{Database: db, Tokens: filepath.Join(g.dataDir, tokens.DefaultFileName)}
			if withKey {
				if g.env("HOOKFLOW_SECRET_KEY") != "" {
					return errors.New("--include-secret-key: the key is in HOOKFLOW_SECRET_KEY, not in the data directory; back it up where it is kept")
				}
				src.SecretKey = filepath.Join(g.dataDir, secretKeyFile)
			}
			m, err := writeBackup(cmd.Context(), to, src)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "backup written to %s: snapshot at %s, %d deliveries, %d integrations\n",
				to, m.Created.Format("2006-01-02T15:04:05Z"), m.Deliveries, m.Integrations)
			if !m.SecretKeyIncluded {
				fmt.Fprintf(out, "the secret key is NOT in the backup: keep %s (or HOOKFLOW_SECRET_KEY) safe and apart; without it the backup cannot be decrypted\n",
					filepath.Join(g.dataDir, secretKeyFile))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&to, "to", "", "file to write the backup to (replaced atomically; mode 0600)")
	f.StringVar(&journalURL, "journal", envOr("HOOKFLOW_JOURNAL", ""), "the journal to back up: sqlite://PATH (default <data-dir>/hookflow.db); postgres:// is refused, use pg_dump (env HOOKFLOW_JOURNAL)")
	f.BoolVar(&withKey, "include-secret-key", false, "put <data-dir>/secret.key into the backup too (whoever holds the file can then decrypt the integrations' secrets and tokens)")
	return cmd
}

// sqliteJournalPath is the SQLite file of journalURL ("" or sqlite://PATH).
func sqliteJournalPath(dataDir, journalURL string) (string, error) {
	switch {
	case journalURL == "":
		return filepath.Join(dataDir, "hookflow.db"), nil
	case strings.HasPrefix(journalURL, "sqlite://"):
		if p := strings.TrimPrefix(journalURL, "sqlite://"); p != "" {
			return p, nil
		}
		return filepath.Join(dataDir, "hookflow.db"), nil
	case strings.HasPrefix(journalURL, "postgres://"), strings.HasPrefix(journalURL, "postgresql://"):
		return "", errors.New("--journal is PostgreSQL: back it up with pg_dump --format=custom and restore with pg_restore (docs/operations.md)")
	}
	return "", fmt.Errorf("--journal %q: want sqlite://PATH", redactDSN(journalURL))
}

// writeBackup writes the archive next to path and renames it into place,
// so that a failed backup never leaves a truncated file under the name.
func writeBackup(ctx context.Context, path string, src backup.Source) (backup.Manifest, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return backup.Manifest{}, fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return backup.Manifest{}, fmt.Errorf("backup: %w", err)
	}
	m, err := backup.Create(ctx, tmp, src, filepath.Dir(path))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return backup.Manifest{}, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return backup.Manifest{}, fmt.Errorf("backup: %w", err)
	}
	return m, nil
}

func newRestoreCmd(g *globals) *cobra.Command {
	var from, keyFile string
	var force bool
	cmd := &cobra.Command{
		Use:   "restore --from FILE --data-dir DIR [--force]",
		Short: "Restore a backup written by hookflow backup into a data directory",
		Long: `Restore the database and token file of a backup into --data-dir, for a server started on
that directory afterwards. Stop every process using the directory first.

The target must be missing or empty; --force replaces hookflow.db (with its -wal and -shm)
and tokens.enc in a directory that has them, and leaves every other file alone.

The restore needs the secret key the backup was made with: the one in the backup
(--include-secret-key), --secret-key-file, HOOKFLOW_SECRET_KEY, or the target's own
secret.key (with --force). Before it writes anything it checks the archive's digests, the
database's integrity and that the key decrypts every integration's secrets and the token
file; a wrong or missing key is refused.

After a restore the forwarder sends again what the backup had not yet seen as forwarded:
the workflows drop what they already applied (by delivery ID). Deliveries accepted after
the backup's snapshot are not in it: ask the senders to redeliver them (hookflow recover
for GitHub, GHES and GitLab).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return errors.New("--from FILE is required")
			}
			if !cmd.Flags().Changed("data-dir") && g.env("HOOKFLOW_DATA_DIR") == "" {
				return errors.New("--data-dir DIR is required: the directory to restore into")
			}
			return restoreBackup(cmd, g, from, keyFile, force)
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "backup file written by hookflow backup")
	f.StringVar(&keyFile, "secret-key-file", "", "the secret.key the backup was made with, when the backup does not hold it; it is copied into the data directory")
	f.BoolVar(&force, "force", false, "replace the journal and token file of a data directory that has them")
	return cmd
}

// restoredFiles are what restore replaces in the data directory.
var restoredFiles = []string{"hookflow.db", "hookflow.db-wal", "hookflow.db-shm", "hookflow.db-journal", tokens.DefaultFileName}

func restoreBackup(cmd *cobra.Command, g *globals, from, keyFile string, force bool) error {
	ctx := cmd.Context()
	dir := g.dataDir
	if err := checkRestoreTarget(dir, force); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("restore: create %s: %w", dir, err)
	}
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer in.Close()
	// Stage inside the target, so that the final renames stay on one file
	// system and a failure leaves the target as it was.
	stage, err := os.MkdirTemp(dir, ".restore-")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer os.RemoveAll(stage)
	m, err := backup.Extract(in, stage)
	if err != nil {
		return fmt.Errorf("restore %s: %w", from, err)
	}
	if _, err := backup.Inspect(ctx, filepath.Join(stage, backup.DatabaseName)); err != nil {
		return fmt.Errorf("restore %s: %w", from, err)
	}
	key, keySrc, keyFrom, err := restoreKey(g, stage, dir, keyFile, m.SecretKeyIncluded)
	if err != nil {
		return err
	}
	n, err := checkDecrypts(ctx, stage, key)
	if err != nil {
		return fmt.Errorf("restore: the secret key (%s) does not decrypt this backup: %w", keyFrom, err)
	}
	for _, name := range restoredFiles {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("restore: %w", err)
		}
	}
	moves := []string{backup.DatabaseName}
	if _, err := os.Stat(filepath.Join(stage, backup.TokensName)); err == nil {
		moves = append(moves, backup.TokensName)
	}
	for _, name := range moves {
		if err := os.Rename(filepath.Join(stage, name), filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	}
	if keySrc != "" {
		if err := copyPrivate(keySrc, filepath.Join(dir, secretKeyFile)); err != nil {
			return fmt.Errorf("restore: secret key: %w", err)
		}
	}
	fmt.Fprintf(cmd.OutOrStdout(), "restored %s into %s: snapshot of %s, %d deliveries, %d integrations (secrets decrypt with the key from %s)\n",
		from, dir, m.Created.Format("2006-01-02T15:04:05Z"), m.Deliveries, n, keyFrom)
	return nil
}

// checkRestoreTarget refuses a data directory with anything in it, unless
// force.
func checkRestoreTarget(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if len(entries) > 0 && !force {
		return fmt.Errorf("restore: %s is not empty (%d entries, e.g. %s): give --force to replace its journal and token file", dir, len(entries), entries[0].Name())
	}
	return nil
}

// restoreKey finds the key to restore with. keySrc is the file to copy
// into the data directory ("" when none needs copying: the environment's
// key, or the target's own); from says where the key came from, for
// messages.
func restoreKey(g *globals, stage, dir, keyFile string, included bool) (key []byte, keySrc, from string, err error) {
	read := func(path string) ([]byte, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return secretbox.DecodeKey(string(b))
	}
	switch {
	case keyFile != "":
		key, err = read(keyFile)
		return key, keyFile, "--secret-key-file " + keyFile, wrapKeyErr(err, "--secret-key-file")
	case included:
		p := filepath.Join(stage, backup.SecretKeyName)
		key, err = read(p)
		return key, p, "the backup", wrapKeyErr(err, "the backup's secret.key")
	case g.env("HOOKFLOW_SECRET_KEY") != "":
		key, err = secretbox.DecodeKey(g.env("HOOKFLOW_SECRET_KEY"))
		return key, "", "HOOKFLOW_SECRET_KEY", wrapKeyErr(err, "HOOKFLOW_SECRET_KEY")
	}
	p := filepath.Join(dir, secretKeyFile)
	if _, serr := os.Stat(p); serr == nil {
		key, err = read(p)
		return key, "", p, wrapKeyErr(err, p)
	}
	return nil, "", "", errors.New("restore: the backup holds no secret key: give the secret.key it was made with (--secret-key-file FILE) or set HOOKFLOW_SECRET_KEY; without it the integrations' secrets and tokens cannot be decrypted")
}

func wrapKeyErr(err error, from string) error {
	if err != nil {
		return fmt.Errorf("restore: %s: %w", from, err)
	}
	return nil
}

// checkDecrypts opens the staged database's integrations with key and
// decrypts every one, and the staged token file; it returns the number of
// integrations.
func checkDecrypts(ctx context.Context, stage string, key []byte) (int, error) {
	box, err := secretbox.New(key)
	if err != nil {
		return 0, err
	}
	db, err := sqlite.Open(filepath.Join(stage, backup.DatabaseName))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	list, err := listIntegrations(ctx, db, box)
	if err != nil {
		return 0, err
	}
	if _, err := os.Stat(filepath.Join(stage, backup.TokensName)); err == nil {
		f, err := tokens.NewFile(filepath.Join(stage, backup.TokensName), key)
		if err != nil {
			return 0, err
		}
		if _, err := f.List(ctx); err != nil {
			return 0, fmt.Errorf("token file: %w", err)
		}
	}
	// The staged database was opened in WAL mode: fold the WAL back into
	// the file before it is moved, so that only hookflow.db moves.
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return 0, err
	}
	return list, nil
}

func listIntegrations(ctx context.Context, db *sql.DB, box *secretbox.Box) (int, error) {
	st, err := integrations.OpenStore(ctx, db, box)
	if err != nil {
		return 0, err
	}
	list, err := st.List(ctx)
	if err != nil {
		return 0, err
	}
	return len(list), nil
}

// copyPrivate copies src to dst with mode 0600, replacing dst.
func copyPrivate(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
