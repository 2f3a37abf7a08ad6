package github

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jwt "github.com/golang-jwt/jwt/v4"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/hookflow/hookflow/activities/classify"
	ghconn "github.com/hookflow/hookflow/connectors/github"
	"github.com/hookflow/hookflow/connectors/tokens"
)

const (
	appID       = "12345"
	mintedToken = "ghs_m1nt3dInstallationTokenABCDEFGHIJ"
)

var appKeys = sync.OnceValue(func() [2][]byte {
	var out [2][]byte
	for i := range out {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		out[i] = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	}
	return out
})

// appGitHub is a fake GitHub for an App: it mints mintedToken for
// installation 2 against a JWT signed with appKeys()[0] and issued by
// appID, has no installation 3, and adds labels for that token until
// revoked.
type appGitHub struct {
	pub     *rsa.PublicKey
	mints   atomic.Int32
	revoked atomic.Bool
}

func (g *appGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	auth := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch r.Method + " " + r.URL.Path {
	case "POST /app/installations/2/access_tokens", "POST /app/installations/3/access_tokens":
		g.mints.Add(1)
		var claims jwt.RegisteredClaims
		_, err := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"})).ParseWithClaims(auth, &claims, func(*jwt.Token) (any, error) { return g.pub, nil })
		if err != nil || claims.Issuer != appID {
			writeFixture(nil, w, "app_token_401.http")
			return
		}
		if strings.Contains(r.URL.Path, "/3/") {
			writeFixture(nil, w, "app_token_404.http")
			return
		}
		g.revoked.Store(false)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"token": mintedToken, "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	case "POST /repos/o/r/issues/1/labels":
		if auth != mintedToken || g.revoked.Load() {
			writeFixture(nil, w, "error_401.http")
			return
		}
		writeFixture(nil, w, "labels_200.http")
	default:
		w.WriteHeader(http.StatusTeapot)
	}
}

func appEnv(t *testing.T, store tokens.Store) (*testsuite.TestActivityEnvironment, *appGitHub) {
	t.Helper()
	block, _ := pem.Decode(appKeys()[0])
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	require.NoError(t, err)
	g := &appGitHub{pub: &key.PublicKey}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	c, err := ghconn.New(ghconn.Options{BaseURL: srv.URL})
	require.NoError(t, err)
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	e := s.NewTestActivityEnvironment()
	Register(e, &Activities{Client: c, Tokens: store, AppID: appID})
	return e, g
}

func labels(installation string) AddLabelsInput {
	return AddLabelsInput{Installation: installation, Owner: "o", Repo: "r", Number: 1, Labels: []string{"bug"}}
}

func TestAppAuthMintsOnceAndCaches(t *testing.T) {
	t.Parallel()
	e, g := appEnv(t, tokens.Static{AppSystem: string(appKeys()[0])})
	for range 3 {
		_, err := e.ExecuteActivity(AddLabels, labels("2"))
		require.NoError(t, err)
	}
	require.EqualValues(t, 1, g.mints.Load())
}

func TestAppAuthRevokedTokenFailsOnceThenRemints(t *testing.T) {
	t.Parallel()
	e, g := appEnv(t, tokens.Static{AppSystem: string(appKeys()[0])})
	_, err := e.ExecuteActivity(AddLabels, labels("2"))
	require.NoError(t, err)
	g.revoked.Store(true)

	_, err = e.ExecuteActivity(AddLabels, labels("2"))
	appErr := appError(t, err)
	require.Equal(t, classify.TypeAuth, appErr.Type())
	require.True(t, appErr.NonRetryable())
	require.Contains(t, err.Error(), `installation "2"`)
	require.NotContains(t, err.Error(), mintedToken)

	_, err = e.ExecuteActivity(AddLabels, labels("2"))
	require.NoError(t, err)
	require.EqualValues(t, 2, g.mints.Load())
}

func TestAppAuthErrors(t *testing.T) {
	t.Parallel()
	const badPEM = "-----BEGIN RSA PRIVATE KEY-----\nbm90LWEta2V5LWJ1dC1zZWNyZXQ=\n-----END RSA PRIVATE KEY-----\n"
	tests := []struct {
		name         string
		store        tokens.Store
		installation string
		wantType     string
		contains     string
	}{
		{"no private key stored", tokens.Static{}, "2", classify.TypeAuth, `private key for app "12345"`},
		{"not a key", tokens.Static{AppSystem: badPEM}, "2", classify.TypeAuth, `private key stored for app "12345" (github-app/12345) is not a PEM-encoded RSA key`},
		{"another App's key", tokens.Static{AppSystem: string(appKeys()[1])}, "2", classify.TypeAuth, "A JSON web token could not be decoded"},
		{"no such installation", tokens.Static{AppSystem: string(appKeys()[0])}, "3", classify.TypeNotFound, "installation 3 of app 12345"},
		{"no installation given", tokens.Static{AppSystem: string(appKeys()[0])}, "", classify.TypeValidation, `acting as GitHub App "12345"`},
		{"installation not a number", tokens.Static{AppSystem: string(appKeys()[0])}, "octo-org", classify.TypeValidation, `installation "octo-org"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, _ := appEnv(t, tt.store)
			_, err := e.ExecuteActivity(AddLabels, labels(tt.installation))
			appErr := appError(t, err)
			require.Equal(t, tt.wantType, appErr.Type())
			require.True(t, appErr.NonRetryable())
			require.Contains(t, err.Error(), tt.contains)
			for _, secret := range []string{"PRIVATE KEY", "bm90LWEta2V5", mintedToken, "eyJ"} {
				require.NotContains(t, err.Error(), secret)
			}
		})
	}
}
