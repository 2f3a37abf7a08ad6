package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/journal"
)

// screenshotDir is where TestConsoleInBrowser leaves a PNG of each page,
// as test artifacts (bin/ is the build output directory).
const screenshotDir = "../../bin/console-screenshots"

// chromium finds a Chromium (Debian's package: chromium). Without one the
// test is skipped, or fails under CI (CI=1), which installs it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium on PATH: CI must install it (apt-get install chromium; .ci/run does)")
	}
	t.Skip("no chromium on PATH (apt-get install chromium): the console's browser test is skipped")
	return ""
}

// TestConsoleInBrowser drives the delivery console of `hookflow dev` in
// headless Chromium as an operator would: a wrong token is refused; sign
// in with the admin token (with the keyboard), create an integration (its
// secret shown once), send it a signed webhook, find the delivery, open
// it, replay it, pause and resume its entity, issue and revoke an API
// key, read the audit log (also through `hookflow admin log`), sign out.
func TestConsoleInBrowser(t *testing.T) {
	browser := chromium(t)
	bin := hookflowBinary(t)
	gh := newFakeGitHub(t)
	dataDir := t.TempDir()
	h := startDev(t, bin, dataDir, gh.URL)
	tokenBytes, err := os.ReadFile(filepath.Join(dataDir, "admin-token"))
	require.NoError(t, err)
	token := strings.TrimSpace(string(tokenBytes))
	require.NoError(t, os.MkdirAll(screenshotDir, 0o755))

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser),
		chromedp.NoSandbox, // Chromium refuses to run as root (containers) with its sandbox
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 1000))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	defer cancelTimeout()
	started := time.Now()
	shots := 0
	// shot saves a screenshot of the whole page.
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			png, err := chromedp.FullScreenshot(100)(ctx, tg) // 100: PNG, not JPEG
			if err != nil {
				return err
			}
			shots++
			return os.WriteFile(filepath.Join(screenshotDir, fmt.Sprintf("%02d-%s.png", shots, name)), png, 0o644)
		})
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, steps...), what)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err, "read %s", sel)
		return s
	}
	location := func() string {
		t.Helper()
		u, err := chromedp.Run(ctx, chromedp.Location())
		require.NoError(t, err)
		return u
	}
	base := h.ingressURL + "/console"

	// Not signed in: every page sends to the login page; a wrong token is
	// refused.
	do("open the console", chromedp.Navigate(base+"/deliveries"), chromedp.WaitVisible(chromedp.ID("token")), shot("login"))
	require.Contains(t, location(), "/console/login?next=")
	do("wrong token", chromedp.SendKeys(chromedp.ID("token"), "not-the-admin-token-at-all"), chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(".error")), shot("login-refused"))
	require.Contains(t, text(".error"), "not the admin token")

	// Sign in with the keyboard: type the token, press Enter.
	do("sign in", chromedp.SendKeys(chromedp.ID("token"), token+kb.Enter), chromedp.WaitVisible(chromedp.CSS(`table caption`)))
	require.True(t, strings.HasSuffix(location(), "/console/deliveries"), location())

	// Create an integration: its URL and secret are shown once.
	do("create an integration", chromedp.Navigate(base+"/integrations"), chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "browser"), chromedp.SetValue(chromedp.ID("source"), "github"),
		chromedp.Click(`//button[text()="Create integration"]`), chromedp.WaitVisible(chromedp.ID("shown-secret")), shot("integration-created"))
	secret, hookURL := text("#shown-secret"), text("#shown-url")
	require.True(t, strings.HasPrefix(hookURL, h.ingressURL+"/hooks/"), hookURL)
	require.NotEmpty(t, secret)
	do("list integrations", chromedp.Navigate(base+"/integrations"), chromedp.WaitVisible(chromedp.CSS("table")), shot("integrations"))
	listing, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	require.NoError(t, err)
	require.Contains(t, listing, "browser")
	require.NotContains(t, listing, secret, "the secret is not shown again")
	require.NotContains(t, listing, strings.TrimPrefix(hookURL, h.ingressURL+"/hooks/"), "nor the URL's secret path")

	// A signed webhook, listed and opened.
	code, body := post(t, hookURL, secret, "pull_request", "browser-1", recordedBody(t, "pull_request.opened.http"))
	require.Equal(t, http.StatusAccepted, code, body)
	wfID := "prcomment/github.com/Codertocat/Hello-World/pr/2"
	do("see it listed", chromedp.Navigate(base+"/deliveries?integration="+integrationID(t, h, "browser")), chromedp.WaitVisible(`//td/code[text()="browser-1"]`), shot("deliveries"))
	do("open it", chromedp.Click(`//tr[td/code[text()="browser-1"]]/td[1]/a`), chromedp.WaitVisible(`//h2[text()="Payload"]`))
	require.Contains(t, text("pre.payload"), `"Codertocat"`, "the payload, pretty-printed")
	link, err := chromedp.Run(ctx, chromedp.AttributeValue(`//a[text()="`+wfID+`"]`, "href"))
	require.NoError(t, err)
	require.True(t, link.Exists)
	require.True(t, strings.HasPrefix(link.Value, h.uiURL+"/namespaces/default/workflows/"), link.Value)
	do("screenshot the delivery", shot("delivery"))
	require.Contains(t, text("main"), "browser-1")

	// Replay it.
	do("replay", chromedp.Click(`//button[text()="Replay"]`), chromedp.WaitVisible(chromedp.CSS(".notice")), shot("replayed"))
	require.Contains(t, text(".notice"), "replayed as delivery")

	// Pause the entity and resume it.
	do("pause", chromedp.Navigate(base+"/entities"), chromedp.WaitVisible(chromedp.ID("pause-id")),
		chromedp.SendKeys(chromedp.ID("pause-id"), wfID), chromedp.SendKeys(chromedp.ID("pause-reason"), "browser test"),
		chromedp.Click(`//button[text()="Pause"]`), chromedp.WaitVisible(chromedp.CSS(".notice")), shot("paused"))
	require.Contains(t, text(".notice"), "Paused workflow "+wfID)
	do("resume", chromedp.Click(`//button[text()="Resume `+wfID+`"]`), chromedp.WaitVisible(`//p[@class="notice" and starts-with(text(), "Resumed")]`), shot("resumed"))
	require.Contains(t, text(".notice"), "Resumed workflow "+wfID)

	// Issue an API key (shown once) and revoke it.
	do("create a key", chromedp.Navigate(base+"/keys"), chromedp.WaitVisible(chromedp.ID("key-name")),
		chromedp.SendKeys(chromedp.ID("key-name"), "ci"), chromedp.SendKeys(chromedp.ID("key-scopes"), "deployments"),
		chromedp.Click(`//button[text()="Create key"]`), chromedp.WaitVisible(chromedp.ID("shown-secret")), shot("key-created"))
	key := text("#shown-secret")
	require.True(t, strings.HasPrefix(key, "hfk_"), key)
	do("revoke it", chromedp.Navigate(base+"/keys"), chromedp.Click(`//button[text()="Revoke ci"]`), chromedp.WaitVisible(chromedp.CSS(".notice")), shot("key-revoked"))
	keys := text("table")
	require.Contains(t, keys, "revoked")
	require.NotContains(t, keys, key)

	// The other pages, and the record of it all.
	do("blueprints", chromedp.Navigate(base+"/blueprints"), chromedp.WaitVisible(chromedp.ID("bp-prcomment")), shot("blueprints"))
	// DORA records from a CI's batch, so that the trends page has data:
	// three deployments this week (one failed), each with its commit.
	var dora struct{ ID, URL string }
	require.NoError(t, json.Unmarshal(h.cli(t, "integrations", "create", "--source", "dora", "--name", "ci", "--output", "json"), &dora))
	var ciKey struct{ Key string }
	require.NoError(t, json.Unmarshal(h.cli(t, "keys", "create", "--integration", dora.ID, "--name", "ci-batch", "--scope", "deployments", "--output", "json"), &ciKey))
	var deps []map[string]any
	for i, st := range []string{"success", "success", "failure"} {
		at := time.Now().UTC().Add(-time.Duration(i+1) * time.Hour).Truncate(time.Second)
		deps = append(deps, map[string]any{"deployment_id": fmt.Sprintf("console-%d", i), "repo": "acme/payments", "environment": "production",
			"sha": fmt.Sprintf("%040d", i+1), "status": st, "started_at": at.Add(-5 * time.Minute).Format(time.RFC3339), "finished_at": at.Format(time.RFC3339),
			"commits": []map[string]any{{"sha": fmt.Sprintf("c%039d", i+1), "committed_at": at.Add(-3 * time.Hour).Format(time.RFC3339)}}})
	}
	code, accepted, _ := postDORA(t, dora.URL, ciKey.Key, map[string]any{"deployments": deps})
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, 3, accepted.Accepted, "%+v", accepted)
	require.Eventually(t, func() bool {
		return strings.Contains(string(h.cli(t, "dora", "report", "--since", "7d", "--output", "json")), `"deployments":3`)
	}, time.Minute, 500*time.Millisecond, "the batch is applied")
	do("dora", chromedp.Navigate(base+"/dora"), chromedp.WaitVisible(`//td[text()="acme/payments"]`), shot("dora"))
	require.Contains(t, text("main"), "33%", "one of three deployments failed")
	do("audit", chromedp.Navigate(base+"/audit"), chromedp.WaitVisible(chromedp.CSS("table")), shot("audit"))
	audit := text("table")
	for _, action := range []string{"console.login", "integration.create", "delivery.replay", "pause.workflow", "resume.workflow", "key.create", "key.revoke"} {
		require.Contains(t, audit, action)
	}
	for _, s := range []string{secret, key, token} {
		require.NotContains(t, audit, s)
	}
	var log []journal.AuditRecord
	require.NoError(t, json.Unmarshal(h.cli(t, "admin", "log", "--since", "1h", "--output", "json"), &log))
	vias := map[string]bool{}
	for _, r := range log {
		vias[r.Via] = true
	}
	require.True(t, vias["console"] && vias["cli"], "the console's actions and the CLI's (the DORA integration and key): %+v", log)
	require.Contains(t, string(h.cli(t, "admin", "log")), "integration.create")

	do("sign out", chromedp.Click(`//button[text()="Sign out"]`), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.Navigate(base+"/audit"), chromedp.WaitVisible(chromedp.ID("token")))
	require.Contains(t, location(), "/console/login")
	t.Logf("browser steps took %s; %d screenshots in %s", time.Since(started).Round(time.Millisecond), shots, screenshotDir)
	h.stop(t)
}

// integrationID finds an integration's ID by name through the CLI.
func integrationID(t *testing.T, h *devProcess, name string) string {
	t.Helper()
	var list []struct{ ID, Name string }
	require.NoError(t, json.Unmarshal(h.cli(t, "integrations", "list", "--output", "json"), &list))
	for _, in := range list {
		if in.Name == name {
			return in.ID
		}
	}
	t.Fatalf("no integration %s", name)
	return ""
}
