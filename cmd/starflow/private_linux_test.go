package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// scanEnvirons is a bash task that reads the environment of every process
// it may (its worker's, the worker's sandbox processes') and reports each
// one that holds the secret key.
const scanEnvirons = `for d in /proc/[0-9]*; do if tr '\\0' '\\n' 2>/dev/null < $d/environ | grep -q '^STARFLOW_SECRET_KEY='; then echo "LEAK $d $(tr '\\0' ' ' < $d/cmdline)"; fi; done; echo scanned`

// TestTasksCannotReadTheDaemonsEnvironment runs standalone as an
// unprivileged user (nobody when the test runs as root, which may read
// every process; itself otherwise) with the secret key in its
// environment, and a bash task, running as the same user, that reads
// /proc/*/environ: it must find the key in no process (the daemon and its
// sandbox processes are non-dumpable). Before, it found it in the daemon.
func TestTasksCannotReadTheDaemonsEnvironment(t *testing.T) {
	t.Parallel()
	// Everything the unprivileged user needs: a copy of this binary and
	// folders it may read and write.
	dir, err := os.MkdirTemp("", "starflow-private-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "starflow")
	copyFile(t, exe, bin, 0o755)
	data, dagsDir := filepath.Join(dir, "data"), filepath.Join(dir, "dags")
	for _, d := range []string{data, dagsDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src := `dag(dag_id = "scan", schedule = "@once", start_date = "2024-01-01",
    build = lambda: bash(task_id = "scan", bash_command = """` + scanEnvirons + `"""))
`
	if err := os.WriteFile(filepath.Join(dagsDir, "scan.star"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, data, dagsDir} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "standalone", "--dags", dagsDir, "--database-url", "sqlite://"+filepath.Join(data, "sf.db"), "--port", "0")
	cmd.Args[0] = "starflow"
	cmd.Dir = data
	cmd.Env = append(os.Environ(), "HOME="+data, "STARFLOW_SECRET_KEY=c2VjcmV0LWtleS1vZi10aGUtdGVzdC0zMi1ieXRlcyE=")
	who := "this test's user"
	if os.Getuid() == 0 {
		if err := os.Chown(data, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		who = "nobody"
	}
	daemon := startDaemon(t, cmd)
	stderr, done := daemon.log, daemon.done
	logFile := filepath.Join(data, "logs", "dag_id=scan", "run_id=scheduled__2024-01-01T00_00_00_00_00", "task_id=scan", "attempt=1.log")
	deadline := time.Now().Add(90 * time.Second)
	var log []byte
	for !bytes.Contains(log, []byte("Command exited")) {
		select {
		case err := <-done:
			t.Fatalf("standalone as %s ended: %v; its log:\n%s", who, err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the task printed no scan within 90 s (%s); standalone as %s logged:\n%s", logFile, who, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
		log, _ = os.ReadFile(logFile)
	}
	if bytes.Contains(log, []byte("\nLEAK ")) { // a line of output, not the command
		t.Errorf("a task of standalone run as %s read the secret key from another process's environment:\n%s", who, log)
	}
	if !strings.Contains(string(log), "Command exited with return code 0") {
		t.Errorf("the scan did not succeed:\n%s", log)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Errorf("standalone did not stop within 60 s of SIGTERM")
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
