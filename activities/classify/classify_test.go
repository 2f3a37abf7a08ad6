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
