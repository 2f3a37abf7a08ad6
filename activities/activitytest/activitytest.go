// Package activitytest builds Temporal test activity environments and holds
// the assertion every activity test makes about a classified error.
package activitytest

import (
	"errors"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

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

// Fill sets every exported field of the struct *ptr, recursively, to a
// value that is not its zero value: the input of a conversion test.
func Fill(t testing.TB, ptr any) {
	t.Helper()
	v := reflect.ValueOf(ptr)
	require.Equal(t, reflect.Pointer, v.Kind(), "Fill takes a pointer to a struct")
	fill(t, v.Elem())
}

func fill(t testing.TB, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x-" + v.Type().Name())
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(7)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 { // []byte, json.RawMessage
			v.SetBytes([]byte(`"x"`))
			return
		}
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(t, s.Index(0))
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(t, k)
		if e.Kind() == reflect.Interface {
			e.Set(reflect.ValueOf("x"))
		} else {
			fill(t, e)
		}
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(t, p.Elem())
		v.Set(p)
	case reflect.Interface:
		v.Set(reflect.ValueOf("x"))
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(time.Date(2024, 9, 30, 10, 0, 0, 0, time.UTC)))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i))
			}
		}
	default:
		t.Fatalf("Fill: cannot fill a %s", v.Type())
	}
}

// RequireNoZeroField requires every exported field of the struct v,
// recursively, to be set: a conversion from a Fill'ed value that leaves a
// field zero dropped it.
func RequireNoZeroField(t testing.TB, v any) {
	t.Helper()
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	require.Equal(t, reflect.Struct, rv.Kind())
	for i := range rv.NumField() {
		f := rv.Type().Field(i)
		if f.IsExported() {
			require.False(t, rv.Field(i).IsZero(), "%s.%s was not carried over", rv.Type(), f.Name)
		}
	}
}
