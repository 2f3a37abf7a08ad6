// Package vault is the token store on HashiCorp Vault or OpenBao: one KV
// version 2 secret per (system, installation), read at the moment of use.
// It logs in with a token, AppRole or Kubernetes, keeps its login alive with
// a lifetime watcher and logs in again when the login expires. It never
// imports Temporal, and no error it returns contains a token.
package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/hookflow/hookflow/connectors/tokens"
)

// Defaults for Options.
const (
	DefaultMount        = "secret"
	DefaultPathTemplate = "hookflow/{system}/{installation}"
	DefaultField        = "token"
)

// ErrPermissionDenied is wrapped in errors for which Vault answered 401 or
// 403, or refused a login: the Vault token is expired, revoked or lacks a
// policy for the path. Retrying does not help; an operator has to act. It
// is tokens.ErrDenied, so activities need not import this package to
// recognise it.
var ErrPermissionDenied = tokens.ErrDenied

// Options configures a Store.
type Options struct {
	// Address is Vault's URL, e.g. https://vault.example.com:8200; "" means
	// VAULT_ADDR (or Config's address).
	Address string
	// Namespace is the Vault Enterprise or OpenBao namespace; "" means the
	// root namespace (or VAULT_NAMESPACE).
	Namespace string
	// Mount is the KV v2 engine's mount path; "" means DefaultMount.
	Mount string
	// PathTemplate places a key inside the mount; "" means
	// DefaultPathTemplate. It must hold {system} and {installation} once
	// each, as whole segments. Each is escaped to one segment: a
	// slash in an installation stays inside it, an empty installation is
	// "_".
	PathTemplate string
	// Field is the secret's field holding the token; "" means DefaultField.
	Field string
	// Auth logs in: TokenAuth, AppRoleAuth, KubernetesAuth, or any
	// api.AuthMethod (such as the helpers in github.com/hashicorp/vault/api/auth).
	// Required.
	Auth api.AuthMethod
	// Config is the client configuration (TLS, timeouts, retries); nil means
	// api.DefaultConfig(), which reads VAULT_CACERT, VAULT_CLIENT_CERT,
	// VAULT_SKIP_VERIFY and the other VAULT_* variables.
	Config *api.Config
	// Logger receives renewal and re-login events; nil means none.
	Logger *slog.Logger
}

// Store is a tokens.ReadWriteStore on a Vault KV v2 mount. It is safe for
// concurrent use. Call Close to stop renewing its login.
type Store struct {
	mount    string
	field    string
	tmpl     template
	auth     api.AuthMethod
	client   *api.Client // carries the login's token
	login    *api.Client // never carries a token: login requests only
	log      *slog.Logger
	now      func() time.Time
	stopOnce sync.Once
	stop     chan struct{}

	mu       sync.Mutex // guards the login state below; held during a login
	loggedIn bool
	gen      int       // counts logins, so a stale watcher cannot invalidate a newer login
	expires  time.Time // of a non-renewable login; zero when unknown or renewed
	token    string    // the current Vault token, for redaction
}

var _ tokens.ReadWriteStore = (*Store)(nil)

// New returns a store. It does not contact Vault: the first call logs in.
func New(opts Options) (*Store, error) {
	if opts.Auth == nil {
		return nil, errors.New("vault: no auth method")
	}
	tmpl, err := parseTemplate(orDefault(opts.PathTemplate, DefaultPathTemplate))
	if err != nil {
		return nil, err
	}
	cfg := opts.Config
	if cfg == nil {
		cfg = api.DefaultConfig()
		if cfg.Error != nil {
			return nil, fmt.Errorf("vault: configuration from environment: %w", cfg.Error)
		}
	}
	if opts.Address != "" {
		cfg.Address = opts.Address
	}
	client, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	loginClient, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	// NewClient picks up VAULT_TOKEN; only Auth decides the token.
	client.ClearToken()
	loginClient.ClearToken()
	if opts.Namespace != "" {
		client.SetNamespace(opts.Namespace)
		loginClient.SetNamespace(opts.Namespace)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Store{
		mount:  strings.Trim(orDefault(opts.Mount, DefaultMount), "/"),
		field:  orDefault(opts.Field, DefaultField),
		tmpl:   tmpl,
		auth:   opts.Auth,
		client: client,
		login:  loginClient,
		log:    log.With("component", "vault-tokens"),
		now:    time.Now,
		stop:   make(chan struct{}),
	}, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Close stops renewing the login. The store must not be used afterwards.
func (s *Store) Close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	return nil
}

// String describes the store without secrets, so that printing it never
// shows a token.
func (s *Store) String() string {
	return fmt.Sprintf("vault.Store(%s, mount %s, %s auth)", s.client.Address(), s.mount, authName(s.auth))
}

// GoString is String, for %#v.
func (s *Store) GoString() string { return s.String() }

// Path returns the secret path (below the mount) where key is stored.
func (s *Store) Path(key tokens.Key) string { return s.tmpl.path(key) }

// Token implements tokens.Store.
func (s *Store) Token(ctx context.Context, key tokens.Key) (string, error) {
	if err := key.Validate(); err != nil {
		return "", err
	}
	path := s.tmpl.path(key)
	var tok string
	err := s.do(ctx, func(c *api.Client) error {
		sec, err := c.KVv2(s.mount).Get(ctx, path)
		if err != nil {
			return err
		}
		if sec == nil || sec.Data == nil { // latest version deleted
			return api.ErrSecretNotFound
		}
		v, ok := sec.Data[s.field].(string)
		if !ok || v == "" {
			return fmt.Errorf("the secret has no string field %q", s.field)
		}
		tok = v
		return nil
	})
	if err != nil {
		return "", s.wrap("read", key, path, err)
	}
	return tok, nil
}

// Put implements tokens.Writer: it writes a new version holding only the
// token field.
func (s *Store) Put(ctx context.Context, key tokens.Key, token string) error {
	if err := key.Validate(); err != nil {
		return err
	}
	if token == "" {
		return fmt.Errorf("vault: %s: empty token", key)
	}
	path := s.tmpl.path(key)
	err := s.do(ctx, func(c *api.Client) error {
		_, err := c.KVv2(s.mount).Put(ctx, path, map[string]any{s.field: token})
		return err
	})
	if err != nil {
		return s.wrap("write", key, path, err, token)
	}
	return nil
}

// Delete implements tokens.Writer: it removes every version and the
// metadata, as "vault kv metadata delete" does.
func (s *Store) Delete(ctx context.Context, key tokens.Key) error {
	if err := key.Validate(); err != nil {
		return err
	}
	path := s.tmpl.path(key)
	err := s.do(ctx, func(c *api.Client) error {
		kv := c.KVv2(s.mount)
		if _, err := kv.GetMetadata(ctx, path); err != nil {
			return err
		}
		return kv.DeleteMetadata(ctx, path)
	})
	if err != nil {
		return s.wrap("delete", key, path, err)
	}
	return nil
}

// List implements tokens.Lister. It walks the path template with LIST
// requests (the policy needs "list" on the metadata paths) and skips
// entries it did not write.
func (s *Store) List(ctx context.Context) ([]tokens.Key, error) {
	var keys []tokens.Key
	err := s.do(ctx, func(c *api.Client) error {
		keys = keys[:0]
		return s.walk(ctx, c, "", 0, tokens.Key{}, &keys)
	})
	if err != nil {
		return nil, s.wrap("list", tokens.Key{}, "", err)
	}
	tokens.SortKeys(keys)
	return keys, nil
}

func (s *Store) walk(ctx context.Context, c *api.Client, prefix string, i int, k tokens.Key, out *[]tokens.Key) error {
	if i == len(s.tmpl) {
		*out = append(*out, k)
		return nil
	}
	seg := s.tmpl[i]
	if seg != placeSystem && seg != placeInstallation {
		return s.walk(ctx, c, prefix+seg+"/", i+1, k, out)
	}
	sec, err := c.Logical().ListWithContext(ctx, s.mount+"/metadata/"+prefix)
	if err != nil || sec == nil {
		return err
	}
	names, _ := sec.Data["keys"].([]any)
	last := i == len(s.tmpl)-1
	for _, n := range names {
		name, _ := n.(string)
		dir := strings.HasSuffix(name, "/")
		if dir == last { // leaves at the end of the template, folders before
			continue
		}
		name = strings.TrimSuffix(name, "/")
		v, ok := unescapeSegment(name)
		if !ok {
			continue
		}
		next := k
		if seg == placeSystem {
			next.System = v
		} else {
			next.Installation = v
		}
		if next.System == "" && seg == placeSystem {
			continue
		}
		if err := s.walk(ctx, c, prefix+name+"/", i+1, next, out); err != nil {
			return err
		}
	}
	return nil
}

// do runs f with a logged-in client. When Vault refuses the token and the
// auth method can produce a new one, it logs in again and retries once.
func (s *Store) do(ctx context.Context, f func(*api.Client) error) error {
	for attempt := 0; ; attempt++ {
		gen, err := s.ensureLogin(ctx)
		if err != nil {
			return err
		}
		err = f(s.client)
		if err == nil || attempt > 0 || !isDenied(err) || !s.canRelogin() {
			return err
		}
		s.invalidate(gen)
	}
}

func (s *Store) canRelogin() bool {
	_, static := s.auth.(TokenAuth)
	return !static
}

func (s *Store) invalidate(gen int) {
	s.mu.Lock()
	if s.gen == gen {
		s.loggedIn = false
	}
	s.mu.Unlock()
}

// reloginBefore is how long before a non-renewable login's expiry the
// store logs in again.
const reloginBefore = 10 * time.Second

// loginError marks a failed login, so its message says so.
type loginError struct{ err error }

func (e *loginError) Error() string { return "login: " + e.err.Error() }
func (e *loginError) Unwrap() error { return e.err }

func (s *Store) ensureLogin(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loggedIn && (s.expires.IsZero() || s.now().Before(s.expires.Add(-reloginBefore))) {
		return s.gen, nil
	}
	sec, err := s.auth.Login(ctx, s.login)
	if err != nil {
		return 0, &loginError{err}
	}
	if sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		return 0, &loginError{errors.New("Vault returned no token")}
	}
	s.client.SetToken(sec.Auth.ClientToken)
	s.token = sec.Auth.ClientToken
	if _, static := s.auth.(TokenAuth); static {
		// A given token's lease is only known by looking it up; a token
		// without lookup-self rights is used as it is, unrenewed.
		if self, err := s.client.Auth().Token().LookupSelfWithContext(ctx); err == nil && self != nil {
			renewable, _ := self.TokenIsRenewable()
			ttl, _ := self.TokenTTL()
			sec.Auth.Renewable = renewable
			sec.Auth.LeaseDuration = int(ttl.Seconds())
		}
	}
	s.gen++
	s.loggedIn = true
	s.expires = time.Time{}
	switch {
	case sec.Auth.Renewable && sec.Auth.LeaseDuration > 0:
		s.watch(sec, s.gen)
	case sec.Auth.LeaseDuration > 0 && s.canRelogin():
		s.expires = s.now().Add(time.Duration(sec.Auth.LeaseDuration) * time.Second)
	}
	s.log.Debug("vault login", "auth", authName(s.auth), "renewable", sec.Auth.Renewable, "ttl_seconds", sec.Auth.LeaseDuration)
	return s.gen, nil
}

// watch renews the login's token until it cannot be renewed any more, then
// marks the login stale so that the next call logs in again.
func (s *Store) watch(sec *api.Secret, gen int) {
	w, err := s.client.NewLifetimeWatcher(&api.LifetimeWatcherInput{Secret: sec})
	if err != nil {
		s.log.Warn("vault: cannot renew the login", "error", s.redact(err.Error()))
		return
	}
	go w.Start()
	go func() {
		defer w.Stop()
		for {
			select {
			case <-s.stop:
				return
			case r := <-w.RenewCh():
				if r != nil && r.Secret != nil && r.Secret.Auth != nil {
					s.log.Debug("vault login renewed", "ttl_seconds", r.Secret.Auth.LeaseDuration)
				}
			case err := <-w.DoneCh():
				if err != nil {
					s.log.Warn("vault: login renewal stopped; logging in again on next use", "error", s.redact(err.Error()))
				} else {
					s.log.Info("vault: login reached its maximum TTL; logging in again on next use")
				}
				s.invalidate(gen)
				return
			}
		}
	}()
}

// Error is what the store's calls return for a failure at Vault. Its
// message names the operation, the key and the path, and Vault's answer
// with any known secret removed; errors.Is finds tokens.ErrNotFound,
// ErrPermissionDenied and context errors through it.
type Error struct {
	// Op is "read", "write", "delete" or "list".
	Op string
	// Key is the token's key (zero for list).
	Key tokens.Key
	// Path is the secret's path below the mount ("" for list).
	Path string
	// StatusCode is Vault's HTTP status, 0 when no answer came.
	StatusCode int

	msg  string
	kind error // a sentinel, or nil
	ctx  error // context.Canceled or DeadlineExceeded, or nil
}

// Error implements error.
func (e *Error) Error() string { return e.msg }

// Unwrap returns the sentinels the error matches.
func (e *Error) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.kind, e.ctx} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func (s *Store) wrap(op string, key tokens.Key, path string, err error, alsoSecret ...string) error {
	e := &Error{Op: op, Key: key, Path: path}
	var where string
	switch {
	case op == "list":
		where = fmt.Sprintf("vault: list tokens under %s", s.mount)
	default:
		where = fmt.Sprintf("vault: %s token %s (%s/%s)", op, key, s.mount, path)
	}
	var re *api.ResponseError
	var le *loginError
	isLogin := errors.As(err, &le)
	switch {
	case errors.Is(err, api.ErrSecretNotFound):
		e.kind = tokens.ErrNotFound
		e.msg = fmt.Sprintf("%s: %s", where, tokens.ErrNotFound)
		if op != "list" {
			e.msg = fmt.Sprintf("tokens: %s: %s (vault %s/%s)", key, tokens.ErrNotFound, s.mount, path)
		}
		return e
	case errors.As(err, &re):
		e.StatusCode = re.StatusCode
		detail := vaultErrors(re.Errors)
		switch {
		case isLogin && re.StatusCode >= 400 && re.StatusCode < 500:
			// Vault answers 400 "invalid role or secret ID" as well as 403.
			e.kind = ErrPermissionDenied
			e.msg = fmt.Sprintf("%s: %s login refused: %s (HTTP %d: %s): check the role and its credentials", where, authName(s.auth), ErrPermissionDenied, re.StatusCode, detail)
		case re.StatusCode == http.StatusUnauthorized || re.StatusCode == http.StatusForbidden:
			e.kind = ErrPermissionDenied
			e.msg = fmt.Sprintf("%s: %s (HTTP %d: %s): the Vault token is invalid, expired or revoked, or its policy does not allow this path", where, ErrPermissionDenied, re.StatusCode, detail)
		case isLogin:
			e.msg = fmt.Sprintf("%s: %s login: HTTP %d: %s", where, authName(s.auth), re.StatusCode, detail)
		default:
			e.msg = fmt.Sprintf("%s: HTTP %d: %s", where, re.StatusCode, detail)
		}
	default:
		e.msg = fmt.Sprintf("%s: %s", where, err.Error())
	}
	switch {
	case errors.Is(err, context.Canceled):
		e.ctx = context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		e.ctx = context.DeadlineExceeded
	}
	e.msg = s.redact(e.msg, alsoSecret...)
	return e
}

// redact removes the current Vault token, the AppRole secret ID and any
// given value from msg.
func (s *Store) redact(msg string, also ...string) string {
	s.mu.Lock()
	secrets := append([]string{s.token}, also...)
	s.mu.Unlock()
	if a, ok := s.auth.(AppRoleAuth); ok {
		secrets = append(secrets, a.secrets()...)
	}
	if a, ok := s.auth.(TokenAuth); ok {
		secrets = append(secrets, a.Token)
	}
	for _, v := range secrets {
		if len(v) >= 4 {
			msg = strings.ReplaceAll(msg, v, "[redacted]")
		}
	}
	return msg
}

// vaultErrors flattens Vault's error list, whose entries may be multi-line
// "2 errors occurred: * a * b" texts, into "a; b".
func vaultErrors(list []string) string {
	var out []string
	for _, e := range list {
		for _, line := range strings.Split(e, "\n") {
			line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "* "))
			if line == "" || strings.HasSuffix(line, "errors occurred:") || strings.HasSuffix(line, "error occurred:") {
				continue
			}
			out = append(out, line)
		}
	}
	if len(out) == 0 {
		return "no detail"
	}
	return strings.Join(out, "; ")
}

func isDenied(err error) bool {
	var re *api.ResponseError
	return errors.As(err, &re) && (re.StatusCode == http.StatusUnauthorized || re.StatusCode == http.StatusForbidden)
}

func authName(a api.AuthMethod) string {
	if s, ok := a.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", a)
}
