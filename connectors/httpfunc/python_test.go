package httpfunc

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/connectors/apierror"
)

// TestPythonExample starts docs/examples/python-function/function.py with
// python3 and calls it through the connector: the documented example and
// the Go signer must agree.
func TestPythonExample(t *testing.T) {
	t.Parallel()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "docs", "examples", "python-function", "function.py"))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, python, script, "0")
	cmd.Env = append(os.Environ(), "HOOKFLOW_SECRET="+secret)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })

	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				ready <- addr
				return
			}
		}
		close(ready)
	}()
	var addr string
	select {
	case a, ok := <-ready:
		require.True(t, ok, "function.py exited before listening")
		addr = a
	case <-time.After(20 * time.Second):
		t.Fatal("function.py did not start")
	}
	url := "http://" + addr + "/"

	tests := []struct {
		name    string
		secret  string
		now     time.Time
		input   string
		status  int
		output  string
		message string
	}{
		{"greets", secret, time.Now(), `{"name":"Ada"}`, 200, `{"greeting":"Hello, Ada!","idempotency_key":"wf/run/5"}`, ""},
		{"wrong secret", "not-the-secret", time.Now(), `{"name":"Ada"}`, 401, "", "bad signature"},
		{"stale timestamp", secret, time.Now().Add(-time.Hour), `{"name":"Ada"}`, 401, "", "bad signature"},
		{"missing name", secret, time.Now(), `{}`, 422, "", "input.name is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := New(Options{Now: func() time.Time { return tt.now }})
			resp, err := c.Call(context.Background(), tt.secret, Request{Function: "greet", URL: url, Input: json.RawMessage(tt.input), IdempotencyKey: "wf/run/5"})
			if tt.status == 200 {
				require.NoError(t, err)
				require.JSONEq(t, tt.output, string(resp.Output))
				return
			}
			e, ok := apierror.As(err)
			require.True(t, ok, "%T %v", err, err)
			require.Equal(t, tt.status, e.Status)
			require.Equal(t, tt.message, e.Message)
		})
	}
}
