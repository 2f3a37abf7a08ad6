// Package classify turns connector errors into Temporal activity errors at
// the activity boundary: authentication and validation failures become
// non-retryable application errors with an exported type, rate limits,
// server errors and network failures stay retryable and carry the API's
// Retry-After as the next retry delay.
package classify

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/connectors/apierror"
	"github.com/hookflow/hookflow/connectors/tokens"
)

// Error types, usable in a RetryPolicy's NonRetryableErrorTypes and in
// workflow code that inspects an *temporal.ApplicationError.
const (
	// TypeAuth: the credentials were refused (401, 403) or are missing.
	TypeAuth = "hookflow.AuthError"
	// TypeNotFound: the target does not exist (404, 410).
	TypeNotFound = "hookflow.NotFoundError"
	// TypeConflict: the target is in a state that refuses the call (409).
	TypeConflict = "hookflow.ConflictError"
	// TypeValidation: the request was refused as invalid (400, 422, other 4xx).
	TypeValidation = "hookflow.ValidationError"
	// TypeRateLimited: 429 or an exhausted rate limit; retried after the
	// delay the API asked for.
	TypeRateLimited = "hookflow.RateLimitedError"
	// TypeUnavailable: 5xx, timeouts and network errors; retried.
	TypeUnavailable = "hookflow.UnavailableError"
)

// Error classifies err. Nil stays nil; context cancellation is returned as
// is; errors that are not *apierror.Error are returned as is (retryable by
// the activity's retry policy).
func Error(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	e, ok := apierror.As(err)
	if !ok {
		return err
	}
	// The whole chain: callers add context (the installation) by wrapping.
	msg := err.Error()
	if e.Retryable() {
		typ := TypeUnavailable
		if e.Status == http.StatusTooManyRequests || e.RetryAfter > 0 {
			typ = TypeRateLimited
		}
		return temporal.NewApplicationErrorWithOptions(msg, typ, temporal.ApplicationErrorOptions{
			NextRetryDelay: e.RetryAfter,
		})
	}
	return temporal.NewNonRetryableApplicationError(msg, typeOf(e.Status), nil)
}

// Final returns a non-retryable error of type typ for failures the activity
// detects itself (a missing token, an invalid input).
func Final(typ, msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, typ, nil)
}

func typeOf(status int) string {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return TypeAuth
	case http.StatusNotFound, http.StatusGone:
		return TypeNotFound
	case http.StatusConflict:
		return TypeConflict
	default:
		return TypeValidation
	}
}

// Credential fetches key's secret from store at the moment of use. A
// missing credential, or one the store refuses (revoked, expired), is a
// final TypeAuth error: retrying cannot help. what describes the secret
// ("token for installation"); messages name it and the installation, never
// the secret.
func Credential(ctx context.Context, store tokens.Store, key tokens.Key, what string) (string, error) {
	t, err := store.Token(ctx, key)
	switch {
	case errors.Is(err, tokens.ErrNotFound):
		return "", Final(TypeAuth, fmt.Sprintf("%s: no %s %q", key.System, what, key.Installation))
	case errors.Is(err, tokens.ErrDenied):
		return "", Final(TypeAuth, fmt.Sprintf("%s: the token store refused the %s %q (revoked or expired)", key.System, what, key.Installation))
	case err != nil:
		return "", fmt.Errorf("%s: %s %q: %w", key.System, what, key.Installation, err)
	}
	return t, nil
}
