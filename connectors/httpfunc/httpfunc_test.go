package httpfunc

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/apierror"
	"github.com/hookflow/hookflow/connectors/replaytest"
)

const secret = "s3cr3t-function-signing-key"

func writeRecorded(t *testing.T, w http.ResponseWriter, name string) {
	replaytest.WriteResponse(t, w, filepath.Join("testdata", name))
}

func fixtureServer(t *testing.T, name string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeRecorded(t, w, name) }))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestSignVector(t *testing.T) {
	t.Parallel()
	// python3 -c 'import hmac,hashlib;print(hmac.new(b"secret",b"1700000000.{\"a\":1}",hashlib.sha256).hexdigest())'
	require.Equal(t, "v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686", Sign("secret", 1700000000, []byte(`{"a":1}`)))
}

func TestVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(1700000000, 0)
	body := []byte(`{"a":1}`)
	good := Sign(secret, now.Unix(), body)
	tests := []struct {
		name, ts, sig string
		body          []byte
		ok            bool
	}{
		{"good", "1700000000", good, body, true},
		{"rotation: second entry", "1700000000", "v1=00," + good, body, true},
		{"other body", "1700000000", good, []byte(`{"a":2}`), false},
		{"other secret", "1700000000", Sign("other", now.Unix(), body), body, false},
		{"stale", "1699999000", Sign(secret, 1699999000, body), body, false},
		{"future", "1700001000", Sign(secret, 1700001000, body), body, false},
		{"no timestamp", "", good, body, false},
		{"no signature", "1700000000", "", body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Verify(secret, tt.ts, tt.sig, tt.body, now, 5*time.Minute)
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrBadSignature)
			}
		})
	}
}

func TestCallSignsAndReturnsJSON(t *testing.T) {
	t.Parallel()
	now := time.Unix(1795521600, 0)
	var got *http.Request
	var gotBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		gotBody, _ = io.ReadAll(r.Body)
		writeRecorded(t, w, "ok_200.http")
	}))
	t.Cleanup(srv.Close)
	c := New(Options{Now: func() time.Time { return now }})
	resp, err := c.Call(context.Background(), secret, Request{Function: "greet", URL: srv.URL + "/fn", Input: json.RawMessage(`{"name":"Ada"}`), IdempotencyKey: "wf-1/run-1/5"})
	require.NoError(t, err)
	require.Equal(t, 200, resp.Status)
	require.JSONEq(t, `{"greeting":"Hello, Ada!","idempotency_key":""}`, string(resp.Output))
	require.Equal(t, http.MethodPost, got.Method)
	require.Equal(t, "/fn", got.URL.Path)
	require.Equal(t, "application/json", got.Header.Get("Content-Type"))
	require.Equal(t, "1795521600", got.Header.Get(HeaderTimestamp))
	require.Equal(t, "greet", got.Header.Get(HeaderFunction))
	require.Equal(t, "wf-1/run-1/5", got.Header.Get(HeaderIdempotencyKey))
	require.NoError(t, Verify(secret, got.Header.Get(HeaderTimestamp), got.Header.Get(HeaderSignature), gotBody, now, time.Minute))
	require.Equal(t, `{"name":"Ada"}`, string(gotBody))
}

func TestCallNoContent(t *testing.T) {
	t.Parallel()
	resp, err := New(Options{}).Call(context.Background(), secret, Request{Function: "f", URL: fixtureServer(t, "no_content_204.http")})
	require.NoError(t, err)
	require.Equal(t, "null", string(resp.Output))
}

func TestCallErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture    string
		status     int
		retryAfter time.Duration
		message    string
	}{
		{"error_400.http", 400, 0, "input is not JSON"},
		{"error_401.http", 401, 0, "bad signature"},
		{"error_403_lambda.http", 403, 0, "Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"},
		{"error_404_knative.http", 404, 0, ""},
		{"error_409.http", 409, 0, "a call with this idempotency key is still running"},
		{"error_422.http", 422, 0, "input.name is required"},
		{"error_429_lambda.http", 429, 0, "Rate Exceeded."},
		{"error_429.http", 429, 3 * time.Second, "slow down"},
		{"error_500.http", 500, 0, "Traceback (most recent call last): KeyError: 'name'"},
		{"error_502_openfaas.http", 502, 0, ""},
		{"error_503_knative.http", 503, time.Second, ""},
		{"malformed_200.http", 0, 0, "malformed response: not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			_, err := New(Options{}).Call(context.Background(), secret, Request{Function: "greet", URL: fixtureServer(t, tt.fixture), Input: json.RawMessage(`{}`)})
			e, ok := apierror.As(err)
			require.True(t, ok, "%T %v", err, err)
			require.Equal(t, System, e.System)
			require.Equal(t, "call greet", e.Op)
			require.Equal(t, tt.status, e.Status)
			require.Equal(t, tt.retryAfter, e.RetryAfter)
			require.Equal(t, tt.message, e.Message)
			require.NotContains(t, err.Error(), secret)
		})
	}
}

func TestCallLocalFailures(t *testing.T) {
	t.Parallel()
	done := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(done) }) // runs first: unblocks the handler
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`"` + string(make([]byte, 64)) + `"`))
	}))
	t.Cleanup(big.Close)
	tests := []struct {
		name      string
		opts      Options
		req       Request
		status    int
		retryable bool
		message   string
	}{
		{"timeout", Options{}, Request{Function: "f", URL: slow.URL, Timeout: 50 * time.Millisecond}, 0, true, "no answer within 50ms"},
		{"connection refused", Options{}, Request{Function: "f", URL: closedURL}, 0, true, ""},
		{"bad URL", Options{}, Request{Function: "f", URL: "greet.svc"}, 400, false, "invalid function URL"},
		{"input not JSON", Options{}, Request{Function: "f", URL: slow.URL, Input: json.RawMessage(`{`)}, 400, false, "input is not JSON"},
		{"answer too large", Options{MaxResponseBytes: 16}, Request{Function: "f", URL: big.URL}, 413, false, "answer larger than 16 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.opts).Call(context.Background(), secret, tt.req)
			e, ok := apierror.As(err)
			require.True(t, ok, "%T %v", err, err)
			require.Equal(t, tt.status, e.Status)
			require.Equal(t, tt.retryable, e.Retryable())
			if tt.message != "" {
				require.Equal(t, tt.message, e.Message)
			}
			require.NotContains(t, err.Error(), secret)
		})
	}
}

// A function URL that redirects to another origin must not get the signed
// request there: a 307/308 would resend the body with its signature, which
// the other origin could replay to the function within the tolerance.
func TestCallDoesNotFollowCrossOriginRedirects(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			t.Parallel()
			leaked := make(chan http.Header, 1)
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				leaked <- r.Header.Clone()
				_, _ = w.Write([]byte(`{"stolen":true}`))
			}))
			t.Cleanup(other.Close)
			fn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+"/collect?token=abc", status)
			}))
			t.Cleanup(fn.Close)
			for name, opts := range map[string]Options{
				"default client":  {},
				"caller's client": {HTTPClient: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}},
			} {
				_, err := New(opts).Call(context.Background(), secret, Request{Function: "greet", URL: fn.URL + "/fn", Input: json.RawMessage(`{"name":"Ada"}`)})
				e, ok := apierror.As(err)
				require.True(t, ok, "%s: %T %v", name, err, err)
				require.Equal(t, status, e.Status, name)
				require.False(t, e.Retryable(), name)
				require.Contains(t, e.Message, other.URL, name)
				require.NotContains(t, err.Error(), "token=abc", name)
				require.NotContains(t, err.Error(), secret, name)
				select {
				case h := <-leaked:
					t.Fatalf("%s: the other origin got the request (signature %q)", name, h.Get(HeaderSignature))
				default:
				}
			}
		})
	}
}

// Redirects within the function's origin are still followed, with the
// signature (a 308 keeps the method and the body).
func TestCallFollowsSameOriginRedirects(t *testing.T) {
	t.Parallel()
	now := time.Unix(1795521600, 0)
	var mux http.ServeMux
	mux.Handle("/old", http.RedirectHandler("/new", http.StatusPermanentRedirect))
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if Verify(secret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, now, time.Minute) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write(body)
	})
	srv := httptest.NewServer(&mux)
	t.Cleanup(srv.Close)
	checked := 0
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { checked++; return nil }}
	resp, err := New(Options{Now: func() time.Time { return now }, HTTPClient: hc}).Call(context.Background(), secret, Request{Function: "f", URL: srv.URL + "/old", Input: json.RawMessage(`{"a":1}`)})
	require.NoError(t, err)
	require.JSONEq(t, `{"a":1}`, string(resp.Output))
	require.Equal(t, 1, checked, "the caller's CheckRedirect still decides same-origin redirects")
	require.NoError(t, hc.CheckRedirect(nil, nil))
	require.Equal(t, 2, checked, "the caller's client is copied, not changed")
}

func TestOrigin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		same bool
	}{
		{"https://fn.example.com/a", "https://fn.example.com/b?x=1", true},
		{"https://FN.example.com/a", "https://fn.example.com/b", true},
		{"https://fn.example.com/a", "http://fn.example.com/a", false},
		{"https://fn.example.com/a", "https://fn.example.com:8443/a", false},
		{"https://fn.example.com/a", "https://evil.example.com/a", false},
		{"https://fn.example.com/a", "https://fn.example.com.evil.net/a", false},
	}
	for _, tt := range tests {
		a, err := url.Parse(tt.a)
		require.NoError(t, err)
		b, err := url.Parse(tt.b)
		require.NoError(t, err)
		require.Equal(t, tt.same, origin(a) == origin(b), "%s vs %s", tt.a, tt.b)
	}
}
