package scaffold

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/blueprints"
	"github.com/hookflow/hookflow/blueprints/all"
)

// copyRepo copies the checkout's sources (no .git, no build output) into a
// temporary directory.
func copyRepo(t *testing.T) string {
	t.Helper()
	src, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	dst := t.TempDir()
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			switch d.Name() {
			case ".git", "bin", ".hookflow", "node_modules":
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	require.NoError(t, err)
	return dst
}

func TestGenerateRefuses(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	existing := blueprints.Names(all.List())
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"existing name", Options{Name: "prcomment"}, "exists already"},
		{"not an identifier", Options{Name: "pr-jira"}, "lower-case Go identifier"},
		{"upper case", Options{Name: "PrJira"}, "lower-case Go identifier"},
		{"keyword", Options{Name: "func"}, "lower-case Go identifier"},
		{"built-in command", Options{Name: "audit"}, "built-in hookflow command"},
		{"unknown source", Options{Name: "x1", Source: "svn"}, `--source "svn"`},
		{"no recorded delivery", Options{Name: "x2", Event: "star"}, "no recorded github star delivery"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.o.Root, tt.o.Existing = root, existing
			_, err := Generate(tt.o)
			require.ErrorContains(t, err, tt.want)
		})
	}
	_, err = os.Stat(filepath.Join(root, "blueprints", "x2"))
	require.ErrorIs(t, err, os.ErrNotExist, "a refusal writes nothing")
}

// TestGeneratedBlueprintPassesItsTests generates a blueprint into a copy of
// the checkout and runs gofmt, go vet and go test there, with this
// process's build cache: what a newcomer gets must pass as generated. Its
// one-list tests (blueprints/all) run over the new blueprint as well.
func TestGeneratedBlueprintPassesItsTests(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a copy of the checkout")
	}
	t.Parallel()
	root := copyRepo(t)
	for _, o := range []Options{
		{Name: "greeter"}, // github pull_request, the defaults
		{Name: "mrwatch", Source: "gitlab", Event: "merge_request"},
	} {
		o.Root, o.Existing = root, blueprints.Names(all.List())
		res, err := Generate(o)
		require.NoError(t, err)
		require.NotEmpty(t, res.Files)
		_, err = Generate(o)
		require.ErrorContains(t, err, "exists already", "a second run refuses")
	}
	run := func(name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)
		if name == "gofmt" {
			require.Empty(t, strings.TrimSpace(string(out)), "gofmt -l")
		}
	}
	run("gofmt", "-l", "blueprints")
	run("go", "vet", "./blueprints/...")
	run("go", "test", "-count=1", "./blueprints/greeter/...", "./blueprints/mrwatch/...", "./blueprints/all/...")
	list, err := os.ReadFile(filepath.Join(root, "blueprints", "all", "all.go"))
	require.NoError(t, err)
	require.Contains(t, string(list), "greeter.Blueprint,")
	require.Contains(t, string(list), "mrwatch.Blueprint,")
}

func TestFindDeliveryPrefersTheOpeningEvent(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	tests := []struct{ source, event, want string }{
		{"github", "pull_request", "pull_request.opened.http"},
		{"github", "push", "push.http"},
		{"gitlab", "merge_request", "merge_request.open.http"},
		{"jira", "jira:issue_created", "cloud.issue_created.http"},
	}
	for _, tt := range tests {
		got, err := findDelivery(root, tt.source, tt.event)
		require.NoError(t, err, tt.event)
		require.Equal(t, tt.want, filepath.Base(got), tt.event)
	}
}
