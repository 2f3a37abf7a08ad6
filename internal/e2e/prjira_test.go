package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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

const jiraCredential = "bot@example.com:ATATT3x-e2e-jira-MustNeverLeak"

// prDelivery is one signed delivery of a git server.
type prDelivery struct {
	source, event, id string
	body              []byte
}

// prBody reads a recorded delivery of blueprints/prjira/testdata and sets
// the dotted paths in edits.
func prBody(t *testing.T, file string, edits map[string]any) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "blueprints", "prjira", "testdata", file))
	require.NoError(t, err)
	_, body, ok := bytes.Cut(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")), []byte("\n\n"))
	require.True(t, ok)
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&m))
	for path, v := range edits {
		segs := strings.Split(path, ".")
		cur := m
		for _, s := range segs[:len(segs)-1] {
			next, ok := cur[s].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[s] = next
			}
			cur = next
		}
		cur[segs[len(segs)-1]] = v
	}
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return out
}

// send signs d as its sender does and posts it.
func send(t *testing.T, url, secret string, d prDelivery) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(d.body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(d.body)
	sig := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	switch d.source {
	case "github":
		req.Header.Set("X-GitHub-Event", d.event)
		req.Header.Set("X-GitHub-Delivery", d.id)
		req.Header.Set("X-Hub-Signature-256", sig)
	case "gitlab":
		req.Header.Set("X-Gitlab-Event", d.event)
		req.Header.Set("X-Gitlab-Token", secret)
		req.Header.Set("Idempotency-Key", d.id)
		req.Header.Set("X-Gitlab-Instance", "https://gitlab.example.com")
	case "bitbucket-cloud":
		req.Header.Set("X-Event-Key", d.event)
		req.Header.Set("X-Request-UUID", d.id)
		req.Header.Set("X-Hub-Signature", sig)
	case "bitbucket-dc":
		req.Header.Set("X-Event-Key", d.event)
		req.Header.Set("X-Request-Id", d.id)
		req.Header.Set("X-Hub-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func stamp(minute int) string {
	return time.Date(2026, 12, 1, 10, minute, 0, 0, time.UTC).Format(time.RFC3339)
}

// A signed pull request from each git server, opened then merged (each
// delivered twice), reaches a fake Jira under `hookflow dev` and leaves
// exactly one link, one move to Done and one merge comment per issue.
func TestPullRequestsReachJiraEndToEnd(t *testing.T) {
	bin := hookflowBinary(t)
	jira := blueprinttest.NewFakeJira(t)
	keys := []string{"PROJ-1", "PROJ-2", "PROJ-3", "PROJ-4", "PROJ-5", "PROJ-6"}
	for _, k := range keys {
		jira.AddIssue(k, "To Do", nil)
	}
	dataDir := t.TempDir()
	put := exec.Command(bin, "--data-dir", dataDir, "tokens", "put", "--system", "jira", "--stdin")
	put.Stdin = strings.NewReader(jiraCredential)
	out, err := put.CombinedOutput()
	require.NoError(t, err, string(out))
	github := newFakeGitHub(t)
	h := startDev(t, bin, dataDir, github.URL, "--jira-url", jira.URL)

	integration := func(source string, opts ...string) (url, secret string) {
		var in struct{ URL, Secret string }
		args := append([]string{"integrations", "create", "--source", source, "--name", "e2e-" + source + fmt.Sprint(len(opts)), "--output", "json"}, opts...)
		require.NoError(t, json.Unmarshal(h.cli(t, args...), &in))
		return in.URL, in.Secret
	}
	ghURL, ghSecret := integration("github")
	glURL, glSecret := integration("gitlab")
	bbURL, bbSecret := integration("bitbucket")
	dcURL, dcSecret := integration("bitbucket", "--option", "host=bitbucket.example.com")

	gh := func(id, action string, minute int, merged bool) prDelivery {
		e := map[string]any{"action": action, "pull_request.title": "PROJ-1 Update the README", "pull_request.head.ref": "feature/PROJ-2-readme",
			"pull_request.updated_at": stamp(minute)}
		if merged {
			e["pull_request.state"], e["pull_request.merged"], e["pull_request.merge_commit_sha"] = "closed", true, "c4295bd74fb0f4fda03689c3df3f2803b658fd85"
		}
		return prDelivery{"github", "pull_request", id, prBody(t, "pull_request.opened.http", e)}
	}
	gl := func(id, action, state string, minute int) prDelivery {
		e := map[string]any{"object_attributes.action": action, "object_attributes.state": state, "object_attributes.title": "PROJ-3: viewport",
			"object_attributes.last_commit.message": "PROJ-4 fix the readme", "object_attributes.updated_at": stamp(minute),
			"object_attributes.merge_commit_sha": "8a4d5b2f1e0c9d7b6a5f4e3d2c1b0a9f8e7d6c5b"}
		return prDelivery{"gitlab", "Merge Request Hook", id, prBody(t, "merge_request.open.http", e)}
	}
	bb := func(id, event, state string, minute int) prDelivery {
		e := map[string]any{"pullrequest.source.branch.name": "PROJ-5-retry", "pullrequest.state": state, "pullrequest.updated_on": stamp(minute),
			"pullrequest.merge_commit": map[string]any{"hash": "0f1e2d3c4b5a"}}
		return prDelivery{"bitbucket-cloud", event, id, prBody(t, "cloud.pullrequest_created.http", e)}
	}
	dc := func(id, event, state string, minute int) prDelivery {
		e := map[string]any{"pullRequest.title": "PROJ-6 a new file added", "pullRequest.state": state,
			"pullRequest.updatedDate": 1764583200000 + int64(minute)*60000}
		return prDelivery{"bitbucket-dc", event, id, prBody(t, "dc.pr_opened.http", e)}
	}
	type target struct{ url, secret string }
	opened := []struct {
		to target
		d  prDelivery
	}{
		{target{ghURL, ghSecret}, gh("gh-open", "opened", 1, false)},
		{target{glURL, glSecret}, gl("gl-open", "open", "opened", 1)},
		{target{bbURL, bbSecret}, bb("bb-open", "pullrequest:created", "OPEN", 1)},
		{target{dcURL, dcSecret}, dc("dc-open", "pr:opened", "OPEN", 1)},
	}
	merged := []struct {
		to target
		d  prDelivery
	}{
		{target{ghURL, ghSecret}, gh("gh-merge", "closed", 2, true)},
		{target{glURL, glSecret}, gl("gl-merge", "merge", "merged", 2)},
		{target{bbURL, bbSecret}, bb("bb-merge", "pullrequest:fulfilled", "MERGED", 2)},
		{target{dcURL, dcSecret}, dc("dc-merge", "pr:merged", "MERGED", 2)},
	}
	for _, s := range opened {
		require.Equal(t, http.StatusAccepted, send(t, s.to.url, s.to.secret, s.d), s.d.id)
		require.Equal(t, http.StatusOK, send(t, s.to.url, s.to.secret, s.d), s.d.id+" again: a duplicate")
	}
	require.Eventually(t, func() bool {
		for _, k := range keys {
			if len(jira.Issue(k).Links) != 1 {
				return false
			}
		}
		return true
	}, 2*time.Minute, 200*time.Millisecond, "every issue linked\n%s", h.logs())
	for _, s := range merged {
		require.Equal(t, http.StatusAccepted, send(t, s.to.url, s.to.secret, s.d), s.d.id)
		require.Equal(t, http.StatusOK, send(t, s.to.url, s.to.secret, s.d), s.d.id+" again: a duplicate")
	}
	require.Eventually(t, func() bool {
		for _, k := range keys {
			if len(jira.Issue(k).Comments) == 0 {
				return false
			}
		}
		return true
	}, 2*time.Minute, 200*time.Millisecond, "every issue commented\n%s", h.logs())
	time.Sleep(7 * time.Second) // one settle more: nothing else arrives

	var want []string
	for _, k := range keys {
		is := jira.Issue(k)
		require.Equal(t, "Done", is.Status, k)
		require.Equal(t, []string{"Done"}, is.Moves, k)
		require.Len(t, is.Links, 1, k)
		for _, l := range is.Links {
			require.Contains(t, string(l), `"resolved":true`, k)
		}
		require.Len(t, is.Comments, 1, k)
		require.Contains(t, is.Comments[0].Body, "was merged", k)
		want = append(want, "POST /rest/api/2/issue/"+k+"/comment", "POST /rest/api/2/issue/"+k+"/remotelink",
			"POST /rest/api/2/issue/"+k+"/remotelink", "POST /rest/api/2/issue/"+k+"/transitions")
	}
	got := jira.Writes()
	require.ElementsMatch(t, want, got, "each link written when opened and when merged, one transition, one comment: once each")
	for _, r := range jira.Requests() {
		require.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte(jiraCredential)), r.Header.Get("Authorization"))
	}
	require.NotContains(t, h.logs(), "MustNeverLeak")
	// GitHub: prjira's one comment listing the linked issues (besides
	// prcomment's welcome), posted once.
	var listed []string
	for _, b := range github.bodies() {
		if strings.Contains(b, "hookflow:prjira:linked") {
			listed = append(listed, b)
		}
	}
	require.Equal(t, []string{"Jira issues linked by Hookflow: PROJ-1, PROJ-2.\n\n<!-- hookflow:prjira:linked -->"}, listed)

	// The GitHub pull request's history: no credential in it; recorded for
	// prjira's replay test with HOOKFLOW_RECORD_PRJIRA_HISTORY=path.
	tc, err := client.Dial(client.Options{HostPort: h.temporal})
	require.NoError(t, err)
	defer tc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wfID := "prjira/github.com/Codertocat/Hello-World/pr/2"
	require.NoError(t, tc.GetWorkflow(ctx, wfID, "").Get(ctx, nil), "merged: the workflow completed")
	var hist historypb.History
	iter := tc.GetWorkflowHistory(ctx, wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		hist.Events = append(hist.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&hist)
	require.NoError(t, err)
	require.NotContains(t, string(b), "MustNeverLeak")
	require.NotContains(t, string(b), ghSecret)
	if path := os.Getenv("HOOKFLOW_RECORD_PRJIRA_HISTORY"); path != "" {
		require.NoError(t, os.WriteFile(path, b, 0o644))
	}
}
