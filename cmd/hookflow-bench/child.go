package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a process under test.
type child struct {
	name string
	// line is the stdout line that said the child was ready.
	line string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// startChild runs bin with args, its stderr (the JSON logs) in logPath, and
// waits until a line of its stdout contains ready.
func startChild(ctx context.Context, name, logPath, ready string, bin string, args ...string) (*child, error) {
	return startChildEnv(ctx, name, logPath, ready, nil, bin, args...)
}

// startChildEnv is startChild with env added to this process's
// environment.
func startChildEnv(ctx context.Context, name, logPath, ready string, env []string, bin string, args ...string) (*child, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	seen := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), ready) {
				c.line = sc.Text()
				close(seen)
				signalled = true
			}
		}
		_, _ = io.Copy(io.Discard, out)
		c.err = cmd.Wait()
		logf.Close()
		close(c.done)
	}()
	select {
	case <-seen:
		return c, nil
	case <-c.done:
		return nil, fmt.Errorf("%s exited before it was ready (%v); see %s", name, c.err, logPath)
	case <-time.After(3 * time.Minute):
		c.stop()
		return nil, fmt.Errorf("%s not ready after 3 minutes; see %s", name, logPath)
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	}
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop sends SIGTERM and waits for the exit (SIGKILL after 30 s): a
// SQLite file must not be reopened before its process is gone.
func (c *child) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// url returns the first http:// URL on the child's ready line.
func (c *child) url() string {
	_, rest, _ := strings.Cut(c.line, "http://")
	return "http://" + strings.Fields(rest)[0]
}

// freePort returns a TCP port nobody listens on right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// freePortRange returns the first of n consecutive free ports (Temporal's
// dev server takes its gRPC port and the next four).
func freePortRange(n int) (int, error) {
	for range 50 {
		base := 20000 + rand.IntN(30000)
		ok := true
		for i := range n {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+i))
			if err != nil {
				ok = false
				break
			}
			ln.Close()
		}
		if ok {
			return base, nil
		}
	}
	return 0, errors.New("no range of free ports")
}

// memory is a process's resident set, in bytes.
type memory struct {
	rss  int64 // VmRSS
	hwm  int64 // VmHWM: the peak resident set over the process's life
	anon int64 // RssAnon: the heap, stacks and other private memory
	file int64 // RssFile: pages of the executable and other mapped files
}

// readMemory reads /proc/<pid>/status.
func readMemory(pid int) (memory, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return memory{}, err
	}
	var m memory
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			m.rss = n << 10
		case "VmHWM":
			m.hwm = n << 10
		case "RssAnon":
			m.anon = n << 10
		case "RssFile":
			m.file = n << 10
		}
	}
	return m, nil
}

// rssSampler records the largest VmRSS of a process while it runs.
type rssSampler struct {
	stop chan struct{}
	wg   sync.WaitGroup
	max  memory // the largest of each figure seen
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{stop: make(chan struct{})}
	s.wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if m, err := readMemory(pid); err == nil {
				s.max = memory{rss: max(s.max.rss, m.rss), hwm: max(s.max.hwm, m.hwm), anon: max(s.max.anon, m.anon), file: max(s.max.file, m.file)}
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	})
	return s
}

// done stops sampling and returns the largest figures seen.
func (s *rssSampler) done() memory {
	close(s.stop)
	s.wg.Wait()
	return s.max
}

// admin is the ingress's admin API.
type admin struct {
	base  string
	token string
}

func newAdmin(base, dataDir string) (*admin, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "admin-token"))
	if err != nil {
		return nil, err
	}
	return &admin{base: base, token: strings.TrimSpace(string(b))}, nil
}

func (a *admin) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 && !(path == "/readyz" && resp.StatusCode == http.StatusServiceUnavailable) {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// createIntegration creates a GitHub integration with secret and returns
// its webhook URL.
func (a *admin) createIntegration(ctx context.Context, name string, secret []byte) (string, error) {
	var v struct {
		URL string `json:"url"`
	}
	err := a.do(ctx, http.MethodPost, "/admin/v1/integrations",
		map[string]any{"name": name, "source": "github", "secret": string(secret)}, &v)
	return v.URL, err
}

// backlog is the journal's count of accepted, not yet forwarded entries.
func (a *admin) backlog(ctx context.Context) (int, error) {
	var v struct {
		Backlog int `json:"backlog"`
	}
	err := a.do(ctx, http.MethodGet, "/readyz", nil, &v)
	return v.Backlog, err
}

// countStatus counts journal entries with status (up to limit).
func (a *admin) countStatus(ctx context.Context, status string, limit int) (int, error) {
	var v []json.RawMessage
	err := a.do(ctx, http.MethodGet, "/admin/v1/deliveries?status="+status+"&limit="+strconv.Itoa(limit), nil, &v)
	return len(v), err
}

// randomSecret returns a webhook secret.
func randomSecret() []byte {
	return []byte(fmt.Sprintf("bench-%016x%016x", rand.Uint64(), rand.Uint64()))
}
