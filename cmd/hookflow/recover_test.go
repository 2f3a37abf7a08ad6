package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ghact "github.com/hookflow/hookflow/activities/github"
	ghconn "github.com/hookflow/hookflow/connectors/github"
	"github.com/hookflow/hookflow/connectors/tokens"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/recovery"
	"github.com/hookflow/hookflow/ingress/recovery/recoverytest"
	"github.com/hookflow/hookflow/internal/secretbox"
)

const (
	recoverGHToken = "ghp_cmdRecoverToken0123456789abcdefgh"
	recoverGLToken = "glpat-cmdRecoverToken-0123456789"
	recoverSecret  = "cmd recover secret"
)

// runRecover runs "hookflow recover ARGS" against dataDir with env as the
// whole environment and returns its output.
func runRecover(t *testing.T, dataDir string, env map[string]string, args ...string) (string, error) {
	t.Helper()
	g := &globals{dataDir: dataDir, output: "table", logLevel: "error"}
	if i := indexOf(args, "--output"); i >= 0 {
		g.output = args[i+1]
		args = append(args[:i:i], args[i+2:]...)
	}
	cmd := newRecoverCmdEnv(g, func(k string) string { return env[k] })
	cmd.SilenceUsage, cmd.SilenceErrors = true, true // as the root command does
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func createIn(t *testing.T, ing *recoverytest.Ingress, name, source string, opts map[string]string) integrations.Integration {
	t.Helper()
	in, err := ing.Integrations.Create(context.Background(), integrations.Integration{Name: name, Source: source,
		Secrets: []integrations.Secret{{Value: []byte(recoverSecret)}}, Options: opts})
	require.NoError(t, err)
	return in
}

type recoverJSON struct {
	Integration string           `json:"integration"`
	Hook        string           `json:"hook"`
	Since       time.Time        `json:"since"`
	Until       time.Time        `json:"until"`
	Listed      int              `json:"listed"`
	InJournal   int              `json:"in_journal"`
	Requested   int              `json:"requested"`
	Failed      []map[string]any `json:"failed"`
	ByEvent     map[string]int   `json:"by_event"`
}

func TestRecoverCommandGitHub(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ing := recoverytest.StartIngress(t, dir, "")
	in := createIn(t, ing, "gh", "github", nil)
	const hook = "repos/acme/shop/hooks/1234"
	gh := recoverytest.NewGitHub(t, recoverytest.GitHubOptions{Token: recoverGHToken, PerPage: 3})
	gh.AddHook(hook, ing.HookURL(in), recoverSecret)
	payload := []byte(`{"ref":"refs/heads/main","after":"abc","repository":{"full_name":"acme/shop","name":"shop","owner":{"login":"acme"}}}`)
	held := gh.Deliver(hook, "push", "", payload)
	var missing []string
	for _, o := range []recoverytest.Outcome{recoverytest.Unreachable, recoverytest.TimedOut, recoverytest.Failed503, recoverytest.RecordedOK} {
		missing = append(missing, gh.Record(hook, "push", "", payload, o))
	}
	env := map[string]string{"HOOKFLOW_GITHUB_TOKEN": recoverGHToken}
	args := []string{"--integration", in.ID, "--since", "72h", "--hook", hook, "--api-url", gh.URL, "--output", "json"}

	out, err := runRecover(t, dir, env, append(args, "--dry-run")...)
	require.NoError(t, err, out)
	require.Empty(t, gh.Redelivered())

	out, err = runRecover(t, dir, env, args...)
	require.NoError(t, err, out)
	var rep recoverJSON
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.Equal(t, recoverJSON{Integration: in.ID, Hook: hook, Since: rep.Since, Until: rep.Until, Listed: 5, InJournal: 1, Requested: 4,
		Failed: []map[string]any{}, ByEvent: map[string]int{"push": 4}}, rep)
	require.WithinDuration(t, time.Now().Add(-72*time.Hour), rep.Since, time.Minute)
	// The command waited for the redeliveries: the journal holds them.
	want := map[string]int{held: 1}
	for _, id := range missing {
		want[id] = 1
	}
	require.Equal(t, want, ing.Taken(t, in.ID))

	// A second run asks for nothing; by name, as a table.
	out, err = runRecover(t, dir, env, "--integration", "gh", "--hook", hook, "--api-url", gh.URL)
	require.NoError(t, err, out)
	require.Contains(t, out, "nothing is missing")
	require.Regexp(t, `requested\s+0`, out)
	require.Len(t, gh.Redelivered(), 4)
	require.NotContains(t, out, recoverGHToken)

	// A refused token: non-zero, a clear message, no token, nothing asked.
	out, err = runRecover(t, dir, map[string]string{"HOOKFLOW_GITHUB_TOKEN": "ghp_wrong_and_secret"}, args...)
	require.Error(t, err)
	require.Contains(t, err.Error(), "HTTP 401")
	require.Contains(t, err.Error(), "nothing was requested")
	require.NotContains(t, err.Error()+out, "ghp_wrong_and_secret")
	require.Len(t, gh.Redelivered(), 4)

	// No credential at all.
	_, err = runRecover(t, dir, nil, args...)
	require.ErrorContains(t, err, "HOOKFLOW_GITHUB_TOKEN")
}

func TestRecoverCommandGitLabFailsWhenARequestFails(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ing := recoverytest.StartIngress(t, dir, "")
	const hook = "projects/15/hooks/3"
	gl := recoverytest.NewGitLab(t, recoverytest.GitLabOptions{Token: recoverGLToken, ResendsPerMinute: 1})
	in := createIn(t, ing, "gl", "gitlab", map[string]string{recovery.OptionHook: hook, recovery.OptionAPIURL: gl.APIURL()})
	gl.AddHook(hook, ing.HookURL(in), recoverSecret)
	for i := range 2 {
		gl.Record(hook, "merge_request", fmt.Appendf(nil, `{"object_kind":"merge_request","object_attributes":{"iid":%d,"action":"open"},"project":{"id":15,"path_with_namespace":"g/p"}}`, i), recoverytest.Unreachable)
	}
	out, err := runRecover(t, dir, map[string]string{"HOOKFLOW_GITLAB_TOKEN": recoverGLToken}, "--integration", in.ID, "--max-wait", "10ms", "--output", "json")
	require.ErrorContains(t, err, "1 of 2 missing deliveries could not be requested")
	var rep recoverJSON
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.Equal(t, 1, rep.Requested)
	require.Len(t, rep.Failed, 1)
	require.Contains(t, rep.Failed[0]["error"], "HTTP 429")
	require.Equal(t, map[string]int{"merge_request": 2}, rep.ByEvent)
	require.NotContains(t, out, recoverGLToken)
}

// TestIngressRecoversAtStart runs the ingress as `hookflow ingress` does
// (without Temporal): an integration with recover=auto gets the deliveries
// it missed while the ingress was down, with the token from the token
// store, and /metrics shows it.
func TestIngressRecoversAtStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()

	const hook = "orgs/acme/hooks/9"
	gh := recoverytest.NewGitHub(t, recoverytest.GitHubOptions{Token: recoverGHToken})
	// The integration and the credential exist; the ingress is not up.
	ctx := context.Background()
	st, err := openStores(ctx, dir, "")
	require.NoError(t, err)
	in, err := st.integrations.Create(ctx, integrations.Integration{Name: "org", Source: "github", Secrets: []integrations.Secret{{Value: []byte(recoverSecret)}},
		Options: map[string]string{recovery.OptionRecover: "auto", recovery.OptionHook: hook, recovery.OptionAPIURL: gh.URL}})
	require.NoError(t, err)
	require.NoError(t, st.Close())
	key, err := secretbox.LoadOrCreateKey(filepath.Join(dir, "secret.key"))
	require.NoError(t, err)
	file, err := tokens.NewFile(filepath.Join(dir, tokens.DefaultFileName), key)
	require.NoError(t, err)
	require.NoError(t, file.Put(ctx, tokens.Key{System: "github"}, recoverGHToken))

	gh.AddHook(hook, "http://"+addr+"/hooks/"+in.Path, recoverSecret)
	payload := []byte(`{"action":"created","repository":{"full_name":"acme/shop","name":"shop","owner":{"login":"acme"}}}`)
	a := gh.Deliver(hook, "issue_comment", "created", payload) // refused connection: recorded
	b := gh.Deliver(hook, "push", "", payload)

	logs := &recoverytest.SyncBuffer{}
	runCtx, stop := context.WithCancel(ctx)
	ready := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- runIngress(runCtx, ingressConfig{HTTPAddr: addr, DataDir: dir, TaskQueue: "q", Ready: func(net.Addr) { close(ready) }},
			slog.New(slog.NewJSONHandler(logs, nil)))
	}()
	<-ready
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), `"msg":"recover pass"`) }, 10*time.Second, 20*time.Millisecond)
	gh.Wait()
	require.Len(t, gh.Redelivered(), 2)

	resp, err := http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(body), `hookflow_recover_requested_total{source="github"} 2`)
	require.Contains(t, string(body), `hookflow_recover_last_success_timestamp_seconds{source="github"}`)
	stop()
	require.NoError(t, <-errc)
	require.NotContains(t, logs.String(), recoverGHToken)

	ing := recoverytest.StartIngress(t, dir, "")
	require.Equal(t, map[string]int{a: 1, b: 1}, ing.Taken(t, in.ID))
}

// The token store key of a GitHub App's private key is the workers'.
func TestAppKeySystemIsTheWorkers(t *testing.T) {
	t.Parallel()
	require.Equal(t, ghact.AppSystem, ghconn.AppKeySystem)
}
