// Package activitytest builds Temporal test activity environments and holds
// the assertion every activity test makes about a classified error.
package activitytest

import (
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// Env returns a test activity environment whose SDK logger discards what
// it is given; register the activities on it as the worker does.
func Env() *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	return s.NewTestActivityEnvironment()
}

// RequireAppError requires err to wrap a *temporal.ApplicationError of
// type typ and the given retryability whose message contains none of
// secrets, and returns it.
func RequireAppError(t testing.TB, err error, typ string, nonRetryable bool, secrets ...string) *temporal.ApplicationError {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%T %v", err, err)
	require.Equal(t, typ, appErr.Type(), appErr.Error())
	require.Equal(t, nonRetryable, appErr.NonRetryable())
	for _, s := range secrets {
		require.NotContains(t, err.Error(), s)
	}
	return appErr
}
