package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hookflow/hookflow/blueprints/blueprinttest"
)

// devBody reads a recorded delivery of blueprints/devinfo/testdata and
// sets the top-level keys in edits.
func devBody(t *testing.T, file string, edits map[string]any) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "blueprints", "devinfo", "testdata", file))
	require.NoError(t, err)
	_, body, ok := bytes.Cut(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")), []byte("\n\n"))
	require.True(t, ok)
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&m))
	for k, v := range edits {
		m[k] = v
	}
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return out
}

// A signed push from each git server (each delivered twice) reaches a fake
// Jira Cloud under `hookflow dev`: one tenant_info, one token, and exactly
// one upload per repository, holding the branch and the commit that name
// keys, with the access token and never the client secret.
func TestDevinfoEndToEnd(t *testing.T) {
	bin := hookflowBinary(t)
	jira := blueprinttest.NewFakeJira(t)
	for _, k := range []string{"PROJ-1", "PROJ-2"} {
		jira.AddIssue(k, "To Do", nil)
	}
	dataDir := t.TempDir()
	put := exec.Command(bin, "--data-dir", dataDir, "tokens", "put", "--system", "jira-devinfo", "--stdin")
	put.Stdin = strings.NewReader(blueprinttest.FakeDevInfoCredential)
	out, err := put.CombinedOutput()
	require.NoError(t, err, string(out))
	github := newFakeGitHub(t)
	h := startDev(t, bin, dataDir, github.URL, "--jira-url", jira.URL,
		"--jira-devinfo-api-url", jira.URL+"/", "--jira-devinfo-token-url", jira.URL+"/oauth/token")

	integration := func(source string, opts ...string) (url, secret string) {
		var in struct{ URL, Secret string }
		args := append([]string{"integrations", "create", "--source", source, "--name", "devinfo-" + source + fmt.Sprint(len(opts)), "--output", "json"}, opts...)
		require.NoError(t, json.Unmarshal(h.cli(t, args...), &in))
		return in.URL, in.Secret
	}
	ghURL, ghSecret := integration("github")
	glURL, glSecret := integration("gitlab")
	bbURL, bbSecret := integration("bitbucket")
	dcURL, dcSecret := integration("bitbucket", "--option", "host=bitbucket.example.com")

	head := "c0ffee0000000000000000000000000000000001"
	commit := func(msg, date string) map[string]any {
		return map[string]any{"id": head, "message": msg, "timestamp": date, "url": "https://example.com/c/" + head,
			"author": map[string]any{"name": "Dev", "email": "dev@example.com"}}
	}
	ghCommit := commit("PROJ-2 retry settlement on 503", "2026-12-01T10:01:00Z")
	pushes := []struct {
		url, secret string
		d           prDelivery
		repo        string
		branch      string
		commits     int
	}{
		{ghURL, ghSecret, prDelivery{"github", "push", "dv-gh-1", devBody(t, "github.push.http", map[string]any{
			"ref": "refs/heads/feature/PROJ-1-retry", "after": head, "commits": []any{ghCommit}, "head_commit": ghCommit})},
			"github.com~2FCodertocat~2FHello-World", "feature~2FPROJ-1-retry", 1},
		{glURL, glSecret, prDelivery{"gitlab", "Push Hook", "dv-gl-1", devBody(t, "gitlab.push.http", map[string]any{
			"ref": "refs/heads/PROJ-1-viewport", "after": head, "commits": []any{commit("PROJ-2 fix the viewport", "2026-12-01T10:02:00Z")}})},
			"gitlab.example.com~2Fmike~2Fdiaspora", "PROJ-1-viewport", 1},
		{bbURL, bbSecret, prDelivery{"bitbucket-cloud", "repo:push", "dv-bb-1", devBody(t, "cloud.repo_push.http", map[string]any{
			"push": map[string]any{"changes": []any{map[string]any{"created": true, "closed": false, "forced": false, "truncated": false,
				"new": map[string]any{"type": "branch", "name": "PROJ-1-retry", "target": map[string]any{"hash": head, "date": "2026-12-01T10:03:00Z",
					"message": "PROJ-2 retry settlement", "author": map[string]any{"raw": "Emma <emma@example.com>"}}},
				"commits": []any{map[string]any{"hash": head, "message": "PROJ-2 retry settlement", "date": "2026-12-01T10:03:00Z"}}}}}})},
			"bitbucket.org~2Facme~2Fpayments", "PROJ-1-retry", 1},
		{dcURL, dcSecret, prDelivery{"bitbucket-dc", "repo:refs_changed", "dv-dc-1", devBody(t, "dc.repo_refs_changed.http", map[string]any{
			"changes": []any{map[string]any{"ref": map[string]any{"id": "refs/heads/PROJ-1-retry", "displayId": "PROJ-1-retry", "type": "BRANCH"},
				"refId": "refs/heads/PROJ-1-retry", "fromHash": "0000000000000000000000000000000000000000", "toHash": head, "type": "ADD"}}})},
			"bitbucket.example.com~2FPROJ~2Frepository", "PROJ-1-retry", 0},
	}
	for i, p := range pushes {
		require.Equal(t, http.StatusAccepted, send(t, p.url, p.secret, p.d), p.d.id)
		require.Equal(t, http.StatusOK, send(t, p.url, p.secret, p.d), p.d.id+" again: a duplicate")
		require.Eventually(t, func() bool { return len(jira.DevRepositories()) == i+1 }, 2*time.Minute, 200*time.Millisecond,
			"%s uploaded\n%s", p.repo, h.logs())
		repo := jira.DevRepository(p.repo)
		require.Equal(t, []string{"PROJ-1"}, repo.Branches[p.branch].IssueKeys, p.repo)
		require.Len(t, repo.Commits, p.commits, p.repo)
		for _, c := range repo.Commits {
			require.Equal(t, []string{"PROJ-2"}, c.IssueKeys, p.repo)
		}
	}
	time.Sleep(12 * time.Second) // one settle more: nothing else arrives

	var got []string
	for _, r := range jira.Requests() {
		got = append(got, r.Method+" "+r.Path)
		if strings.HasPrefix(r.Path, "/jira/devinfo/") {
			require.Equal(t, "Bearer fake-access-1", r.Header.Get("Authorization"))
			require.NotContains(t, string(r.Body), "MustNeverLeak")
		}
	}
	bulk := "POST /jira/devinfo/0.1/cloud/" + blueprinttest.FakeCloudID + "/bulk"
	require.Equal(t, []string{"GET /_edge/tenant_info", "POST /oauth/token", bulk, bulk, bulk, bulk}, got,
		"the cloud ID and the token once, one upload per repository, nothing for the duplicates")
	ids := jira.DevRepositories()
	want := []string{pushes[0].repo, pushes[1].repo, pushes[2].repo, pushes[3].repo}
	slices.Sort(want)
	require.Equal(t, want, ids)
	require.NotContains(t, h.logs(), "MustNeverLeak")

	// The GitHub repository's history: no credential in it; recorded for
	// devinfo's replay test with HOOKFLOW_RECORD_DEVINFO_HISTORY=path.
	b := history(t, h, "devinfo/github.com/Codertocat/Hello-World")
	require.NotContains(t, string(b), "MustNeverLeak")
	require.NotContains(t, string(b), ghSecret)
	if path := os.Getenv("HOOKFLOW_RECORD_DEVINFO_HISTORY"); path != "" {
		require.NoError(t, os.WriteFile(path, b, 0o644))
	}
}

// history returns a running workflow's history as JSON (the format
// blueprinttest.Replay reads).
func history(t *testing.T, h *devProcess, workflowID string) []byte {
	t.Helper()
	tc, err := client.Dial(client.Options{HostPort: h.temporal})
	require.NoError(t, err)
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var hist historypb.History
	iter := tc.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		hist.Events = append(hist.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&hist)
	require.NoError(t, err)
	return b
}
