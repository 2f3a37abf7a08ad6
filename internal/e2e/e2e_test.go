// Package e2e runs the hookflow binary as a user would: `hookflow dev` with
// its real Temporal server, real HTTP and real workers; GitHub's API is an
// httptest.Server replaying recorded responses.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hookflow/hookflow/blueprints/prcomment"
	"github.com/hookflow/hookflow/workflows"
)

const githubToken = "ghp_e2eTOKENthatMustNeverLeak0123456789"

func TestPullRequestEndToEnd(t *testing.T) {
	bin := hookflowBinary(t)
	gh := newFakeGitHub(t)
	dataDir := t.TempDir()
	h := startDev(t, bin, dataDir, gh.URL)

	// An integration, created through the CLI and the admin API.
	var in struct{ ID, Name, Source, URL, Secret string }
	require.NoError(t, json.Unmarshal(h.cli(t, "integrations", "create", "--source", "github", "--name", "e2e", "--output", "json"), &in))
	require.Equal(t, "github", in.Source)
	require.True(t, strings.HasPrefix(in.URL, h.ingressURL+"/hooks/"), in.URL)
	require.GreaterOrEqual(t, len(strings.TrimPrefix(in.URL, h.ingressURL+"/hooks/")), 22, "at least 128 bits of path")
	require.NotEmpty(t, in.Secret)
	list := string(h.cli(t, "integrations", "list", "--output", "json"))
	require.Contains(t, list, in.ID)
	require.NotContains(t, list, in.Secret, "list never shows secrets")

	opened := recordedBody(t, "pull_request.opened.http")
	closed := recordedBody(t, "pull_request.closed.http")
	wfID := "prcomment/github.com/Codertocat/Hello-World/pr/2"
	closed = bytes.ReplaceAll(closed, []byte("Octocoders"), []byte("Codertocat")) // the same PR as opened

	// The first comment POST "loses" its answer: the activity retries, and
	// must find the comment it already posted instead of posting again.
	gh.failNextPostAfterStoring()

	code, body := post(t, in.URL, in.Secret, "pull_request", "e2e-opened", opened)
	require.Equal(t, http.StatusAccepted, code, body)
	require.JSONEq(t, `{"delivery_id":"e2e-opened","status":"accepted"}`, body)

	code, body = post(t, in.URL, in.Secret, "pull_request", "e2e-opened", opened)
	require.Equal(t, http.StatusOK, code, body)
	require.JSONEq(t, `{"delivery_id":"e2e-opened","status":"duplicate"}`, body)

	code, body = post(t, in.URL, "not-the-secret", "pull_request", "e2e-forged", opened)
	require.Equal(t, http.StatusUnauthorized, code, body)
	require.Contains(t, body, `"code":"unauthorized"`)

	// The forwarder signalling the same delivery again (as after a crash
	// between signalling and marking the journal) must be dropped by the
	// workflow.
	tc, err := client.Dial(client.Options{HostPort: h.temporal})
	require.NoError(t, err)
	defer tc.Close()
	require.Eventually(t, func() bool { return gh.posts() == 1 }, 60*time.Second, 200*time.Millisecond, "the comment is posted")
	replay := workflows.Event{DeliveryID: "e2e-opened", Source: "github", Type: "pull_request", Action: "opened", Integration: in.ID,
		Keys: map[string]string{workflows.KeyHost: "github.com", workflows.KeyRepoPath: "Codertocat/Hello-World", workflows.KeyOwner: "Codertocat",
			workflows.KeyRepoName: "Hello-World", workflows.KeyPullRequest: "2"}}
	require.NoError(t, tc.SignalWorkflow(context.Background(), wfID, "", workflows.SignalEvents, workflows.Batch{Events: []workflows.Event{replay}}))

	code, body = post(t, in.URL, in.Secret, "pull_request", "e2e-closed", closed)
	require.Equal(t, http.StatusAccepted, code, body)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out prcomment.Output
	require.NoError(t, tc.GetWorkflow(ctx, wfID, "").Get(ctx, &out))
	require.Equal(t, prcomment.Output{Applied: 2, Dropped: 1, Comments: 1}, out)

	require.Equal(t, 1, gh.stored(), "one comment, although the activity was retried")
	require.Equal(t, 1, gh.posts(), "the retry found the comment by its marker and did not post again")
	require.Equal(t, 2, gh.lists(), "the activity ran twice")
	require.Equal(t, "Bearer "+githubToken, gh.auth())

	// The history: three signals, two applied, one dropped; no token in it.
	iter := tc.GetWorkflowHistory(ctx, wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	signals, completed := 0, false
	var hist bytes.Buffer
	var recorded historypb.History
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		recorded.Events = append(recorded.Events, ev)
		b, _ := json.Marshal(ev)
		hist.Write(b)
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			signals++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
			completed = true
		}
	}
	require.Equal(t, 3, signals)
	require.True(t, completed)
	// HOOKFLOW_RECORD_HISTORY=path writes this history for the blueprint's
	// replay tests (blueprints/prcomment/testdata/histories).
	if path := os.Getenv("HOOKFLOW_RECORD_HISTORY"); path != "" {
		b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&recorded)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, b, 0o644))
	}
	require.NotContains(t, hist.String(), githubToken)
	require.NotContains(t, hist.String(), in.Secret)

	// Operators find the pull request by its entity search attribute, which
	// hookflow dev registered at start, and audit it by entity.
	entityQuery := `HookflowEntity = "Codertocat/Hello-World#2" AND HookflowBlueprint = "prcomment"`
	require.Eventually(t, func() bool {
		resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", Query: entityQuery})
		return err == nil && len(resp.GetExecutions()) == 1 && resp.GetExecutions()[0].GetExecution().GetWorkflowId() == wfID
	}, 30*time.Second, 200*time.Millisecond, "the workflow is found by %s", entityQuery)
	audited := string(h.cli(t, "audit", "--entity", "Codertocat/Hello-World#2", "--temporal-address", h.temporal, "--output", "json"))
	require.Contains(t, audited, `"workflow_id": "`+wfID+`"`)
	require.Contains(t, audited, `"delivery_id": "e2e-closed"`)

	// The compliance record, as `hookflow audit` exports it.
	var steps []struct {
		Step       string `json:"step"`
		Activity   string `json:"activity"`
		Attempt    int    `json:"attempt"`
		Detail     string `json:"detail"`
		Deliveries []struct {
			DeliveryID string `json:"delivery_id"`
			Action     string `json:"action"`
		} `json:"deliveries"`
	}
	require.NoError(t, json.Unmarshal(h.cli(t, "audit", wfID, "--temporal-address", h.temporal, "--output", "json"), &steps))
	var record []string
	for _, s := range steps {
		line := s.Step
		for _, d := range s.Deliveries {
			line += " " + d.DeliveryID + ":" + d.Action
		}
		if s.Activity != "" {
			line += fmt.Sprintf(" %s#%d", s.Activity, s.Attempt)
		}
		record = append(record, line)
	}
	// Signals may arrive while the activity retries, so only the order of
	// deliveries among themselves is fixed.
	var deliveriesSeen, activities []string
	for _, line := range record {
		switch {
		case strings.HasPrefix(line, "delivery "):
			deliveriesSeen = append(deliveriesSeen, strings.TrimPrefix(line, "delivery "))
		case strings.HasPrefix(line, "activity."):
			activities = append(activities, line)
		}
	}
	require.Equal(t, "workflow.started", record[0])
	require.Equal(t, "workflow.completed", record[len(record)-1])
	require.Equal(t, []string{"e2e-opened:opened", "e2e-opened:opened", "e2e-closed:closed"}, deliveriesSeen, "the replay is recorded, and dropped by the workflow")
	require.Equal(t, []string{"activity.scheduled github.CreateComment#0", "activity.completed github.CreateComment#2"}, activities,
		"one comment activity, completed on its second attempt (the first lost its answer)")
	auditOut := string(h.cli(t, "audit", wfID, "--temporal-address", h.temporal, "--output", "json"))
	require.NotContains(t, auditOut, githubToken)
	require.NotContains(t, auditOut, "MDExOlB1bGxSZXF1ZXN0", "no payloads in the audit record")

	// The journal, as `hookflow deliveries list` shows it.
	var deliveries []struct {
		DeliveryID  string   `json:"delivery_id"`
		Source      string   `json:"source"`
		Event       string   `json:"event"`
		Action      string   `json:"action"`
		Status      string   `json:"status"`
		WorkflowIDs []string `json:"workflow_ids"`
		ReceivedAt  string   `json:"received_at"`
	}
	require.Eventually(t, func() bool {
		require.NoError(t, json.Unmarshal(h.cli(t, "deliveries", "list", "--output", "json"), &deliveries))
		return len(deliveries) == 4 && deliveries[0].Status == "forwarded"
	}, 30*time.Second, 200*time.Millisecond)
	statuses := map[string]string{}
	for _, d := range deliveries {
		statuses[d.DeliveryID+"/"+d.Status] = d.Action
		require.NotEmpty(t, d.ReceivedAt)
	}
	require.Equal(t, map[string]string{"e2e-closed/forwarded": "closed", "e2e-forged/rejected": "", "e2e-opened/duplicate": "opened", "e2e-opened/forwarded": "opened"}, statuses)
	require.Equal(t, []string{wfID}, deliveries[0].WorkflowIDs)

	rejected := string(h.cli(t, "deliveries", "list", "--status", "rejected", "--output", "json"))
	require.Contains(t, rejected, "signature does not match")

	// The Temporal UI serves the workflow.
	resp, err := http.Get(h.uiURL + "/api/v1/namespaces/default/workflows")
	require.NoError(t, err)
	ui, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, string(ui), wfID)

	// A revoked token: the activity fails once, non-retryably, with a
	// message that names the installation but not the token.
	gh.revoke()
	pr3 := bytes.ReplaceAll(opened, []byte(`"number":2`), []byte(`"number":3`))
	code, body = post(t, in.URL, in.Secret, "pull_request", "e2e-pr3", pr3)
	require.Equal(t, http.StatusAccepted, code, body)
	var failure *historypb.ActivityTaskFailedEventAttributes
	scheduled := 0
	require.Eventually(t, func() bool {
		scheduled = 0
		iter := tc.GetWorkflowHistory(ctx, "prcomment/github.com/Codertocat/Hello-World/pr/3", "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			if err != nil {
				return false
			}
			if ev.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED {
				scheduled++
			}
			if a := ev.GetActivityTaskFailedEventAttributes(); a != nil {
				failure = a
			}
		}
		return failure != nil
	}, 60*time.Second, 250*time.Millisecond)
	require.Equal(t, 1, scheduled)
	msg := failure.GetFailure().GetMessage()
	require.Contains(t, msg, `installation "2311213"`)
	require.Contains(t, msg, "401")
	require.NotContains(t, msg, githubToken)
	require.True(t, failure.GetFailure().GetApplicationFailureInfo().GetNonRetryable())
	require.Equal(t, "hookflow.AuthError", failure.GetFailure().GetApplicationFailureInfo().GetType())
	require.Equal(t, 1, gh.unauthorized(), "one attempt, no retries")

	// SIGTERM stops everything cleanly; a restart keeps everything.
	h.stop(t)
	logs := h.logs()
	require.NotContains(t, logs, githubToken)
	require.NotContains(t, logs, in.Secret)
	require.NotContains(t, logs, "MDExOlB1bGxSZXF1ZXN0", "no request body in logs")

	oldIngress := h.ingressURL
	h = startDev(t, bin, dataDir, gh.URL)
	require.Contains(t, string(h.cli(t, "integrations", "list", "--output", "json")), in.ID)
	code, body = post(t, strings.Replace(in.URL, oldIngress, h.ingressURL, 1), in.Secret, "pull_request", "e2e-opened", opened)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, "duplicate", "the journal survived the restart")
	tc2, err := client.Dial(client.Options{HostPort: h.temporal})
	require.NoError(t, err)
	defer tc2.Close()
	desc, err := tc2.DescribeWorkflowExecution(ctx, wfID, "")
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.GetWorkflowExecutionInfo().GetStatus(), "Temporal's data survived the restart")
	h.stop(t)
}

// hookflowBinary returns the binary under test: $HOOKFLOW_BIN (what `make
// test` builds) or a fresh build.
func hookflowBinary(t *testing.T) string {
	if b := os.Getenv("HOOKFLOW_BIN"); b != "" {
		return b
	}
	out := filepath.Join(t.TempDir(), "hookflow")
	cmd := exec.Command("go", "build", "-o", out, "github.com/hookflow/hookflow/cmd/hookflow")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(t, cmd.Run(), "build hookflow")
	return out
}

type devProcess struct {
	cmd        *exec.Cmd
	bin        string
	dataDir    string
	ingressURL string
	uiURL      string
	temporal   string
	stderr     *syncBuffer
	exited     chan error
}

func startDev(t *testing.T, bin, dataDir, githubURL string, extra ...string) *devProcess {
	t.Helper()
	httpPort, uiPort := freePort(t), freePort(t)
	temporalPort := freePortRange(t, 5)
	cmd := exec.Command(bin, append([]string{"dev", "--data-dir", dataDir,
		"--http", fmt.Sprintf("127.0.0.1:%d", httpPort),
		"--temporal-port", fmt.Sprint(temporalPort), "--ui-port", fmt.Sprint(uiPort),
		"--github-api-url", githubURL}, extra...)...)
	cmd.Env = append(os.Environ(), "HOOKFLOW_GITHUB_TOKEN="+githubToken)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	p := &devProcess{cmd: cmd, bin: bin, dataDir: dataDir, stderr: &syncBuffer{}, exited: make(chan error, 1),
		ingressURL: fmt.Sprintf("http://127.0.0.1:%d", httpPort), uiURL: fmt.Sprintf("http://127.0.0.1:%d", uiPort),
		temporal: fmt.Sprintf("127.0.0.1:%d", temporalPort)}
	cmd.Stderr = p.stderr
	require.NoError(t, cmd.Start())
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	running := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "press Ctrl-C to stop") {
				close(running)
			}
		}
	}()
	select {
	case <-running:
	case err := <-p.exited:
		t.Fatalf("hookflow dev exited before it was ready: %v\n%s", err, p.stderr.String())
	case <-time.After(3 * time.Minute):
		t.Fatalf("hookflow dev not ready after 3 minutes\n%s", p.stderr.String())
	}
	return p
}

func (p *devProcess) cli(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(p.bin, append([]string{"--data-dir", p.dataDir, "--server", p.ingressURL}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "hookflow %s: %s", strings.Join(args, " "), stderr.String())
	return out
}

func (p *devProcess) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.exited:
		require.NoError(t, err, "clean exit on SIGTERM\n%s", p.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatal("hookflow dev did not stop within 60 s of SIGTERM")
	}
}

func (p *devProcess) logs() string { return p.stderr.String() }

func post(t *testing.T, url, secret, event, delivery string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// recordedBody returns the body of a recorded GitHub delivery.
func recordedBody(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "ingress", "github", "testdata", name))
	require.NoError(t, err)
	raw = bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
	_, body, ok := bytes.Cut(raw, []byte("\n\n"))
	require.True(t, ok)
	return body
}

// freePort returns a port nothing listens on, drawn below Linux's
// ephemeral range (32768-60999 by default). A port the kernel hands out
// for ":0" lies inside that range, where any outgoing connection (the
// embedded Temporal servers of the tests running beside this one dial
// each other all the time) may take it before hookflow binds it: "bind:
// address already in use".
func freePort(t *testing.T) int {
	t.Helper()
	const low, high = 20000, 32000 // high+n stays below 32768 for freePortRange
	for range 1000 {
		p := low + rand.IntN(high-low)
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no free port below the ephemeral range")
	return 0
}

// freePortRange finds n consecutive free ports.
func freePortRange(t *testing.T, n int) int {
	t.Helper()
	for range 100 {
		base := freePort(t)
		if base+n > 32768 {
			continue
		}
		ok := true
		for i := 1; i < n && ok; i++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				ok = false
				continue
			}
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
