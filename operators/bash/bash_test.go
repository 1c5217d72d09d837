package bash

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/templates"
)

func TestMain(m *testing.M) {
	// A variable the command inherits unless env replaces the environment
	// (LC_* variables pass the scrubbing), and secrets it never inherits.
	os.Setenv("LC_STARFLOW_TEST_INHERITED", "inherited")
	os.Setenv("STARFLOW_DATABASE_URL", "postgres://starflow:db-password@db:5432/starflow")
	os.Setenv("STARFLOW_SECRET_KEY", "c2VjcmV0LWtleS1vZi10aGUtd29ya2Vy")
	os.Setenv("STARFLOW_REDIS_URL", "redis://:redis-password@redis:6379/0")
	goleak.VerifyTestMain(m)
}

// logBuffer is a task log that tests can watch while a command runs.
type logBuffer struct {
	mu      sync.Mutex
	b       strings.Builder
	changed chan struct{}
}

func newLog() *logBuffer { return &logBuffer{changed: make(chan struct{}, 1)} }

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.b.Write(p)
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor waits until the log contains s.
func (l *logBuffer) waitFor(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for !strings.Contains(l.String(), s) {
		select {
		case <-l.changed:
		case <-deadline:
			t.Fatalf("log never showed %q; log:\n%s", s, l.String())
		}
	}
}

// setup returns a call of a bash task with the given config, logging to
// a logBuffer, with a real template renderer.
func setup(t testing.TB, config map[string]any) (*operators.Call, *logBuffer) {
	t.Helper()
	d := dags.New("etl", dags.Pos{})
	task := dags.NewTask("extract", Kind, dags.Pos{})
	task.Config = config
	d.AddTask(task)
	if f := d.Finalize(); len(f) > 0 {
		t.Fatalf("finalize: %v", f)
	}
	log := newLog()
	c := &operators.Call{
		DAG: d, Task: task, TryNumber: 1, MapIndex: -1,
		Run: operators.RunInfo{
			DAGID: "etl", RunID: "manual__2024-01-15T00:00:00+00:00", RunType: dags.RunTypeManual,
			LogicalDate:       time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC),
			DataIntervalStart: time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC),
			DataIntervalEnd:   time.Date(2024, 1, 16, 0, 0, 0, 0, time.UTC),
		},
		Params: map[string]any{"who": "world"},
		Log:    log,
	}
	c.Renderer = templates.NewRenderer(c)
	return c, log
}

func TestExecute(t *testing.T) {
	t.Parallel()
	cwd := t.TempDir()
	realCwd, err := filepath.EvalSymlinks(cwd)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		config    map[string]any
		wantState dags.TaskState
		wantValue any
		wantErr   string
		wantLog   []string
	}{
		{
			name:      "the last non-empty stdout line is the return value",
			config:    map[string]any{"bash_command": `echo one; echo; echo "two  "; echo; echo err >&2`},
			wantState: dags.TaskStateSuccess, wantValue: "two",
			wantLog: []string{"one\n", "two", "err\n", "Command exited with return code 0"},
		},
		{
			name:      "no output, no return value",
			config:    map[string]any{"bash_command": "true"},
			wantState: dags.TaskStateSuccess, wantValue: nil,
		},
		{
			name:      "stderr is logged but is not the return value",
			config:    map[string]any{"bash_command": "echo out; echo late >&2"},
			wantState: dags.TaskStateSuccess, wantValue: "out",
			wantLog: []string{"late\n"},
		},
		{
			name:      "exit 99 skips by default",
			config:    map[string]any{"bash_command": "echo partial; exit 99"},
			wantState: dags.TaskStateSkipped,
		},
		{
			name:      "a custom skip_on_exit_code list",
			config:    map[string]any{"bash_command": "exit 3", "skip_on_exit_code": []any{int64(3), int64(4)}},
			wantState: dags.TaskStateSkipped,
		},
		{
			name:      "a single skip_on_exit_code",
			config:    map[string]any{"bash_command": "exit 5", "skip_on_exit_code": int64(5)},
			wantState: dags.TaskStateSkipped,
		},
		{
			name:      "skip_on_exit_code 0 skips a command that succeeded, as in Airflow",
			config:    map[string]any{"bash_command": "echo done", "skip_on_exit_code": int64(0)},
			wantState: dags.TaskStateSkipped,
		},
		{
			name:      "a list with 0 skips success and fails other codes",
			config:    map[string]any{"bash_command": "true", "skip_on_exit_code": []any{int64(0), int64(2)}},
			wantState: dags.TaskStateSkipped,
		},
		{
			name:    "99 fails when skip_on_exit_code is replaced",
			config:  map[string]any{"bash_command": "exit 99", "skip_on_exit_code": []any{int64(3)}},
			wantErr: "bash command exited with code 99",
		},
		{
			name:    "skip_on_exit_code None never skips",
			config:  map[string]any{"bash_command": "exit 99", "skip_on_exit_code": nil},
			wantErr: "bash command exited with code 99",
		},
		{
			name:    "a non-zero exit fails",
			config:  map[string]any{"bash_command": "echo boom; exit 1"},
			wantErr: "bash command exited with code 1",
			wantLog: []string{"boom\n", "Command exited with return code 1"},
		},
		{
			name:      "the environment is inherited without env",
			config:    map[string]any{"bash_command": `echo "${LC_STARFLOW_TEST_INHERITED:-none}"`},
			wantState: dags.TaskStateSuccess, wantValue: "inherited",
		},
		{
			name:      "the database URL, secret key and Redis URL are not inherited",
			config:    map[string]any{"bash_command": `echo "[$STARFLOW_DATABASE_URL][$STARFLOW_SECRET_KEY][$STARFLOW_REDIS_URL]"`},
			wantState: dags.TaskStateSuccess, wantValue: "[][][]",
		},
		{
			name: "append_env does not bring the secrets back",
			config: map[string]any{"bash_command": `echo "[$STARFLOW_DATABASE_URL][$STARFLOW_SECRET_KEY]$FOO"`,
				"env": map[string]any{"FOO": "bar"}, "append_env": true},
			wantState: dags.TaskStateSuccess, wantValue: "[][]bar",
		},
		{
			name:      "env replaces the inherited environment",
			config:    map[string]any{"bash_command": `echo "$FOO-${LC_STARFLOW_TEST_INHERITED:-none}"`, "env": map[string]any{"FOO": "bar"}},
			wantState: dags.TaskStateSuccess, wantValue: "bar-none",
		},
		{
			name: "append_env adds env to the inherited environment",
			config: map[string]any{"bash_command": `echo "$FOO-${LC_STARFLOW_TEST_INHERITED:-none}"`,
				"env": map[string]any{"FOO": "bar"}, "append_env": true},
			wantState: dags.TaskStateSuccess, wantValue: "bar-inherited",
		},
		{
			name: "context variables are set even when env replaces the environment",
			config: map[string]any{"env": map[string]any{},
				"bash_command": `echo "$STARFLOW_CTX_DAG_ID|$STARFLOW_CTX_TASK_ID|$STARFLOW_CTX_RUN_ID|$STARFLOW_CTX_TRY_NUMBER|$STARFLOW_CTX_LOGICAL_DATE|$AIRFLOW_CTX_DAG_ID|$AIRFLOW_CTX_TASK_ID|$AIRFLOW_CTX_DAG_RUN_ID|$AIRFLOW_CTX_TRY_NUMBER|$AIRFLOW_CTX_LOGICAL_DATE"`},
			wantState: dags.TaskStateSuccess,
			wantValue: "etl|extract|manual__2024-01-15T00:00:00+00:00|1|2024-01-15T00:00:00+00:00|etl|extract|manual__2024-01-15T00:00:00+00:00|1|2024-01-15T00:00:00+00:00",
		},
		{
			name:      "templates are rendered in bash_command and env",
			config:    map[string]any{"bash_command": `echo "{{ ds }} hello {{ params.who }} $D"`, "env": map[string]any{"D": "{{ ds_nodash }}"}},
			wantState: dags.TaskStateSuccess, wantValue: "2024-01-15 hello world 20240115",
		},
		{
			name:      "cwd sets the working directory",
			config:    map[string]any{"bash_command": "pwd -P", "cwd": cwd},
			wantState: dags.TaskStateSuccess, wantValue: realCwd,
		},
		{
			name:    "a missing cwd fails",
			config:  map[string]any{"bash_command": "pwd", "cwd": filepath.Join(cwd, "nope")},
			wantErr: "no such file or directory",
		},
		{
			name:    "a template error fails",
			config:  map[string]any{"bash_command": "echo {{ ds( }}"},
			wantErr: "template syntax error",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, log := setup(t, tt.config)
			res, err := New().Execute(context.Background(), c)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
			} else {
				if err != nil {
					t.Fatalf("Execute: %v\nlog:\n%s", err, log)
				}
				if res.State != tt.wantState {
					t.Errorf("state = %q, want %q (%s)", res.State, tt.wantState, res.Message)
				}
				if res.ReturnValue != tt.wantValue {
					t.Errorf("return value = %#v, want %#v", res.ReturnValue, tt.wantValue)
				}
			}
			for _, w := range tt.wantLog {
				if !strings.Contains(log.String(), w) {
					t.Errorf("log does not contain %q:\n%s", w, log)
				}
			}
		})
	}
}

func TestBadConfigIsFinal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		config  map[string]any
		wantErr string
	}{
		{"no bash_command", map[string]any{}, "bash_command must be a non-empty string"},
		{"blank bash_command", map[string]any{"bash_command": "  "}, "bash_command must be a non-empty string"},
		{"env is not a dict", map[string]any{"bash_command": "true", "env": "A=1"}, "env must be a dict"},
		{"env value is not a string", map[string]any{"bash_command": "true", "env": map[string]any{"A": int64(1)}}, `env["A"] must be a string`},
		{"append_env is not a bool", map[string]any{"bash_command": "true", "append_env": "yes"}, "append_env must be a bool"},
		{"skip code is not an int", map[string]any{"bash_command": "true", "skip_on_exit_code": []any{"99"}}, "skip_on_exit_code must hold ints"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := setup(t, tt.config)
			_, err := New().Execute(context.Background(), c)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if !operators.IsFinal(err) {
				t.Errorf("err %v is not final; a config error cannot be fixed by retrying", err)
			}
		})
	}
}

func TestExitCodeErrorIsRetryable(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, map[string]any{"bash_command": "exit 2"})
	_, err := New().Execute(context.Background(), c)
	if err == nil || operators.IsFinal(err) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
}

func TestDefaultCwdIsATemporaryDirectoryRemovedAfterwards(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, map[string]any{"bash_command": "touch made-here; pwd"})
	res, err := New().Execute(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := res.ReturnValue.(string)
	if !strings.Contains(filepath.Base(dir), "starflow-bash-") {
		t.Fatalf("cwd = %q, want a starflow-bash- temporary directory", dir)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary cwd %q still exists (stat: %v)", dir, err)
	}
}

func TestOutputIsStreamedWhileTheCommandRuns(t *testing.T) {
	t.Parallel()
	gate := filepath.Join(t.TempDir(), "go")
	c, log := setup(t, map[string]any{"bash_command": fmt.Sprintf(
		`echo alpha$((1)); while [ ! -e %q ]; do sleep 0.01; done; echo omega$((2))`, gate)})
	run := start(t, New(), c)
	// "alpha1" must reach the log while the command is still blocked on
	// the gate; a buffered implementation would never show it here.
	log.waitFor(t, "alpha1\n", 10*time.Second)
	if strings.Contains(log.String(), "omega2") {
		t.Fatal("second line logged before the gate opened")
	}
	select {
	case err := <-run.done:
		t.Fatalf("command ended before the gate opened: %v", err)
	default:
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run.wait(); err != nil {
		t.Fatal(err)
	}
	log.waitFor(t, "omega2\n", time.Second)
}

// running is an Execute started in the background.
type running struct {
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// start runs op.Execute in the background; the test's clean-up cancels it
// and waits, so a failed test leaves no command behind.
func start(t *testing.T, op *Operator, c *operators.Call) *running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() {
		_, err := op.Execute(ctx, c)
		r.done <- err
	}()
	t.Cleanup(func() { r.cancel(); r.wait() })
	return r
}

// wait returns Execute's error once it has returned.
func (r *running) wait() error {
	r.once.Do(func() { r.err = <-r.done })
	return r.err
}

// gone reports whether process pid no longer runs (it does not exist or
// is a zombie waiting for its parent).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}

// waitGone waits a little for pid to end: a signal is delivered
// asynchronously, so a killed process may live on for a moment.
func waitGone(pid int) bool {
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if gone(pid) {
			return true
		}
	}
	return false
}

// groupMembers lists the live processes of process group pgid with pgrep.
func groupMembers(t *testing.T, pgid int) []int {
	t.Helper()
	out, err := exec.Command("pgrep", "-g", strconv.Itoa(pgid)).Output()
	var exitErr *exec.ExitError
	if err != nil && !(errors.As(err, &exitErr) && exitErr.ExitCode() == 1) {
		t.Fatalf("pgrep: %v", err)
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		pid, _ := strconv.Atoi(f)
		if !gone(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// pgidOf returns the process group of pid.
func pgidOf(t *testing.T, pid int) int {
	t.Helper()
	pgid, err := syscall.Getpgid(pid)
	if err != nil {
		t.Fatalf("getpgid %d: %v", pid, err)
	}
	return pgid
}

// readPIDs reads the pids a command wrote to file, one a line.
func readPIDs(file string) []int {
	b, _ := os.ReadFile(file)
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestCancelKillsTheProcessGroup(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pids")
	// The brief's example, with the group leader's pid recorded.
	c, log := setup(t, map[string]any{"bash_command": fmt.Sprintf(`echo $$ > %q; sleep 100 & sleep 100; wait`, pidFile)})
	op := New()
	op.KillGrace = 10 * time.Second
	run := start(t, op, c)
	var pgid int
	var members []int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if pids := readPIDs(pidFile); len(pids) == 1 {
			pgid = pgidOf(t, pids[0])
			// The watchdog that leads the group, bash and two sleeps.
			if members = groupMembers(t, pgid); len(members) == 4 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the command never started its three processes (group %d: %v)", pgid, members)
		}
	}
	begin := time.Now()
	run.cancel()
	err := run.wait()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if elapsed := time.Since(begin); elapsed > 5*time.Second {
		t.Errorf("cancel took %s; SIGTERM should end sleep at once", elapsed)
	}
	for _, pid := range members {
		if !waitGone(pid) {
			t.Errorf("process %d of the command still runs after cancel", pid)
		}
	}
	if left := groupMembers(t, pgid); len(left) > 0 {
		t.Errorf("process group %d still has %v", pgid, left)
	}
	if !strings.Contains(log.String(), "SIGTERM") {
		t.Errorf("log does not say the command was terminated:\n%s", log)
	}
}

func TestTimeoutEscalatesToSIGKILL(t *testing.T) {
	t.Parallel()
	pidFile := filepath.Join(t.TempDir(), "pids")
	// A grandchild that ignores SIGTERM survives until SIGKILL.
	c, log := setup(t, map[string]any{"bash_command": fmt.Sprintf(`
		echo $$ >> %[1]q
		sleep 100 & echo $! >> %[1]q
		bash -c 'trap "" TERM; echo $$ >> %[1]q; while :; do sleep 0.05; done' &
		sh -c 'echo $$ >> %[1]q; exec sleep 100'
		wait`, pidFile)})
	op := New()
	op.KillGrace = 300 * time.Millisecond
	run := start(t, op, c)
	var pids []int
	for deadline := time.Now().Add(10 * time.Second); len(pids) < 4; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the command recorded only %v", pids)
		}
		pids = readPIDs(pidFile)
	}
	pgid := pgidOf(t, pids[0])
	run.cancel()
	if err := run.wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	for _, pid := range pids {
		if !waitGone(pid) {
			t.Errorf("process %d still runs after SIGKILL", pid)
		}
	}
	if left := groupMembers(t, pgid); len(left) > 0 {
		t.Errorf("process group %d still has %v", pgid, left)
	}
	if !strings.Contains(log.String(), "SIGKILL") {
		t.Errorf("log does not mention SIGKILL:\n%s", log)
	}
}

func TestExecutionTimeout(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, map[string]any{"bash_command": "sleep 100"})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	begin := time.Now()
	_, err := New().Execute(ctx, c)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if elapsed := time.Since(begin); elapsed > 5*time.Second {
		t.Errorf("timeout took %s to stop the command", elapsed)
	}
}

func TestLeftoverProcessesAreEnded(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, command string }{
		{"a background process holding stdout", `sleep 100 & echo $!`},
		{"a background process with its output redirected", `sleep 100 >/dev/null 2>&1 & echo $!`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := setup(t, map[string]any{"bash_command": tt.command})
			op := New()
			op.KillGrace = 10 * time.Second
			begin := time.Now()
			res, err := op.Execute(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			if elapsed := time.Since(begin); elapsed > 5*time.Second {
				t.Errorf("Execute took %s: it waited for the leftover process", elapsed)
			}
			pid, err := strconv.Atoi(fmt.Sprint(res.ReturnValue))
			if err != nil {
				t.Fatalf("return value %v is not a pid", res.ReturnValue)
			}
			if !waitGone(pid) {
				t.Errorf("leftover process %d still runs", pid)
				syscall.Kill(pid, syscall.SIGKILL)
			}
		})
	}
}

func TestLongLinesAreKept(t *testing.T) {
	t.Parallel()
	c, log := setup(t, map[string]any{"bash_command": `head -c 200000 /dev/zero | tr '\0' x; echo; echo tail`})
	res, err := New().Execute(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.ReturnValue != "tail" {
		t.Errorf("return value = %v, want tail", res.ReturnValue)
	}
	if !strings.Contains(log.String(), strings.Repeat("x", 200000)+"\n") {
		t.Error("the 200000-byte line is not in the log in one piece")
	}
}

func TestRegister(t *testing.T) {
	t.Parallel()
	r := operators.NewRegistry()
	Register(r)
	op, err := r.Lookup(dags.OperatorBash)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := op.(*Operator); !ok {
		t.Errorf("registered %T, want *bash.Operator", op)
	}
}

// BenchmarkTrue measures the per-task overhead of a bash task: config,
// temporary directory, fork/exec of bash, output readers, clean-up.
func BenchmarkTrue(b *testing.B) {
	c, _ := setup(b, map[string]any{"bash_command": "true"})
	op := New()
	ctx := context.Background()
	for b.Loop() {
		if _, err := op.Execute(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCancelledBeforeStart(t *testing.T) {
	t.Parallel()
	marker := filepath.Join(t.TempDir(), "ran")
	c, _ := setup(t, map[string]any{"bash_command": fmt.Sprintf("touch %q", marker)})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New().Execute(ctx, c); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the command ran although the try was already cancelled")
	}
}

// TestXComOverTheLimitIsAnError: a last stdout line longer than the XCom
// limit (1 MiB) fails the task with a clear error instead of pushing its
// last 1 MiB; one long line followed by a short last line is fine.
func TestXComOverTheLimitIsAnError(t *testing.T) {
	t.Parallel()
	c, log := setup(t, map[string]any{"bash_command": `head -c 1500000 /dev/zero | tr '\0' x; echo`})
	res, err := New().Execute(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "longer than 1048576 bytes (the XCom limit)") {
		t.Fatalf("1.5 MB last line: result %v, err %v; want the XCom limit error", res, err)
	}
	if n := strings.Count(log.String(), "x"); n < 1500000 {
		t.Errorf("the log holds %d of the 1500000 bytes", n)
	}
	c, _ = setup(t, map[string]any{"bash_command": `head -c 1500000 /dev/zero | tr '\0' x; echo; echo done`})
	if res, err := New().Execute(context.Background(), c); err != nil || res.ReturnValue != "done" {
		t.Errorf("a long line then a short one: %v %v; want done", res, err)
	}
}
