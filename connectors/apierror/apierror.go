// Package apierror is the one error type every connector returns for a
// failed call to an external API, so that the activity layer can classify
// failures without knowing each vendor: auth and validation errors are final,
// rate limits, server errors and network failures are worth retrying.
//
// An Error's message is safe to log and to store in a workflow history: it
// names the system, the operation and the status, never a token or a body.
package apierror

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Error is a failed call to an external API.
type Error struct {
	// System is the connector's name ("github", "jira", ...).
	System string
	// Op says what was attempted ("create comment on o/r#1").
	Op string
	// Status is the HTTP status; zero means no response (network error,
	// timeout, malformed response).
	Status int
	// RetryAfter is how long the API asked us to wait (Retry-After or a
	// rate-limit reset); zero means it did not say.
	RetryAfter time.Duration
	// Message is the API's own error message, trimmed; it must not echo
	// credentials.
	Message string
	// Err is the underlying error, if any.
	Err error
}

func (e *Error) Error() string {
	s := e.System + ": " + e.Op
	if e.Status != 0 {
		s += fmt.Sprintf(": HTTP %d", e.Status)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether the same call may succeed later: no response,
// 408, 425, 429 and 5xx are; every other status is final.
func (e *Error) Retryable() bool {
	switch {
	case e.Status == 0, e.Status == http.StatusRequestTimeout, e.Status == http.StatusTooEarly,
		e.Status == http.StatusTooManyRequests, e.Status >= 500:
		return true
	}
	return false
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// RetryAfter reads how long a response asks the client to wait: the
// Retry-After header (seconds or an HTTP date), or, when the rate limit is
// exhausted, X-RateLimit-Reset (epoch seconds, as GitHub sends it). Zero
// means the response does not say.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After"); v != "" {
		if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
			return time.Duration(secs) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil && t.After(now) {
			return t.Sub(now)
		}
	}
	if h.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			if d := time.Unix(reset, 0).Sub(now); d > 0 {
				return d
			}
		}
	}
	return 0
}
