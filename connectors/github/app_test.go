package github

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"
	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/apierror"
)

// testKeys are RSA keys made once for the package's tests.
var testKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	keys := make([]*rsa.PrivateKey, 2)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
})

func keyPEM(k *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

// testKeyPEM is the first test key; a var so that operations can use it.
var testKeyPEM = keyPEM(testKeys()[0])

// clock is a settable clock shared by AppTokens and the fake GitHub.
type clock struct{ t atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.t.Store(time.Now().Unix())
	return c
}
func (c *clock) Now() time.Time      { return time.Unix(c.t.Load(), 0) }
func (c *clock) Add(d time.Duration) { c.t.Add(int64(d / time.Second)) }
func clientFor(t *testing.T, h http.Handler) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(Options{BaseURL: srv.URL + "/api/v3"})
	require.NoError(t, err)
	return c
}

// appGitHub is a fake GitHub (Enterprise Server, under /api/v3) that
// checks the App JWT as GitHub documents it (RS256 with the App's public
// key, iss = app ID, iat in the past, exp at most 10 minutes after iat and
// still ahead) and replays fixture, with expires_at set to expires.
type appGitHub struct {
	t       *testing.T
	clock   *clock
	pub     *rsa.PublicKey
	appID   string
	fixture string
	expires atomic.Int64
	calls   atomic.Int32
}

func (g *appGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.calls.Add(1)
	if r.Method != http.MethodPost || r.URL.Path != "/api/v3/app/installations/2/access_tokens" {
		serveFixture(g.t, w, "app_token_404.http")
		return
	}
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	var claims jwt.RegisteredClaims
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	_, err := parser.ParseWithClaims(auth, &claims, func(*jwt.Token) (any, error) { return g.pub, nil })
	now := g.clock.Now()
	switch {
	case !ok, err != nil, claims.Issuer != g.appID, claims.IssuedAt == nil, claims.ExpiresAt == nil,
		claims.IssuedAt.After(now), !claims.ExpiresAt.After(now),
		claims.ExpiresAt.Sub(claims.IssuedAt.Time) > 10*time.Minute:
		serveFixture(g.t, w, "app_token_401.http")
		return
	}
	status, header, body := readFixture(g.t, g.fixture)
	exp := time.Unix(g.expires.Load(), 0).UTC().Format(time.RFC3339)
	body = []byte(strings.Replace(string(body), "2016-07-11T22:14:10Z", exp, 1))
	for k, v := range header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func newAppGitHub(t *testing.T, fixture string) (*appGitHub, *Client) {
	g := &appGitHub{t: t, clock: newClock(), pub: &testKeys()[0].PublicKey, appID: "12345", fixture: fixture}
	g.expires.Store(g.clock.Now().Add(time.Hour).Unix())
	return g, clientFor(t, g)
}

const documentedToken = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"

func TestAppTokensMintAndCache(t *testing.T) {
	t.Parallel()
	g, c := newAppGitHub(t, "app_token_201.http")
	src := c.AppTokens(AppTokensOptions{Now: g.clock.Now})
	ctx := context.Background()

	tok, err := src.Token(ctx, "12345", 2, testKeyPEM)
	require.NoError(t, err)
	require.Equal(t, documentedToken, tok)
	require.EqualValues(t, 1, g.calls.Load())

	// Cached while it is valid for longer than the 5-minute margin.
	g.clock.Add(54 * time.Minute)
	tok, err = src.Token(ctx, "12345", 2, testKeyPEM)
	require.NoError(t, err)
	require.Equal(t, documentedToken, tok)
	require.EqualValues(t, 1, g.calls.Load())

	// Within the margin: a new one is minted.
	g.clock.Add(2 * time.Minute)
	g.expires.Store(g.clock.Now().Add(time.Hour).Unix())
	_, err = src.Token(ctx, "12345", 2, testKeyPEM)
	require.NoError(t, err)
	require.EqualValues(t, 2, g.calls.Load())
	_, err = src.Token(ctx, "12345", 2, testKeyPEM)
	require.NoError(t, err)
	require.EqualValues(t, 2, g.calls.Load())

	// Another installation has its own token.
	_, err = src.Token(ctx, "12345", 3, testKeyPEM)
	require.Error(t, err)
	require.EqualValues(t, 3, g.calls.Load())

	// A replaced key is not served the old key's token: the new key is
	// used (and refused, as the fake knows only the first).
	_, err = src.Token(ctx, "12345", 2, keyPEM(testKeys()[1]))
	e, ok := apierror.As(err)
	require.True(t, ok)
	require.Equal(t, http.StatusUnauthorized, e.Status)
}

func TestAppTokensConcurrentCallsMintOnce(t *testing.T) {
	t.Parallel()
	g, c := newAppGitHub(t, "app_token_201.http")
	src := c.AppTokens(AppTokensOptions{Now: g.clock.Now})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := src.Token(context.Background(), "12345", 2, testKeyPEM)
			require.NoError(t, err)
			require.Equal(t, documentedToken, tok)
		}()
	}
	wg.Wait()
	require.EqualValues(t, 1, g.calls.Load())
}

func TestAppTokensErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		appID        string
		installation int64
		key          []byte
		status       int
		message      string
		badKey       bool
	}{
		{name: "JWT refused (wrong key)", appID: "12345", installation: 2, key: keyPEM(testKeys()[1]), status: 401, message: "A JSON web token could not be decoded"},
		{name: "JWT refused (wrong app)", appID: "999", installation: 2, key: testKeyPEM, status: 401, message: "A JSON web token could not be decoded"},
		{name: "no installation", appID: "12345", installation: 7, key: testKeyPEM, status: 404, message: "Not Found"},
		{name: "not a key", appID: "12345", installation: 2, key: []byte("-----BEGIN RSA PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END RSA PRIVATE KEY-----\n"), badKey: true},
		{name: "empty key", appID: "12345", installation: 2, key: nil, badKey: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, c := newAppGitHub(t, "app_token_201.http")
			_, err := c.AppTokens(AppTokensOptions{Now: g.clock.Now}).Token(context.Background(), tt.appID, tt.installation, tt.key)
			require.Error(t, err)
			msg := err.Error()
			require.NotContains(t, msg, "PRIVATE KEY")
			require.NotContains(t, msg, "c2VjcmV0")
			require.NotContains(t, msg, documentedToken)
			require.NotContains(t, msg, "eyJ") // no JWT
			if len(tt.key) > 40 {
				require.NotContains(t, msg, string(tt.key[32:40]))
			}
			if tt.badKey {
				require.True(t, errors.Is(err, ErrPrivateKey))
				require.Zero(t, g.calls.Load())
				return
			}
			e, ok := apierror.As(err)
			require.True(t, ok)
			require.Equal(t, tt.status, e.Status)
			require.False(t, e.Retryable())
			require.Contains(t, msg, tt.message)
			require.Contains(t, msg, "app "+tt.appID)
		})
	}
}

func TestAppJWT(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 10, 0, 0, 500, time.UTC)
	s, err := AppJWT("Iv1.abc", testKeys()[0], now)
	require.NoError(t, err)
	var claims jwt.RegisteredClaims
	tok, err := jwt.NewParser(jwt.WithoutClaimsValidation()).ParseWithClaims(s, &claims, func(*jwt.Token) (any, error) { return &testKeys()[0].PublicKey, nil })
	require.NoError(t, err)
	require.Equal(t, "RS256", tok.Method.Alg())
	require.Equal(t, "Iv1.abc", claims.Issuer)
	require.Equal(t, now.Truncate(time.Second).Add(-time.Minute), claims.IssuedAt.Time.UTC())
	require.Equal(t, now.Truncate(time.Second).Add(9*time.Minute), claims.ExpiresAt.Time.UTC())
}

func TestParseInstallationID(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"42": 42, "": 0, "x": 0, "-1": 0, "0": 0} {
		got, err := ParseInstallationID(in)
		require.Equal(t, want, got, in)
		require.Equal(t, want == 0, err != nil, in)
	}
}

func TestAppTokensForget(t *testing.T) {
	t.Parallel()
	g, c := newAppGitHub(t, "app_token_201.http")
	src := c.AppTokens(AppTokensOptions{Now: g.clock.Now})
	for range 2 {
		_, err := src.Token(context.Background(), "12345", 2, testKeyPEM)
		require.NoError(t, err)
	}
	require.EqualValues(t, 1, g.calls.Load())
	src.Forget("12345", 2)
	src.Forget("12345", 99) // never minted: nothing to drop
	_, err := src.Token(context.Background(), "12345", 2, testKeyPEM)
	require.NoError(t, err)
	require.EqualValues(t, 2, g.calls.Load())
}
