package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadExamplesCompactsAndSignsEachWithItsEvent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.json")
	index := `[
  {"name": "push", "examples": [{"ref": "refs/heads/main",  "after": "abc"}]},
  {"name": "issues", "examples": [{"action": "opened", "issue": {"number": 1}}, {"action": "closed"}]}
]`
	if err := os.WriteFile(path, []byte(index), 0o644); err != nil {
		t.Fatal(err)
	}
	secret := []byte("0123456789abcdef")
	ds, err := loadExamples(path, secret)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ event, body string }{
		{"push", `{"ref":"refs/heads/main","after":"abc"}`},
		{"issues", `{"action":"opened","issue":{"number":1}}`},
		{"issues", `{"action":"closed"}`},
	}
	if len(ds) != len(want) {
		t.Fatalf("got %d deliveries, want %d", len(ds), len(want))
	}
	for i, w := range want {
		if ds[i].event != w.event || string(ds[i].body) != w.body || ds[i].sig != sign([]byte(w.body), secret) {
			t.Errorf("delivery %d = %s %s %s, want %s %s signed", i, ds[i].event, ds[i].body, ds[i].sig, w.event, w.body)
		}
	}
	if got, want := meanSize(ds), (len(want[0].body)+len(want[1].body)+len(want[2].body))/3; got != want {
		t.Errorf("meanSize = %d, want %d", got, want)
	}
}

func TestLoadExamplesRefusesWhatIsNotAnIndex(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":    `{"name":`,
		"an object":   `{"name": "push"}`,
		"no examples": `[{"name": "push", "examples": []}]`,
	} {
		path := filepath.Join(t.TempDir(), "index.json")
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := loadExamples(path, []byte("s")); err == nil || !strings.Contains(err.Error(), "index.json") {
			t.Errorf("%s: err = %v, want one naming the file", name, err)
		}
	}
	if _, err := loadExamples(filepath.Join(t.TempDir(), "missing.json"), []byte("s")); err == nil {
		t.Error("a missing index: no error")
	}
}
