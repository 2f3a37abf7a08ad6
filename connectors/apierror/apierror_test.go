package apierror

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRetryable(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]bool{0: true, 400: false, 401: false, 403: false, 404: false, 408: true, 409: false, 422: false, 429: true, 500: true, 502: true, 503: true} {
		require.Equal(t, want, (&Error{Status: status}).Retryable(), "status %d", status)
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		h    http.Header
		want time.Duration
	}{
		{"none", http.Header{}, 0},
		{"seconds", http.Header{"Retry-After": {"30"}}, 30 * time.Second},
		{"date", http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90 * time.Second},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0},
		{"github reset", http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {fmt.Sprint(now.Add(time.Minute).Unix())}}, time.Minute},
		{"reset but remaining", http.Header{"X-Ratelimit-Remaining": {"10"}, "X-Ratelimit-Reset": {fmt.Sprint(now.Add(time.Minute).Unix())}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, RetryAfter(tt.h, now))
		})
	}
}

func TestErrorMessageAndAs(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("wrapped: %w", &Error{System: "jira", Op: "get issue ABC-1", Status: 404, Message: "Issue does not exist"})
	e, ok := As(err)
	require.True(t, ok)
	require.Equal(t, "jira: get issue ABC-1: HTTP 404: Issue does not exist", e.Error())
	_, ok = As(errors.New("plain"))
	require.False(t, ok)
}
