package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// imageUser is the numeric user deploy/Dockerfile runs as.
const imageUser = "65532:65532"

// TestImage runs the production image `make image` built ($HOOKFLOW_IMAGE,
// with $HOOKFLOW_CONTAINER_ENGINE, podman or docker): its configuration,
// no shell in it, /healthz and /metrics as its own numeric user with a
// read-only root filesystem, the same as an arbitrary UID in group 0 (what
// OpenShift's restricted SCC assigns), and a clean exit on SIGTERM.
func TestImage(t *testing.T) {
	image := os.Getenv("HOOKFLOW_IMAGE")
	if image == "" {
		const msg = "HOOKFLOW_IMAGE is unset: run make image-test (or make image, then set HOOKFLOW_IMAGE=hookflow:dev)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set, so this is a failure)")
		}
		t.Skip(msg)
	}
	engine := os.Getenv("HOOKFLOW_CONTAINER_ENGINE")
	if engine == "" {
		engine = "podman"
	}
	run := func(args ...string) (string, error) {
		out, err := exec.Command(engine, args...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}

	// The image's configuration.
	out, err := run("image", "inspect", image)
	require.NoError(t, err, out)
	var inspect []struct {
		Config struct {
			User         string
			Entrypoint   []string
			Cmd          []string
			Env          []string
			ExposedPorts map[string]struct{}
			WorkingDir   string
		}
		Size int64
	}
	require.NoError(t, json.Unmarshal([]byte(out), &inspect))
	require.Len(t, inspect, 1)
	cfg := inspect[0].Config
	require.Equal(t, imageUser, cfg.User, "a numeric, non-root user (runAsNonRoot can check it)")
	require.Equal(t, []string{"/usr/local/bin/hookflow"}, cfg.Entrypoint)
	require.Contains(t, cfg.Env, "HOOKFLOW_DATA_DIR=/var/lib/hookflow")
	require.Contains(t, cfg.ExposedPorts, "8080/tcp")
	require.Contains(t, cfg.ExposedPorts, "9090/tcp")
	t.Logf("image %s: %.1f MB, user %s, entrypoint %v, cmd %v", image, float64(inspect[0].Size)/1e6, cfg.User, cfg.Entrypoint, cfg.Cmd)

	// The runtime flags this machine needs, found by trying.
	flags := runFlags(t, engine, image)

	_, err = run(append(append([]string{"run", "--rm"}, flags...), "--entrypoint", "/bin/sh", image, "-c", "true")...)
	require.Error(t, err, "the image has no shell")

	tests := []struct {
		name    string
		user    []string // --user, empty: the image's
		wantUID string
	}{
		{name: "image user", wantUID: "65532"},
		{name: "arbitrary UID in group 0 (OpenShift restricted SCC)", user: []string{"--user", "1000650000:0"}, wantUID: "1000650000"},
	}
	for i, tt := range tests {
		t.Run(strings.Fields(tt.name)[0], func(t *testing.T) {
			data := t.TempDir()
			require.NoError(t, os.Chmod(data, 0o777)) // the volume: an emptyDir with fsGroup in Kubernetes
			port, admin := freePort(t), freePort(t)
			name := fmt.Sprintf("hookflow-image-test-%d-%d", os.Getpid(), i)
			args := append([]string{"run", "-d", "--name", name, "--read-only",
				"-v", data + ":/var/lib/hookflow", "-p", fmt.Sprintf("127.0.0.1:%d:8080", port), "-p", fmt.Sprintf("127.0.0.1:%d:9090", admin)}, flags...)
			args = append(append(args, tt.user...), image)
			out, err := run(args...)
			require.NoError(t, err, out)
			t.Cleanup(func() { _, _ = run("rm", "-f", name) })

			base := fmt.Sprintf("http://127.0.0.1:%d", port)
			var status int
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) {
				if resp, err := http.Get(base + "/healthz"); err == nil {
					status = resp.StatusCode
					resp.Body.Close()
					if status == http.StatusOK {
						break
					}
				}
				time.Sleep(200 * time.Millisecond)
			}
			logs, _ := run("logs", name)
			require.Equal(t, http.StatusOK, status, "/healthz; logs:\n%s", logs)
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", admin))
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, "/metrics on the admin listener")
			resp, err = http.Get(base + "/metrics")
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusNotFound, resp.StatusCode, "no /metrics where senders reach")

			out, err = run("inspect", "--format", "{{.State.Pid}} {{.HostConfig.ReadonlyRootfs}}", name)
			require.NoError(t, err, out)
			f := strings.Fields(out)
			require.Len(t, f, 2, out)
			require.Equal(t, "true", f[1], "read-only root filesystem")
			pid, err := strconv.Atoi(f[0])
			require.NoError(t, err)
			proc, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
			require.NoError(t, err)
			var uid string
			for _, l := range strings.Split(string(proc), "\n") {
				if strings.HasPrefix(l, "Uid:") {
					uid = strings.Fields(l)[1]
				}
			}
			require.Equal(t, tt.wantUID, uid, "the process's real UID")
			_, err = os.Stat(filepath.Join(data, "secret.key"))
			require.NoError(t, err, "the data directory is the one writable path")

			start := time.Now()
			out, err = run("stop", "--time", "20", name)
			require.NoError(t, err, out)
			out, err = run("inspect", "--format", "{{.State.ExitCode}}", name)
			require.NoError(t, err, out)
			require.Equal(t, "0", out, "a clean exit on SIGTERM")
			t.Logf("%s: /healthz 200 as UID %s on a read-only root filesystem; SIGTERM exit 0 in %s", tt.name, uid, time.Since(start).Round(10*time.Millisecond))
		})
	}
}

// runFlags returns the extra `run` flags this machine needs. A container
// engine inside an unprivileged container can fail in two ways, both
// recorded in the log with the engine's own words: crun cannot set the
// default rlimits without CAP_SYS_RESOURCE, and refuses hybrid cgroups;
// runc with rlimits at or below the current ones works.
func runFlags(t *testing.T, engine, image string) []string {
	t.Helper()
	try := func(flags ...string) (string, error) {
		out, err := exec.Command(engine, append(append([]string{"run", "--rm"}, flags...), image, "--help")...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	out, err := try()
	if err == nil {
		return nil
	}
	t.Logf("plain `%s run` fails on this machine: %s", engine, lastLine(out))
	var flags []string
	if engine == "podman" {
		if _, err := exec.LookPath("runc"); err == nil {
			flags = append(flags, "--runtime", "runc")
		}
	}
	flags = append(flags, "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")
	out, err = try(flags...)
	require.NoError(t, err, "`%s run %s` fails too: %s", engine, strings.Join(flags, " "), out)
	t.Logf("running with %s", strings.Join(flags, " "))
	return flags
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
