package recovery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/hookflow/hookflow/connectors/apierror"
	ghconn "github.com/hookflow/hookflow/connectors/github"
	glconn "github.com/hookflow/hookflow/connectors/gitlab"
	"github.com/hookflow/hookflow/connectors/tokens"
	"github.com/hookflow/hookflow/ingress/gitlab"
	"github.com/hookflow/hookflow/ingress/integrations"
	"github.com/hookflow/hookflow/internal/timeflag"
)

// Integration options that configure recovery. Each is optional except
// OptionHook, which recovery needs to know which hook to ask.
const (
	// OptionRecover "auto" makes the running ingress recover the
	// integration at start and every OptionInterval; "off" (the
	// default) leaves it to `hookflow recover`.
	OptionRecover = "recover"
	// OptionHook names the sender's hook: app, repos/OWNER/REPO/hooks/ID
	// or orgs/ORG/hooks/ID (GitHub), projects/ID/hooks/ID or
	// groups/ID/hooks/ID (GitLab).
	OptionHook = "recover_hook"
	// OptionAPIURL is the sender's REST API root. Default: the ingress's
	// GitHub API URL (https://api.github.com/), or https://gitlab.com/api/v4/.
	OptionAPIURL = "recover_api_url"
	// OptionInterval is how often automatic recovery runs (30m, 1h; at
	// least 1m). Default DefaultInterval.
	OptionInterval = "recover_interval"
	// OptionCredential is the installation part of the token store key
	// of the credential: github/<value> or gitlab/<value>. Acting as a
	// GitHub App on a repository or organization hook, it is the
	// installation whose token is minted. Default "": the token store's
	// system-wide entry, then HOOKFLOW_GITHUB_TOKEN / HOOKFLOW_GITLAB_TOKEN.
	OptionCredential = "recover_credential"
	// OptionAppID is the GitHub App (App ID or Client ID) whose hook
	// "app" names, its private key in the token store under
	// github-app/<id>. Default: the ingress's --github-app-id.
	OptionAppID = "recover_app_id"
	// OptionRetention is how long the sender keeps deliveries (3d, 7d).
	// Default: 3 days for api.github.com, 7 days for GHES and GitLab.
	OptionRetention = "recover_retention"
)

// Recovery modes of OptionRecover.
const (
	ModeAuto = "auto"
	ModeOff  = "off"
)

// DefaultInterval is how often automatic recovery runs when the
// integration does not set OptionInterval.
const DefaultInterval = 10 * time.Minute

// Retention of the senders' delivery records.
const (
	GitHubRetention = 3 * timeflag.Day
	GHESRetention   = 7 * timeflag.Day
	GitLabRetention = 7 * timeflag.Day
)

// Settings are an integration's recovery options, validated.
type Settings struct {
	Auto       bool
	Hook       string
	APIURL     string
	Interval   time.Duration
	Credential string
	AppID      string
	// Retention is zero when the option is unset: the sender's default.
	Retention time.Duration
}

// ReadSettings validates in's recovery options; errors name the option.
func ReadSettings(in integrations.Integration) (Settings, error) {
	o := in.Options
	s := Settings{Hook: o[OptionHook], APIURL: o[OptionAPIURL], Credential: o[OptionCredential], AppID: o[OptionAppID], Interval: DefaultInterval}
	switch o[OptionRecover] {
	case ModeAuto:
		s.Auto = true
	case "", ModeOff:
	default:
		return s, fmt.Errorf("integration %s: option %s=%q: want %s or %s", in.ID, OptionRecover, o[OptionRecover], ModeAuto, ModeOff)
	}
	if v := o[OptionInterval]; v != "" {
		d, err := timeflag.ParseDuration(v)
		if err != nil || d < time.Minute {
			return s, fmt.Errorf("integration %s: option %s=%q: want a duration of at least 1m (10m, 1h)", in.ID, OptionInterval, v)
		}
		s.Interval = d
	}
	if v := o[OptionRetention]; v != "" {
		d, err := timeflag.ParseDuration(v)
		if err != nil || d <= 0 {
			return s, fmt.Errorf("integration %s: option %s=%q: want a duration (3d, 7d)", in.ID, OptionRetention, v)
		}
		s.Retention = d
	}
	if s.APIURL != "" {
		if u, err := url.Parse(s.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return s, fmt.Errorf("integration %s: option %s=%q: want the API root URL (https://HOST/api/v3)", in.ID, OptionAPIURL, s.APIURL)
		}
	}
	if s.Auto && s.Hook == "" {
		return s, fmt.Errorf("integration %s: option %s=%s needs %s (which hook to recover from)", in.ID, OptionRecover, ModeAuto, OptionHook)
	}
	return s, nil
}

// Override replaces an integration's options for one run.
type Override struct {
	// Hook and APIURL, when set, replace OptionHook and OptionAPIURL.
	Hook, APIURL string
}

// Senders makes the Sender of an integration from its options, fetching
// credentials from Tokens at the moment of each call, as the workers do.
type Senders struct {
	// Tokens holds the credentials: {github, <credential>} or {gitlab,
	// <credential>} tokens, and GitHub Apps' private keys under
	// {github-app, <app id>}. Required.
	Tokens tokens.Store
	// GitHubAPIURL is the default GitHub API root. Empty means
	// https://api.github.com/.
	GitHubAPIURL string
	// GitHubAppID is the default GitHub App. Empty means none: an "app"
	// hook then needs OptionAppID.
	GitHubAppID string
	// HTTPClient is used for every call. Nil means a client with a 30 s
	// timeout.
	HTTPClient *http.Client
	// GitHubRequestInterval spaces redelivery requests to GitHub, as its
	// guidance on secondary rate limits asks (one mutating request a
	// second); the first GitHubBurst go at once. Zero means 1 s and 10.
	GitHubRequestInterval time.Duration
	GitHubBurst           int
	// GitLabResendsPerMinute is GitLab's resend limit per user and
	// project or group. Zero means 5, GitLab's default.
	GitLabResendsPerMinute int
	// Now is the clock (App JWTs). Nil means time.Now.
	Now func() time.Time

	mu        sync.Mutex
	appTokens map[string]*ghconn.AppTokens
}

func (s *Senders) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// For returns the Sender of integration in: its source must be github or
// gitlab and its hook named by OptionHook or o.Hook.
func (s *Senders) For(in integrations.Integration, o Override) (Sender, error) {
	set, err := ReadSettings(in)
	if err != nil {
		return nil, err
	}
	if o.Hook != "" {
		set.Hook = o.Hook
	}
	if o.APIURL != "" {
		set.APIURL = o.APIURL
	}
	if set.Hook == "" {
		return nil, fmt.Errorf("integration %s has no hook to recover from: set the option %s or give --hook", in.ID, OptionHook)
	}
	switch in.Source {
	case ghconn.System:
		return s.github(in, set)
	case glconn.System:
		return s.gitlab(in, set)
	}
	return nil, fmt.Errorf("integration %s: source %s keeps no delivery records recover can read (github and gitlab do)", in.ID, in.Source)
}

func (s *Senders) github(in integrations.Integration, set Settings) (Sender, error) {
	hook, err := ghconn.ParseHook(set.Hook)
	if err != nil {
		return nil, fmt.Errorf("integration %s: %w", in.ID, err)
	}
	base := set.APIURL
	if base == "" {
		base = s.GitHubAPIURL
	}
	c, err := ghconn.New(ghconn.Options{BaseURL: base, HTTPClient: s.HTTPClient})
	if err != nil {
		return nil, err
	}
	retention := set.Retention
	if retention == 0 {
		retention = GitHubRetention
		if base != "" && !strings.Contains(base, "://api.github.com") {
			retention = GHESRetention
		}
	}
	appID := set.AppID
	if appID == "" {
		appID = s.GitHubAppID
	}
	g := &githubSender{client: c, hook: hook, retention: retention}
	every, burst := s.GitHubRequestInterval, s.GitHubBurst
	if every <= 0 {
		every = time.Second
	}
	if burst <= 0 {
		burst = 10
	}
	g.limit = rate.NewLimiter(rate.Every(every), burst)
	switch {
	case hook.Kind == "app":
		if appID == "" {
			return nil, fmt.Errorf("integration %s: hook app is the GitHub App's own hook: set the option %s or the ingress's --github-app-id", in.ID, OptionAppID)
		}
		g.credential = s.appJWT(appID)
	case appID != "" && set.Credential != "":
		inst, err := ghconn.ParseInstallationID(set.Credential)
		if err != nil {
			return nil, fmt.Errorf("integration %s: option %s: %w", in.ID, OptionCredential, err)
		}
		g.credential = s.installationToken(c, appID, inst)
	default:
		g.credential = s.stored(tokens.Key{System: ghconn.System, Installation: set.Credential})
	}
	return g, nil
}

func (s *Senders) gitlab(in integrations.Integration, set Settings) (Sender, error) {
	hook, err := glconn.ParseHook(set.Hook)
	if err != nil {
		return nil, fmt.Errorf("integration %s: %w", in.ID, err)
	}
	c, err := glconn.New(glconn.Options{BaseURL: set.APIURL, HTTPClient: s.HTTPClient})
	if err != nil {
		return nil, err
	}
	retention := set.Retention
	if retention == 0 {
		retention = GitLabRetention
	}
	perMinute := s.GitLabResendsPerMinute
	if perMinute <= 0 {
		perMinute = 5
	}
	return &gitlabSender{client: c, hook: hook, retention: retention,
		credential: s.stored(tokens.Key{System: glconn.System, Installation: set.Credential}),
		limit:      rate.NewLimiter(rate.Every(time.Minute/time.Duration(perMinute)), perMinute)}, nil
}

// credential returns the token for one call.
type credential func(ctx context.Context) (string, error)

func (s *Senders) stored(key tokens.Key) credential {
	return func(ctx context.Context) (string, error) {
		tok, err := s.Tokens.Token(ctx, key)
		if errors.Is(err, tokens.ErrNotFound) {
			env := "HOOKFLOW_" + upper(key.System) + "_TOKEN"
			return "", fmt.Errorf("recover: no credential for %s: store one with `hookflow tokens put --system %s --installation %q --stdin`, or set %s", key, key.System, key.Installation, env)
		}
		return tok, err
	}
}

// appJWT signs the App's JWT with its stored private key, anew every few
// minutes (a JWT is valid for 10).
func (s *Senders) appJWT(appID string) credential {
	var mu sync.Mutex
	var jwt string
	var signed time.Time
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		now := s.now()
		if jwt != "" && now.Sub(signed) < 5*time.Minute {
			return jwt, nil
		}
		key, err := s.stored(tokens.Key{System: ghconn.AppKeySystem, Installation: appID})(ctx)
		if err != nil {
			return "", err
		}
		t, err := ghconn.AppJWTFromPEM(appID, []byte(key), now)
		if err != nil {
			return "", fmt.Errorf("recover: the private key stored for GitHub App %s (%s/%s): %w", appID, ghconn.AppKeySystem, appID, err)
		}
		jwt, signed = t, now
		return jwt, nil
	}
}

// installationToken mints (or takes from the cache) an installation's
// token, acting as the App.
func (s *Senders) installationToken(c *ghconn.Client, appID string, inst int64) credential {
	s.mu.Lock()
	if s.appTokens == nil {
		s.appTokens = map[string]*ghconn.AppTokens{}
	}
	// One cache per App and API root: the same App ID on GitHub.com and
	// on a GHES are two Apps.
	cacheKey := appID + " " + c.BaseURL()
	at := s.appTokens[cacheKey]
	if at == nil {
		at = c.AppTokens(ghconn.AppTokensOptions{Now: s.now})
		s.appTokens[cacheKey] = at
	}
	s.mu.Unlock()
	return func(ctx context.Context) (string, error) {
		key, err := s.stored(tokens.Key{System: ghconn.AppKeySystem, Installation: appID})(ctx)
		if err != nil {
			return "", err
		}
		tok, err := at.Token(ctx, appID, inst, []byte(key))
		if errors.Is(err, ghconn.ErrPrivateKey) {
			return "", fmt.Errorf("recover: the private key stored for GitHub App %s (%s/%s) is not a PEM-encoded RSA key", appID, ghconn.AppKeySystem, appID)
		}
		return tok, err
	}
}

var (
	_ Sender = (*githubSender)(nil)
	_ Sender = (*gitlabSender)(nil)
)

type githubSender struct {
	client     *ghconn.Client
	hook       ghconn.Hook
	retention  time.Duration
	credential credential
	limit      *rate.Limiter

	mu   sync.Mutex
	rate ghconn.Rate // as the last answer left it
}

// spent answers, without a call, a call the last answer's
// X-RateLimit-Remaining 0 says would be refused: a 429 that asks to wait
// until X-RateLimit-Reset, which the pass waits for or reports.
func (g *githubSender) spent(op string) error {
	g.mu.Lock()
	r := g.rate
	g.mu.Unlock()
	now := time.Now()
	if !r.Spent(now) {
		return nil
	}
	return &apierror.Error{System: ghconn.System, Op: op, Status: http.StatusTooManyRequests, Message: "rate limit spent (X-RateLimit-Remaining: 0)", RetryAfter: r.Reset.Sub(now)}
}

func (g *githubSender) saw(r ghconn.Rate) {
	if r.Limit == 0 {
		return
	}
	g.mu.Lock()
	g.rate = r
	g.mu.Unlock()
}

func (g *githubSender) Source() string           { return ghconn.System }
func (g *githubSender) Hook() string             { return g.hook.String() }
func (g *githubSender) Retention() time.Duration { return g.retention }

func (g *githubSender) List(ctx context.Context, next string) ([]Delivery, string, error) {
	tok, err := g.credential(ctx)
	if err != nil {
		return nil, "", err
	}
	if err := g.spent("list deliveries of hook " + g.hook.String()); err != nil {
		return nil, "", err
	}
	page, err := g.client.ListHookDeliveries(ctx, tok, g.hook, next)
	if err != nil {
		return nil, "", err
	}
	g.saw(page.Rate)
	out := make([]Delivery, 0, len(page.Deliveries))
	for _, d := range page.Deliveries {
		status := d.Status
		if d.StatusCode != 0 {
			status = strconv.Itoa(d.StatusCode) + " " + status
		}
		out = append(out, Delivery{ID: d.ID, GUID: d.GUID, Event: d.Event, At: d.DeliveredAt, Status: status})
	}
	return out, page.Next, nil
}

func (g *githubSender) Redeliver(ctx context.Context, d Delivery) error {
	if err := g.limit.Wait(ctx); err != nil {
		return err
	}
	tok, err := g.credential(ctx)
	if err != nil {
		return err
	}
	if err := g.spent(fmt.Sprintf("redeliver delivery %d of hook %s", d.ID, g.hook)); err != nil {
		return err
	}
	r, err := g.client.RedeliverHookDelivery(ctx, tok, g.hook, d.ID)
	g.saw(r)
	return err
}

type gitlabSender struct {
	client     *glconn.Client
	hook       glconn.Hook
	retention  time.Duration
	credential credential
	limit      *rate.Limiter
}

func (g *gitlabSender) Source() string           { return glconn.System }
func (g *gitlabSender) Hook() string             { return g.hook.String() }
func (g *gitlabSender) Retention() time.Duration { return g.retention }

func (g *gitlabSender) List(ctx context.Context, next string) ([]Delivery, string, error) {
	tok, err := g.credential(ctx)
	if err != nil {
		return nil, "", err
	}
	page, err := g.client.ListHookEvents(ctx, tok, g.hook, next)
	if err != nil {
		return nil, "", err
	}
	out := make([]Delivery, 0, len(page.Events))
	for _, e := range page.Events {
		h := http.Header{}
		for k, v := range e.RequestHeaders {
			h.Set(k, v)
		}
		event := e.ObjectKind
		if event == "" {
			event = strings.TrimSuffix(e.Trigger, "_hooks")
		}
		out = append(out, Delivery{ID: e.ID, GUID: gitlab.DeliveryID(h), Event: event, At: e.CreatedAt, Status: e.ResponseStatus})
	}
	return out, page.Next, nil
}

func (g *gitlabSender) Redeliver(ctx context.Context, d Delivery) error {
	if err := g.limit.Wait(ctx); err != nil {
		return err
	}
	tok, err := g.credential(ctx)
	if err != nil {
		return err
	}
	return g.client.ResendHookEvent(ctx, tok, g.hook, d.ID)
}
