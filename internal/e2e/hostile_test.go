package e2e

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// hostileCase is one request of the hostile-input run and the answers
// the documentation allows for it.
type hostileCase struct {
	name  string
	send  func(t *testing.T) int
	codes []int
}

// TestHostileInputAgainstDev sends some 200 hostile requests to a real
// `hookflow dev`: every one gets a documented answer, the process stays
// up with its peak memory under 1 GiB, no secret appears in an answer or
// a log line, and a signed delivery sent after them is accepted.
func TestHostileInputAgainstDev(t *testing.T) {
	bin := hookflowBinary(t)
	gh := newFakeGitHub(t)
	h := startDev(t, bin, t.TempDir(), gh.URL)
	var in struct{ ID, URL, Secret string }
	require.NoError(t, json.Unmarshal(h.cli(t, "integrations", "create", "--source", "github", "--name", "hostile", "--option", "rate_limit=20", "--output", "json"), &in))
	path := strings.TrimPrefix(in.URL, h.ingressURL)
	addr := strings.TrimPrefix(h.ingressURL, "http://")
	body := recordedBody(t, "pull_request.opened.http")
	var answers sync.Map // body text of every answer, for the secret check

	do := func(t *testing.T, req *http.Request) int {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return -1 // the server closed the connection: an answer too
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		answers.Store(req.Method+" "+req.URL.Path+strconv.Itoa(len(b)), string(b))
		return resp.StatusCode
	}
	signed := func(event, id string, b []byte, secret string, mutate func(*http.Request)) func(t *testing.T) int {
		return func(t *testing.T) int {
			req, err := http.NewRequest(http.MethodPost, h.ingressURL+path, bytes.NewReader(b))
			require.NoError(t, err)
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write(b)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-GitHub-Event", event)
			req.Header.Set("X-GitHub-Delivery", id)
			req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
			if mutate != nil {
				mutate(req)
			}
			return do(t, req)
		}
	}
	raw := func(payload string) func(t *testing.T) int {
		return func(t *testing.T) int {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			require.NoError(t, err)
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(15 * time.Second))
			_, _ = io.WriteString(c, payload)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				return -1
			}
			resp.Body.Close()
			return resp.StatusCode
		}
	}

	var cases []hostileCase
	add := func(name string, codes []int, send func(t *testing.T) int) {
		cases = append(cases, hostileCase{name: name, send: send, codes: codes})
	}
	// Forged and unauthenticated requests, far more than the integration's
	// rate limit allows: they must not spend it.
	for i := range 45 {
		add(fmt.Sprint("forged signature ", i), []int{401}, signed("pull_request", fmt.Sprint("forged-", i), body, "guessed-secret-guessed", nil))
	}
	for i := range 10 {
		add(fmt.Sprint("no signature ", i), []int{401}, signed("pull_request", fmt.Sprint("nosig-", i), body, in.Secret, func(r *http.Request) { r.Header.Del("X-Hub-Signature-256") }))
	}
	for i := range 10 {
		add(fmt.Sprint("signature for another body ", i), []int{401}, signed("pull_request", fmt.Sprint("other-", i), body, in.Secret, func(r *http.Request) {
			r.Body = io.NopCloser(bytes.NewReader(append(append([]byte{}, body...), ' ')))
			r.ContentLength++
		}))
	}
	// Unknown integrations, however the path looks.
	for i, p := range []string{"/hooks/x", "/hooks/" + strings.Repeat("A", 32), "/hooks/" + strings.Repeat("%ff", 100), "/hooks/" + strings.Repeat("z", 64<<10),
		"/hooks/../admin/v1/integrations", "/hooks/" + strings.Repeat("B", 31) + "%00", "/", "/hooks", "/admin/v1/integrations", "/metrics/../admin/v1/keys"} {
		for k := range 3 {
			add(fmt.Sprintf("unknown path %d/%d", i, k), []int{401, 404, 405, 431}, func(t *testing.T) int {
				req, err := http.NewRequest(http.MethodPost, h.ingressURL+"/", strings.NewReader(`{}`))
				require.NoError(t, err)
				req.URL.Opaque = p
				return do(t, req)
			})
		}
	}
	// Wrong methods, media types and sizes.
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		add("method "+m, []int{405}, func(t *testing.T) int {
			req, err := http.NewRequest(m, h.ingressURL+path, nil)
			require.NoError(t, err)
			return do(t, req)
		})
	}
	for i, ct := range []string{"text/html", "application/xml", "multipart/form-data; boundary=x", "application/json; =broken", "/", "image/png"} {
		add(fmt.Sprint("content type ", i), []int{415}, signed("pull_request", fmt.Sprint("ct-", i), body, in.Secret, func(r *http.Request) { r.Header.Set("Content-Type", ct) }))
	}
	for i := range 5 {
		add(fmt.Sprint("declared 26 MB ", i), []int{413}, raw(fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{}", path, 26<<20)))
	}
	add("chunked 26 MB", []int{413, -1}, func(t *testing.T) int {
		pr, pw := io.Pipe()
		go func() {
			chunk := bytes.Repeat([]byte("a"), 1<<20)
			for range 26 {
				if _, err := pw.Write(chunk); err != nil {
					return
				}
			}
			pw.Close()
		}()
		req, err := http.NewRequest(http.MethodPost, h.ingressURL+path, pr)
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		return do(t, req)
	})
	// Signed but unusable: malformed, wrong-typed, odd headers.
	for i, b := range []string{``, `{`, `[]`, `"x"`, `null`, `{"action":1,"number":"two","pull_request":[]}`, `{"repository":{"owner":5}}`, "{\"a\":\"\xff\xfe\"}", `{"a":"\u0000"}`, strings.Repeat("[", 10000)} {
		add(fmt.Sprint("signed malformed ", i), []int{200, 202, 400}, signed("pull_request", fmt.Sprint("mal-", i), []byte(b), in.Secret, nil))
	}
	for i, v := range []string{"\xff\xfe", strings.Repeat("d", 4096), "a\tb", "\u202e"} {
		add(fmt.Sprint("odd delivery header ", i), []int{200, 202, 400}, signed("pull_request", v, body, in.Secret, nil))
	}
	add("missing event header", []int{400}, signed("", "noevent", body, in.Secret, nil))
	add("huge header", []int{431, -1}, raw(fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\nContent-Length: 2\r\n\r\n{}", path, strings.Repeat("h", 2<<20))))
	for i := range 10 {
		add(fmt.Sprint("garbage request line ", i), []int{400, -1}, raw(fmt.Sprintf("\x16\x03\x01 garbage %d\r\n\r\n", i)))
	}
	// Replays of a delivery already accepted.
	add("first real delivery", []int{202}, signed("pull_request", "hostile-real-1", body, in.Secret, nil))
	for i := range 5 {
		add(fmt.Sprint("replay ", i), []int{200}, signed("pull_request", "hostile-real-1", body, in.Secret, nil))
	}
	// Slow senders holding declared large bodies (the body buffer is not
	// allocated from Content-Length).
	var slow []net.Conn
	for i := range 60 {
		add(fmt.Sprint("slow sender ", i), []int{0}, func(t *testing.T) int {
			c, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			slow = append(slow, c)
			_, err = fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20000000\r\n\r\n{\"a\":1", path)
			require.NoError(t, err)
			return 0
		})
	}

	counts := map[int]int{}
	for _, c := range cases {
		code := c.send(t)
		counts[code]++
		require.Contains(t, c.codes, code, "%s: answered %d", c.name, code)
	}
	t.Logf("%d hostile requests; answers by status: %v", len(cases), counts)
	require.GreaterOrEqual(t, len(cases), 200)

	// Still alive, memory bounded, and the real sender is never refused
	// because of the forged requests.
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", h.cmd.Process.Pid))
	require.NoError(t, err)
	var hwmKiB int
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			hwmKiB, _ = strconv.Atoi(strings.Fields(line)[1])
		}
	}
	t.Logf("peak RSS of hookflow dev (Temporal, worker, ingress) %d MiB", hwmKiB>>10)
	require.Less(t, hwmKiB, 1<<20, "peak memory under 1 GiB")
	for _, c := range slow {
		c.Close()
	}
	code, answer := post(t, in.URL, in.Secret, "pull_request", "hostile-real-2", body)
	require.Equal(t, http.StatusAccepted, code, answer)

	var rejected []json.RawMessage
	require.NoError(t, json.Unmarshal(h.cli(t, "deliveries", "list", "--status", "rejected", "--limit", "1000", "--output", "json"), &rejected))
	require.LessOrEqual(t, len(rejected), 4*20+4, "refusals are journaled at a bounded rate")

	h.stop(t)
	logs := h.logs()
	require.NotContains(t, logs, in.Secret)
	require.NotContains(t, logs, "MDExOlB1bGxSZXF1ZXN0", "no request body in logs")
	answers.Range(func(_, v any) bool {
		require.NotContains(t, v.(string), in.Secret)
		return true
	})
}
