package classify

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/hookflow/hookflow/connectors/apierror"
	"github.com/hookflow/hookflow/connectors/tokens"
)

func TestError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status       int
		retryAfter   time.Duration
		wantType     string
		nonRetryable bool
	}{
		{401, 0, TypeAuth, true},
		{403, 0, TypeAuth, true},
		{404, 0, TypeNotFound, true},
		{409, 0, TypeConflict, true},
		{422, 0, TypeValidation, true},
		{400, 0, TypeValidation, true},
		{429, 30 * time.Second, TypeRateLimited, false},
		{403 + 100, 0, TypeUnavailable, false}, // 503
		{0, 0, TypeUnavailable, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			err := Error(fmt.Errorf("activity: %w", &apierror.Error{System: "x", Op: "op", Status: tt.status, RetryAfter: tt.retryAfter}))
			var appErr *temporal.ApplicationError
			require.True(t, errors.As(err, &appErr))
			require.Equal(t, tt.wantType, appErr.Type())
			require.Equal(t, tt.nonRetryable, appErr.NonRetryable())
			require.Equal(t, tt.retryAfter, appErr.NextRetryDelay())
		})
	}
	require.NoError(t, Error(nil))
	require.ErrorIs(t, Error(context.Canceled), context.Canceled)
	plain := errors.New("plain")
	require.Equal(t, plain, Error(plain))
}

type storeFunc func(context.Context, tokens.Key) (string, error)

func (f storeFunc) Token(ctx context.Context, k tokens.Key) (string, error) { return f(ctx, k) }

func TestCredential(t *testing.T) {
	t.Parallel()
	key := tokens.Key{System: "github", Installation: "42"}
	tok, err := Credential(context.Background(), tokens.Static{"github": "ghp_secret"}, key, "token for installation")
	require.NoError(t, err)
	require.Equal(t, "ghp_secret", tok)

	for name, tc := range map[string]struct {
		err          error
		nonRetryable bool
	}{
		"missing": {fmt.Errorf("vault: %w", tokens.ErrNotFound), true},
		"revoked": {fmt.Errorf("vault: permission denied: %w", tokens.ErrDenied), true},
		"down":    {errors.New("vault: connection refused"), false},
	} {
		_, err := Credential(context.Background(), storeFunc(func(context.Context, tokens.Key) (string, error) { return "", tc.err }), key, "token for installation")
		require.Error(t, err, name)
		require.Contains(t, err.Error(), `"42"`, name)
		var appErr *temporal.ApplicationError
		if tc.nonRetryable {
			require.True(t, errors.As(err, &appErr), name)
			require.Equal(t, TypeAuth, appErr.Type(), name)
			require.True(t, appErr.NonRetryable(), name)
		} else {
			require.False(t, errors.As(err, &appErr), name)
		}
	}
}
