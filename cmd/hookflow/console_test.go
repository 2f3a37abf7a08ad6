package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWithConsole: /console and everything under it goes to the console,
// nothing else does (not even a path that only starts with the word).
func TestWithConsole(t *testing.T) {
	t.Parallel()
	tag := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("X-Served-By", name) })
	}
	h := withConsole(tag("ingress"), tag("console"))
	for path, want := range map[string]string{
		"/console": "console", "/console/": "console", "/console/deliveries/3": "console", "/console/static/style.css": "console",
		"/consoles": "ingress", "/hooks/abc": "ingress", "/admin/v1/audit": "ingress", "/": "ingress",
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		require.Equal(t, want, rec.Header().Get("X-Served-By"), path)
	}
}
