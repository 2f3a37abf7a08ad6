// Package replaytest serves recorded API responses to connector (and
// activity) tests: each fixture is a raw HTTP/1.1 response (status line,
// headers, blank line, body) captured from the real system.
package replaytest

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// WriteResponse writes the response recorded in file to w. It runs on the
// server's goroutine, so a missing or unreadable fixture is reported with
// t.Errorf and leaves w unwritten.
func WriteResponse(t testing.TB, w http.ResponseWriter, file string) {
	f, err := os.Open(file)
	if err != nil {
		t.Errorf("fixture: %v", err)
		return
	}
	defer f.Close()
	resp, err := http.ReadResponse(bufio.NewReader(f), nil)
	if err != nil {
		t.Errorf("fixture %s: %v", file, err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

// Routes starts a server, closed when the test ends, that answers
// "METHOD /path" with the response recorded in dir/routes["METHOD /path"],
// any other request with routes["*"], and 418 when neither is set. It
// returns the server's URL.
func Routes(t testing.TB, dir string, routes map[string]string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := routes[r.Method+" "+r.URL.Path]
		if !ok {
			name, ok = routes["*"]
		}
		if !ok {
			http.Error(w, "no route", http.StatusTeapot)
			return
		}
		WriteResponse(t, w, filepath.Join(dir, name))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
