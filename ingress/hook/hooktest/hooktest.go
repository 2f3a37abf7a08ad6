// Package hooktest loads the recorded deliveries that the sender packages
// (ingress/github, ingress/gitlab, ...) keep in testdata, and holds the
// assertions every hook.Source test makes: a refusal is a *hook.Error with
// a status and code, and neither a refusal nor an event shows a secret.
package hooktest

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/ingress/hook"
)

// Load reads testdata/name, a recorded delivery: the request line, the
// headers, a blank line, and then the body, every byte after the blank line
// exactly as signed (there is no Content-Length). The request carries
// secret as the integration's only secret and an empty, writable Options.
func Load(t testing.TB, name, secret string) *hook.Request {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	head, body, ok := bytes.Cut(raw, []byte("\n\n"))
	require.True(t, ok, "%s: no blank line after the headers", name)
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(append(head, "\n\n"...))))
	require.NoError(t, err)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return &hook.Request{
		Header:      r.Header,
		Body:        body,
		ContentType: ct,
		Secrets:     [][]byte{[]byte(secret)},
		Options:     map[string]string{},
	}
}

// MAC is the HMAC-SHA256 of the concatenated parts under key.
func MAC(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// Sign is the "sha256=<hex HMAC-SHA256>" signature header of body under
// key, as GitHub, Bitbucket and Jira send it.
func Sign(key string, body []byte) string {
	return "sha256=" + hex.EncodeToString(MAC([]byte(key), body))
}

// RequireError requires err to be a *hook.Error with status and code whose
// message and hint contain none of secrets: the sender sees both.
func RequireError(t testing.TB, err error, status int, code string, secrets ...string) {
	t.Helper()
	var he *hook.Error
	require.True(t, errors.As(err, &he), "want *hook.Error, got %v", err)
	require.Equal(t, status, he.Status)
	require.Equal(t, code, he.Code)
	for _, s := range secrets {
		require.NotContains(t, he.Message+he.Hint, s)
	}
}

// RequireStatus requires err to be a *hook.Error with status, whatever its
// code: what a fuzzed input may fail with.
func RequireStatus(t testing.TB, err error, status int) {
	t.Helper()
	var he *hook.Error
	require.True(t, errors.As(err, &he))
	require.Equal(t, status, he.Status)
}

// RequireHidden requires the JSON encoding of v, an event as it is stored
// in workflow histories, to contain none of secrets (tokens, signatures).
// An empty string is contained in everything, so it always fails.
func RequireHidden(t testing.TB, v any, secrets ...string) {
	t.Helper()
	enc, err := json.Marshal(v)
	require.NoError(t, err)
	for _, s := range secrets {
		require.NotContains(t, string(enc), s)
	}
}

// VerifyCase is one row of a Verify table.
type VerifyCase struct {
	Name string
	// Source verifies the request; nil means the source given to RunVerify.
	Source hook.Source
	// Mutate changes a freshly loaded copy of the recorded delivery.
	Mutate func(r *hook.Request)
	// WantErr says Verify must refuse with 401 unauthorized.
	WantErr bool
}

// RunVerify runs each case as a parallel subtest over a fresh load(t, file):
// Verify accepts it, or refuses it with 401 unauthorized naming none of
// secrets.
func RunVerify(t *testing.T, src hook.Source, load func(testing.TB, string) *hook.Request, file string, tests []VerifyCase, secrets ...string) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			t.Parallel()
			req := load(t, file)
			tt.Mutate(req)
			s := tt.Source
			if s == nil {
				s = src
			}
			err := s.Verify(req)
			if !tt.WantErr {
				require.NoError(t, err)
				return
			}
			RequireError(t, err, http.StatusUnauthorized, "unauthorized", secrets...)
		})
	}
}

// ParseErrorCase is one row of a table of deliveries Parse refuses.
type ParseErrorCase struct {
	Name string
	// File is the recorded delivery to start from; empty means the file
	// given to RunParseErrors.
	File string
	// Mutate changes a freshly loaded copy of the recorded delivery.
	Mutate func(r *hook.Request)
	// Code is the hook.Error code of the 400 that Parse must return.
	Code string
}

// RunParseErrors runs each case as a parallel subtest: Parse refuses the
// mutated delivery with 400 and the case's code, naming none of secrets.
func RunParseErrors(t *testing.T, src hook.Source, load func(testing.TB, string) *hook.Request, file string, tests []ParseErrorCase, secrets ...string) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			t.Parallel()
			name := tt.File
			if name == "" {
				name = file
			}
			req := load(t, name)
			tt.Mutate(req)
			_, err := src.Parse(req)
			RequireError(t, err, http.StatusBadRequest, tt.Code, secrets...)
		})
	}
}

// RequireBodyDeliveryID loads file, drops the named headers (or applies
// mutate when not nil) and checks that the parsed event's delivery ID is
// the body's hash: a sender that sends no delivery ID is still
// deduplicated by content.
func RequireBodyDeliveryID(t *testing.T, src hook.Source, load func(testing.TB, string) *hook.Request, file string, mutate func(*hook.Request), drop ...string) {
	t.Helper()
	req := load(t, file)
	for _, h := range drop {
		req.Header.Del(h)
	}
	if mutate != nil {
		mutate(req)
	}
	ev, err := src.Parse(req)
	require.NoError(t, err)
	require.Equal(t, hook.BodyDeliveryID(req.Body), ev.DeliveryID)
}
