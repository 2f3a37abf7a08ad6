package github

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"
)

// ErrPrivateKey is wrapped when the private key given for a GitHub App is
// not a PEM-encoded RSA key. Errors wrapping it never show the key.
var ErrPrivateKey = errors.New("not a PEM-encoded RSA private key")

// AppTokensOptions configures AppTokens.
type AppTokensOptions struct {
	// Margin is how long before its expires_at a cached installation
	// token is replaced by a new one, so that a token handed to a call is
	// still valid when the call ends. Zero means 5 minutes.
	Margin time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// AppTokens mints installation access tokens for GitHub Apps and keeps
// each in memory until Margin before it expires. It is safe for concurrent
// use; concurrent calls for the same installation mint one token.
//
// Minting follows GitHub's documented exchange: a JWT signed with the App's
// private key (RS256, iat 60 s in the past against clock drift, exp 9 min
// ahead, within GitHub's 10 min limit; iss = the App ID or Client ID) is
// sent to POST /app/installations/{id}/access_tokens on the Client's base
// URL, so GitHub Enterprise Server works the same way.
type AppTokens struct {
	client *Client
	margin time.Duration
	now    func() time.Time

	mu      sync.Mutex
	entries map[appInstallation]*appEntry
}

type appInstallation struct {
	app          string
	installation int64
}

type appEntry struct {
	mu      sync.Mutex // held while minting, so that one call mints
	keySum  [sha256.Size]byte
	token   string
	expires time.Time
}

// AppTokens returns a token source that mints installation tokens through
// c. It does no I/O.
func (c *Client) AppTokens(opts AppTokensOptions) *AppTokens {
	t := &AppTokens{client: c, margin: opts.Margin, now: opts.Now, entries: map[appInstallation]*appEntry{}}
	if t.margin <= 0 {
		t.margin = 5 * time.Minute
	}
	if t.now == nil {
		t.now = time.Now
	}
	return t
}

// Token returns an access token for installation of the App appID (its
// App ID, or its Client ID, which GitHub also accepts as the JWT issuer),
// signed for with privateKeyPEM. A cached token is returned while it is
// valid for longer than the margin and the key is unchanged. Errors are
// *apierror.Error for GitHub's answers (401: the JWT was refused, 404: no
// such installation), or wrap ErrPrivateKey; none holds the key or a token.
func (t *AppTokens) Token(ctx context.Context, appID string, installation int64, privateKeyPEM []byte) (string, error) {
	sum := sha256.Sum256(privateKeyPEM)
	k := appInstallation{app: appID, installation: installation}
	t.mu.Lock()
	e := t.entries[k]
	if e == nil {
		e = &appEntry{}
		t.entries[k] = e
	}
	t.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.token != "" && e.keySum == sum && t.now().Add(t.margin).Before(e.expires) {
		return e.token, nil
	}
	tok, expires, err := t.mint(ctx, appID, installation, privateKeyPEM)
	if err != nil {
		return "", err
	}
	e.token, e.expires, e.keySum = tok, expires, sum
	return tok, nil
}

func (t *AppTokens) mint(ctx context.Context, appID string, installation int64, privateKeyPEM []byte) (string, time.Time, error) {
	op := fmt.Sprintf("mint token for installation %d of app %s", installation, appID)
	key, err := parseKey(privateKeyPEM)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("github: app %s: %w", appID, err)
	}
	signed, err := AppJWT(appID, key, t.now())
	if err != nil {
		return "", time.Time{}, fmt.Errorf("github: app %s: sign JWT: %w", appID, err)
	}
	it, _, err := t.client.api(signed).Apps.CreateInstallationToken(ctx, installation, nil)
	if err != nil {
		return "", time.Time{}, convert(op, err)
	}
	if it.GetToken() == "" {
		return "", time.Time{}, convert(op, errors.New("the answer holds no token"))
	}
	return it.GetToken(), it.GetExpiresAt().Time, nil
}

func parseKey(pem []byte) (*rsa.PrivateKey, error) {
	key, err := jwt.ParseRSAPrivateKeyFromPEM(pem)
	if err != nil {
		// The parser's message is dropped: the key's bytes must not reach
		// a log line or a workflow history by any path.
		return nil, ErrPrivateKey
	}
	return key, nil
}

// AppJWT returns the JSON Web Token a GitHub App authenticates with at
// now: RS256, issued 60 s before now, expiring 9 min after it, issuer
// appID. Timestamps are whole seconds, as GitHub requires.
func AppJWT(appID string, key *rsa.PrivateKey, now time.Time) (string, error) {
	now = now.Truncate(time.Second)
	claims := jwt.RegisteredClaims{
		Issuer:    appID,
		IssuedAt:  jwt.NewNumericDate(now.Add(-60 * time.Second)),
		ExpiresAt: jwt.NewNumericDate(now.Add(9 * time.Minute)),
	}
	return jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(key)
}

// ParseInstallationID reads an installation ID as GitHub prints it.
func ParseInstallationID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("github: installation %q is not a GitHub App installation ID (a positive number)", s)
	}
	return id, nil
}

// Forget drops the cached token of installation of appID, so that the
// next Token call mints a new one: for a token GitHub refused (401)
// before it expired, as after an explicit revocation.
func (t *AppTokens) Forget(appID string, installation int64) {
	t.mu.Lock()
	e := t.entries[appInstallation{app: appID, installation: installation}]
	t.mu.Unlock()
	if e == nil {
		return
	}
	e.mu.Lock()
	e.token, e.expires = "", time.Time{}
	e.mu.Unlock()
}
