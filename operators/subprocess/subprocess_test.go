package subprocess

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// helperEnv, when set, makes the test binary a stand-in worker: it runs
// the bash command in the variable through Run and waits.
const helperEnv = "SUBPROCESS_TEST_WORKER_COMMAND"

func TestMain(m *testing.M) {
	if cmd := os.Getenv(helperEnv); cmd != "" {
		_, err := Run(context.Background(), Command{Name: "bash command", Path: "bash", Args: []string{"-c", cmd}, Env: os.Environ()})
		fmt.Fprintln(os.Stderr, "helper worker: the command ended:", err)
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// syncBuffer is a log safe for Run's concurrent writers.
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

func TestPolicyKeepsOnlyAllowedVariables(t *testing.T) {
	t.Parallel()
	environ := []string{
		"PATH=/usr/bin", "HOME=/home/x", "LC_ALL=C", "TZ=UTC",
		"STARFLOW_DATABASE_URL=postgres://u:secret@db/x", "STARFLOW_SECRET_KEY=k", "STARFLOW_REDIS_URL=redis://:pw@r",
		"DATABASE_URL=postgres://u:secret@db/x", "AWS_REGION=eu", "AWS_SECRET_ACCESS_KEY=s", "GOOGLE_X=1", "MYVAR=1",
	}
	tests := []struct {
		name   string
		policy Policy
		want   []string
	}{
		{"the zero policy passes the safe base only", Policy{},
			[]string{"PATH=/usr/bin", "HOME=/home/x", "LC_ALL=C", "TZ=UTC"}},
		{"names and prefixes add variables", ParsePolicy(" AWS_* , MYVAR,"),
			[]string{"PATH=/usr/bin", "HOME=/home/x", "LC_ALL=C", "TZ=UTC", "AWS_REGION=eu", "AWS_SECRET_ACCESS_KEY=s", "MYVAR=1"}},
		{"STARFLOW_ variables never pass, even when listed", ParsePolicy("STARFLOW_*,STARFLOW_SECRET_KEY,*"),
			[]string{"PATH=/usr/bin", "HOME=/home/x", "LC_ALL=C", "TZ=UTC", "DATABASE_URL=postgres://u:secret@db/x", "AWS_REGION=eu", "AWS_SECRET_ACCESS_KEY=s", "GOOGLE_X=1", "MYVAR=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.policy.Base(environ); !slices.Equal(got, tt.want) {
				t.Errorf("Base = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPolicyEnvFollowsBashOperator(t *testing.T) {
	t.Setenv("STARFLOW_SECRET_KEY", "topsecret")
	t.Setenv("TZ", "Europe/Paris")
	var p Policy
	has := func(env []string, kv string) bool { return slices.Contains(env, kv) }
	if env := p.Env(nil, false, "CTX=1"); !has(env, "TZ=Europe/Paris") || !has(env, "CTX=1") || slices.ContainsFunc(env, func(s string) bool { return strings.HasPrefix(s, "STARFLOW_SECRET_KEY=") }) {
		t.Errorf("no task env: %q, want the scrubbed base and the context", env)
	}
	if env := p.Env([]string{"A=1"}, false, "CTX=1"); !slices.Equal(env, []string{"A=1", "CTX=1"}) {
		t.Errorf("env replaces: %q, want [A=1 CTX=1]", env)
	}
	if env := p.Env([]string{"A=1"}, true); !has(env, "TZ=Europe/Paris") || !has(env, "A=1") {
		t.Errorf("append_env: %q, want the base and A=1", env)
	}
}

func TestRunReportsExitCodeLastLineAndOutput(t *testing.T) {
	t.Parallel()
	log := &syncBuffer{}
	res, err := Run(context.Background(), Command{Name: "bash command", Path: "bash",
		Args: []string{"-c", `echo one; echo two >&2; echo "last  "; echo; exit 3`}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || res.LastLine != "last" {
		t.Errorf("result = %+v, want exit 3 and last line %q", res, "last")
	}
	for _, w := range []string{"one\n", "two\n", "last"} {
		if !strings.Contains(log.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, log)
		}
	}
}

func TestRunGivesTheCommandOnlyItsEnvironment(t *testing.T) {
	t.Setenv("STARFLOW_SECRET_KEY", "topsecret-value")
	log := &syncBuffer{}
	_, err := Run(context.Background(), Command{Path: "bash", Args: []string{"-c", `echo "key=[$STARFLOW_SECRET_KEY] a=[$A]"`},
		Env: []string{"A=1"}, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "key=[] a=[1]") {
		t.Errorf("log = %q, want key=[] a=[1]", log)
	}
}

func TestRunReportsAMissingProgram(t *testing.T) {
	t.Parallel()
	_, err := Run(context.Background(), Command{Name: "python", Path: "/nonexistent/python3"})
	if err == nil || !strings.Contains(err.Error(), "start python") || !strings.Contains(err.Error(), "/nonexistent/python3") {
		t.Fatalf("err = %v, want a start error naming the program", err)
	}
}

func TestRunReportsASignal(t *testing.T) {
	t.Parallel()
	_, err := Run(context.Background(), Command{Name: "bash command", Path: "bash", Args: []string{"-c", `kill -KILL $$`}})
	if err == nil || !strings.Contains(err.Error(), "killed by signal killed") {
		t.Fatalf("err = %v, want killed by signal", err)
	}
}

func TestRunCancelEndsTheGroup(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pids")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	log := &syncBuffer{}
	go func() {
		_, err := Run(ctx, Command{Name: "bash command", Path: "bash", Log: log, Grace: 300 * time.Millisecond,
			Args: []string{"-c", fmt.Sprintf(`sleep 100 & echo $! >> %[1]q; bash -c 'trap "" TERM; echo $$ >> %[1]q; while :; do sleep 0.05; done' & sleep 100`, pidFile)}})
		done <- err
	}()
	pids := waitPIDs(t, pidFile, 2)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	for _, pid := range pids {
		if !waitGone(pid, 3*time.Second) {
			t.Errorf("process %d still runs after the cancel", pid)
		}
	}
	if !strings.Contains(log.String(), "SIGKILL") {
		t.Errorf("log does not mention SIGKILL for the process that ignores SIGTERM:\n%s", log)
	}
}

// TestWorkerKilledTakesItsProcessesWithIt kills -9 a process that runs a
// command through Run (a stand-in worker: this test binary) and checks that
// the command and the child it started die with it.
func TestWorkerKilledTakesItsProcessesWithIt(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pids")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	worker := exec.Command(exe, "-test.run=^$")
	worker.Env = append(os.Environ(), helperEnv+"="+fmt.Sprintf(`echo $$ >> %[1]q; sleep 300 & echo $! >> %[1]q; sleep 300`, pidFile))
	var out syncBuffer
	worker.Stdout, worker.Stderr = &out, &out
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	pids := waitPIDs(t, pidFile, 2)
	if err := worker.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = worker.Wait()
	killed := time.Now()
	for _, pid := range pids {
		if !waitGone(pid, 2*time.Second) {
			t.Errorf("process %d of the task still runs %s after its worker was killed", pid, time.Since(killed).Round(time.Millisecond))
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if t.Failed() {
		t.Logf("worker output:\n%s", out.String())
	}
}

// waitPIDs waits until file holds n pids, one a line, and returns them.
func waitPIDs(t *testing.T, file string, n int) []int {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(file)
		var pids []int
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		if len(pids) >= n {
			return pids
		}
		if time.Now().After(deadline) {
			t.Fatalf("the command recorded only %v", pids)
		}
	}
}

// gone reports whether pid is no longer running (absent, or a zombie).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}

// waitGone waits up to d for pid to end.
func waitGone(pid int, d time.Duration) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if gone(pid) {
			return true
		}
	}
	return gone(pid)
}
