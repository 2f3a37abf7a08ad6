package recovery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/tokens"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/ingress/recovery"
	"github.com/hookflow/hookflow/ingress/recovery/recoverytest"
)

const (
	ghToken  = "ghp_recoverTestToken0123456789abcdef"
	glToken  = "glpat-recoverTestToken-0123456789"
	ghSecret = "It's a Secret to Everybody"
	glSecret = "whsec_dGhpcyBpcyBhIDMyIGJ5dGUgdGVzdCBrZXkhIQ=="
	repoHook = "repos/octo/app/hooks/1"
	projHook = "projects/15/hooks/3"
)

func push(n int) []byte {
	return fmt.Appendf(nil, `{"ref":"refs/heads/main","after":"%040d","repository":{"full_name":"octo/app","name":"app","owner":{"login":"octo"}},"installation":{"id":77}}`, n)
}

func pullRequest(n int) []byte {
	return fmt.Appendf(nil, `{"action":"opened","number":%d,"pull_request":{"number":%d,"state":"open","head":{"sha":"abc"}},"repository":{"full_name":"octo/app","name":"app","owner":{"login":"octo"}}}`, n, n)
}

func glPush(n int) []byte {
	return fmt.Appendf(nil, `{"object_kind":"push","event_name":"push","ref":"refs/heads/main","after":"%040d","project_id":15,"project":{"id":15,"path_with_namespace":"grp/app"}}`, n)
}

func createIntegration(t *testing.T, ing *recoverytest.Ingress, source, secret string, opts map[string]string) integrations.Integration {
	t.Helper()
	in, err := ing.Integrations.Create(context.Background(), integrations.Integration{Name: source + "-" + strings.ReplaceAll(t.Name(), "/", "-"),
		Source: source, Secrets: []integrations.Secret{{Value: []byte(secret)}}, Options: opts})
	require.NoError(t, err)
	return in
}

func senders() *recovery.Senders {
	return &recovery.Senders{Tokens: tokens.Static{"github": ghToken, "gitlab": glToken}, GitHubRequestInterval: time.Millisecond, GitLabResendsPerMinute: 6000}
}

// scenario makes every kind of delivery a sender can have recorded and
// returns the GUIDs the journal lacks afterwards.
type scenario struct {
	held, missing []string
}

func githubScenario(t *testing.T, gh *recoverytest.GitHub, path string) scenario {
	var s scenario
	s.held = append(s.held, gh.Deliver(path, "push", "", push(1)))                           // received, accepted
	s.held = append(s.held, gh.Deliver(path, recoverytest.IgnoredEvent, "created", push(2))) // received, ignored
	gh.SetSecret(path, "a secret the integration does not have")
	s.missing = append(s.missing, gh.Deliver(path, "pull_request", "opened", pullRequest(3))) // refused: 401, journaled as rejected
	gh.SetSecret(path, ghSecret)
	s.missing = append(s.missing,
		gh.Record(path, "push", "", push(4), recoverytest.Unreachable), // never received
		gh.Record(path, "push", "", push(5), recoverytest.TimedOut),    // timed out, no status code
		gh.Record(path, "pull_request", "synchronize", pullRequest(6), recoverytest.Failed503),
		gh.Record(path, "push", "", push(7), recoverytest.RecordedOK), // recorded OK, absent from the journal
	)
	return s
}

// checkRecovered checks that the journal took every delivery exactly
// once, each accepted one routed to its workflow once.
func checkRecovered(t *testing.T, ing *recoverytest.Ingress, in integrations.Integration, s scenario) {
	t.Helper()
	taken := ing.Taken(t, in.ID)
	want := map[string]int{}
	for _, id := range slices.Concat(s.held, s.missing) {
		want[id] = 1
	}
	require.Equal(t, want, taken)
	routed := ing.Routed(t, in.ID)
	for _, id := range s.missing {
		require.NotEmpty(t, routed[id], "delivery %s is not routed", id)
	}
}

func TestGitHubRecoversWhatTheJournalLacks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ing := recoverytest.StartIngress(t, t.TempDir(), "")
	in := createIntegration(t, ing, "github", ghSecret, map[string]string{recovery.OptionHook: repoHook})
	// Two deliveries a page, so that listing follows the Link header.
	gh := recoverytest.NewGitHub(t, recoverytest.GitHubOptions{Token: ghToken, PerPage: 2})
	gh.AddHook(repoHook, ing.HookURL(in), ghSecret)
	s := githubScenario(t, gh, repoHook)

	sender, err := senders().For(in, recovery.Override{APIURL: gh.URL})
	require.NoError(t, err)
	pass := recovery.Pass{Integration: in.ID, Sender: sender, Journal: ing.Received, Since: time.Now().Add(-time.Hour)}

	dry := pass
	dry.DryRun = true
	rep, err := recovery.Recover(ctx, dry)
	require.NoError(t, err)
	require.Equal(t, 7, rep.Listed)
	require.Equal(t, 2, rep.InJournal)
	require.Equal(t, 5, rep.Requested)
	require.Empty(t, gh.Redelivered(), "a dry run requests nothing")

	rep, err = recovery.Recover(ctx, pass)
	require.NoError(t, err)
	require.Equal(t, repoHook, rep.Hook)
	require.Equal(t, 7, rep.Listed)
	require.Equal(t, 2, rep.InJournal)
	require.Equal(t, 5, rep.Requested)
	require.Empty(t, rep.Failed)
	require.Equal(t, map[string]int{"push": 3, "pull_request": 2}, rep.ByEvent)
	gh.Wait()
	var asked []string
	for _, id := range gh.Redelivered() {
		asked = append(asked, gh.GUIDOf(id))
	}
	require.ElementsMatch(t, s.missing, asked, "exactly the missing deliveries are asked for")
	checkRecovered(t, ing, in, s)

	// The redeliveries are now recorded too (same GUIDs): nothing is
	// missing any more.
	rep, err = recovery.Recover(ctx, pass)
	require.NoError(t, err)
	require.Equal(t, 7, rep.Listed)
	require.Equal(t, 7, rep.InJournal)
	require.Zero(t, rep.Requested)
	require.Len(t, gh.Redelivered(), 5)

	out, err := json.Marshal(rep)
	require.NoError(t, err)
	var keys []string
	var m map[string]any
	require.NoError(t, json.Unmarshal(out, &m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	require.Equal(t, []string{"by_event", "failed", "hook", "in_journal", "integration", "listed", "requested", "since", "until"}, keys)
	require.NotContains(t, ing.Logs.String(), ghToken)
}

func TestGitLabRecoversWhatTheJournalLacks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ing := recoverytest.StartIngress(t, t.TempDir(), "")
	in := createIntegration(t, ing, "gitlab", glSecret, map[string]string{recovery.OptionHook: projHook})
	gl := recoverytest.NewGitLab(t, recoverytest.GitLabOptions{Token: glToken, PerPage: 2})
	gl.AddHook(projHook, ing.HookURL(in), glSecret)
	var s scenario
	s.held = append(s.held, gl.Deliver(projHook, "push", glPush(1)))
	s.missing = append(s.missing,
		gl.Record(projHook, "push", glPush(2), recoverytest.Unreachable),
		gl.Record(projHook, "push", glPush(3), recoverytest.Failed503),
		gl.Record(projHook, "push", glPush(4), recoverytest.RecordedOK),
	)
	sender, err := senders().For(in, recovery.Override{APIURL: gl.APIURL()})
	require.NoError(t, err)
	require.Equal(t, recovery.GitLabRetention, sender.Retention())
	pass := recovery.Pass{Integration: in.ID, Sender: sender, Journal: ing.Received, Since: time.Now().Add(-time.Hour)}
	rep, err := recovery.Recover(ctx, pass)
	require.NoError(t, err)
	require.Equal(t, 4, rep.Listed)
	require.Equal(t, 1, rep.InJournal)
	require.Equal(t, 3, rep.Requested)
	require.Empty(t, rep.Failed)
	require.Equal(t, map[string]int{"push": 3}, rep.ByEvent)
	require.Len(t, gl.Resent(), 3)
	checkRecovered(t, ing, in, s)

	rep, err = recovery.Recover(ctx, pass)
	require.NoError(t, err)
	require.Equal(t, 4, rep.Listed)
	require.Equal(t, 4, rep.InJournal)
	require.Zero(t, rep.Requested)
	require.Len(t, gl.Resent(), 3)
}

// TestGitLabResendLimit: past GitLab's resend limit, a 429 whose
// Retry-After is longer than the pass waits fails that resend with a clear
// message; the others went through, and a later pass resends the rest.
func TestGitLabResendLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ing := recoverytest.StartIngress(t, t.TempDir(), "")
	in := createIntegration(t, ing, "gitlab", glSecret, map[string]string{recovery.OptionHook: projHook})
	gl := recoverytest.NewGitLab(t, recoverytest.GitLabOptions{Token: glToken, ResendsPerMinute: 2})
	gl.AddHook(projHook, ing.HookURL(in), glSecret)
	for i := range 3 {
		gl.Record(projHook, "push", glPush(i), recoverytest.Unreachable)
	}
	sender, err := senders().For(in, recovery.Override{APIURL: gl.APIURL()})
	require.NoError(t, err)
	rep, err := recovery.Recover(ctx, recovery.Pass{Integration: in.ID, Sender: sender, Journal: ing.Received, Since: time.Now().Add(-time.Hour), MaxWait: 10 * time.Millisecond})
	require.NoError(t, err)
	require.Equal(t, 2, rep.Requested)
	require.Len(t, rep.Failed, 1)
	require.Contains(t, rep.Failed[0].Error, "HTTP 429")
	require.Contains(t, rep.Failed[0].Error, "asks to wait 1m0s")
	require.NotContains(t, rep.Failed[0].Error, glToken)
	require.Len(t, gl.Resent(), 2)
}

// TestAPIErrors: a refused credential, an unknown hook and a spent rate
// limit end the pass with a message that says what to fix, before
// anything is requested, and show no token.
func TestAPIErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(gh *recoverytest.GitHub) (token, hook string)
		want  []string
	}{
		{name: "401", setup: func(*recoverytest.GitHub) (string, string) { return "ghp_revoked", repoHook },
			want: []string{"HTTP 401", "Bad credentials", "the credential was refused", "nothing was requested"}},
		{name: "404 hook", setup: func(*recoverytest.GitHub) (string, string) { return ghToken, "repos/octo/app/hooks/99" },
			want: []string{"HTTP 404", "no such hook repos/octo/app/hooks/99", "nothing was requested"}},
		{name: "403 rate limit", setup: func(gh *recoverytest.GitHub) (string, string) {
			gh.RateLimitAfter(0, time.Now().Add(time.Hour))
			return ghToken, repoHook
		}, want: []string{"HTTP 429", "rate limit exceeded", "asks to wait", "longer than the 1s this run waits", "nothing was requested"}},
		{name: "403 rate limit on page 2", setup: func(gh *recoverytest.GitHub) (string, string) {
			gh.RateLimitAfter(1, time.Now().Add(time.Hour))
			return ghToken, repoHook
		}, want: []string{"listing page 2", "X-RateLimit-Remaining: 0", "asks to wait", "nothing was requested"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			ing := recoverytest.StartIngress(t, t.TempDir(), "")
			in := createIntegration(t, ing, "github", ghSecret, nil)
			gh := recoverytest.NewGitHub(t, recoverytest.GitHubOptions{Token: ghToken, PerPage: 2})
			gh.AddHook(repoHook, ing.HookURL(in), ghSecret)
			for i := range 5 {
				gh.Record(repoHook, "push", "", push(i), recoverytest.Unreachable)
			}
			token, hook := tc.setup(gh)
			logs := &recoverytest.SyncBuffer{}
			s := &recovery.Senders{Tokens: tokens.Static{"github": token}}
			sender, err := s.For(in, recovery.Override{Hook: hook, APIURL: gh.URL})
			require.NoError(t, err)
			_, err = recovery.Recover(ctx, recovery.Pass{Integration: in.ID, Sender: sender, Journal: ing.Received,
				Since: time.Now().Add(-time.Hour), MaxWait: time.Second, Logger: slog.New(slog.NewTextHandler(logs, nil))})
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
			require.NotContains(t, err.Error(), token)
			require.NotContains(t, logs.String(), token)
			require.Empty(t, gh.Redelivered(), "no partial state: nothing requested")
			require.Empty(t, ing.Taken(t, in.ID))
		})
	}
}

// TestRateLimitResetIsWaitedFor: a rate limit that resets within MaxWait
// is waited out, and the pass completes.
func TestRateLimitResetIsWaitedFor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ing := recoverytest.StartIngress(t, t.TempDir(), "")
	in := createIntegration(t, ing, "github", ghSecret, nil)
	gh := recoverytest.NewGitHub(t, recoverytest.GitHubOptions{Token: ghToken, PerPage: 1})
	gh.AddHook(repoHook, ing.HookURL(in), ghSecret)
	a := gh.Record(repoHook, "push", "", push(1), recoverytest.Unreachable)
	b := gh.Record(repoHook, "push", "", push(2), recoverytest.TimedOut)
	gh.RateLimitAfter(1, time.Now().Add(1200*time.Millisecond))
	sender, err := senders().For(in, recovery.Override{Hook: repoHook, APIURL: gh.URL})
	require.NoError(t, err)
	logs := &recoverytest.SyncBuffer{}
	rep, err := recovery.Recover(ctx, recovery.Pass{Integration: in.ID, Sender: sender, Journal: ing.Received,
		Since: time.Now().Add(-time.Hour), MaxWait: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	require.NoError(t, err)
	require.Equal(t, 2, rep.Requested)
	require.Contains(t, logs.String(), "waiting as the sender asks")
	require.Zero(t, gh.Refused(), "X-RateLimit-Remaining: 0 is waited out before the next call, not run into")
	gh.Wait()
	require.Equal(t, map[string]int{a: 1, b: 1}, ing.Taken(t, in.ID))
}

func slogTo(w *recoverytest.SyncBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, nil))
}
