package main

import (
	"bytes"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/runtime/queue/redisqueue/redistest"
)

// childrenOf returns the live (not zombie) processes whose parent is pid.
func childrenOf(t *testing.T, pid int) map[int]bool {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]bool{}
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // ended meanwhile
		}
		i := bytes.LastIndexByte(b, ')') // comm may hold spaces and parentheses
		if i < 0 {
			continue
		}
		f := bytes.Fields(b[i+1:])
		if len(f) < 2 || string(f[0]) == "Z" {
			continue
		}
		if ppid, _ := strconv.Atoi(string(f[1])); ppid == pid {
			child, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
			out[child] = true
		}
	}
	return out
}

// alive reports whether process pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	f := bytes.Fields(b[i+1:])
	return len(f) > 0 && string(f[0]) != "Z"
}

// childrenDAG has a Starlark task function (run in a sandbox process) and
// a bash task.
const childrenDAG = `def double(x):
    return 2 * x

dag(dag_id = "kids", start_date = "2024-01-01", build = lambda: [task(double, task_id = "double", args = [21]), bash(task_id = "b", bash_command = "echo hi")])
`

// TestCommandsLeaveNoChildren runs commands in this process, as the other
// tests do, and checks that the parse and sandbox processes they start
// are ended when they return (not when the test binary exits). It is not
// parallel: no other test starts processes meanwhile.
func TestCommandsLeaveNoChildren(t *testing.T) {
	dir := t.TempDir()
	dagsDir := filepath.Join(dir, "dags")
	if err := os.Mkdir(dagsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dagsDir, "kids.star")
	if err := os.WriteFile(file, []byte(childrenDAG), 0o644); err != nil {
		t.Fatal(err)
	}
	db := "sqlite://" + filepath.Join(dir, "sf.db")
	me := os.Getpid()
	for _, args := range [][]string{
		{"lint", dagsDir},
		{"dags", "list", "--dags", dagsDir},
		{"test-dag", file, "--dags", dagsDir, "--log-dir", filepath.Join(dir, "logs")},
		{"tasks", "test", file, "double", "--dags", dagsDir},
		{"dags", "reserialize", "--dags", dagsDir, "--database-url", db},
		{"dags", "trigger", "kids", "--database-url", db},
	} {
		before := childrenOf(t, me)
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"starflow"}, args...), &stdout, &stderr); code != exitOK {
			t.Fatalf("starflow %v: exit %d\n%s%s", args, code, stdout.String(), stderr.String())
		}
		// A leaked child lives on; give one that is ending (or that an
		// earlier test's pool started just before it closed) a moment.
		left := func() map[int]bool {
			out := map[int]bool{}
			for pid := range childrenOf(t, me) {
				if !before[pid] {
					out[pid] = true
				}
			}
			return out
		}
		still := left()
		for deadline := time.Now().Add(3 * time.Second); len(still) > 0 && time.Now().Before(deadline); still = left() {
			time.Sleep(50 * time.Millisecond)
		}
		for pid := range still {
			cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
			t.Errorf("starflow %v returned and left its child %d (%q) running", args, pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		}
	}
}

// TestSIGTERMedDaemonsLeaveNoChildren runs standalone, scheduler and worker
// as real subprocesses, waits until each has started its parse or sandbox
// processes, sends SIGTERM and checks that the daemon exits 0 and that
// none of its children outlive it.
func TestSIGTERMedDaemonsLeaveNoChildren(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A Redis database of its own (the daemons use the default key
	// prefix): 1 to 15, by this process's id.
	u, err := url.Parse(redistest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + strconv.Itoa(1+os.Getpid()%15)
	redisURL := u.String()
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"standalone", []string{"standalone", "--port", "0"}},
		{"scheduler", []string{"scheduler", "--redis-url", redisURL}},
		{"worker", []string{"worker", "--redis-url", redisURL}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			dagsDir := filepath.Join(dir, "dags")
			if err := os.Mkdir(dagsDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dagsDir, "kids.star"), []byte(childrenDAG), 0o644); err != nil {
				t.Fatal(err)
			}
			db := "sqlite://" + filepath.Join(dir, "sf.db")
			if tc.name == "worker" { // the worker needs a migrated database
				var out bytes.Buffer
				if code := run([]string{"starflow", "db", "migrate", "--database-url", db}, &out, &out); code != exitOK {
					t.Fatalf("db migrate: exit %d\n%s", code, out.String())
				}
			}
			cmd := exec.Command(exe, append(tc.args, "--database-url", db)...)
			cmd.Args[0] = "starflow"
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "STARFLOW_DAGS_FOLDER="+dagsDir)
			daemon := startDaemon(t, cmd)
			stderr, done := daemon.log, daemon.done
			var kids map[int]bool
			deadline := time.Now().Add(60 * time.Second)
			for len(kids) == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%s started no child process within 60 s; its log:\n%s", tc.name, stderr.String())
				}
				time.Sleep(50 * time.Millisecond)
				kids = childrenOf(t, cmd.Process.Pid)
			}
			time.Sleep(500 * time.Millisecond) // let the rest of its start happen
			for pid := range childrenOf(t, cmd.Process.Pid) {
				kids[pid] = true
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("%s after SIGTERM: %v, want exit 0; log:\n%s", tc.name, err, stderr.String())
				}
			case <-time.After(60 * time.Second):
				t.Fatalf("%s did not stop within 60 s of SIGTERM; log:\n%s", tc.name, stderr.String())
			}
			time.Sleep(200 * time.Millisecond) // a reparented child is reaped by init
			for pid := range kids {
				if alive(pid) {
					t.Errorf("%s exited and left its child %d running", tc.name, pid)
				}
			}
			t.Logf("%s: %d children, all ended", tc.name, len(kids))
		})
	}
}
