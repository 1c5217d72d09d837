package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// starflowBin is the binary TestMain built.
var starflowBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "starflow-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 3
	}
	defer os.RemoveAll(dir)
	starflowBin = filepath.Join(dir, "starflow")
	gobin := filepath.Join(runtimeGOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		gobin = "go"
	}
	build := exec.Command(gobin, "build", "-o", starflowBin, "github.com/starflow-dev/starflow/cmd/starflow")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build starflow:", err)
		return 3
	}
	return m.Run()
}

// runtimeGOROOT returns the GOROOT of the go command running the tests.
func runtimeGOROOT() string {
	if r := os.Getenv("GOROOT"); r != "" {
		return r
	}
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// proc is a process the test started; its output goes to a file.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error // Wait's result, once done is closed
}

// startProc starts bin with args and env (added to the test's
// environment) and arranges for t to end it. Its stdout and stderr go to
// <dir>/<name>.log.
func startProc(t *testing.T, dir, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(5 * time.Second) })
	return p
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL to the process by its PID and waits for it.
func (p *proc) kill() {
	if p.exited() {
		return
	}
	_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits up to grace, then kills. It returns Wait's
// error (nil for a clean exit 0).
func (p *proc) stop(grace time.Duration) error {
	if p.exited() {
		return p.err
	}
	_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(grace):
		p.kill()
		return fmt.Errorf("%s did not stop within %s of SIGTERM", p.name, grace)
	}
}

// output returns what the process wrote so far.
func (p *proc) output() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// tail returns the last n lines of the process's output.
func (p *proc) tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.output(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// redisServer is a redis-server of the test's own, without persistence,
// on a free port of 127.0.0.1.
type redisServer struct {
	t    *testing.T
	dir  string
	port int
	mu   sync.Mutex
	proc *proc
	runs int
}

func startRedis(t *testing.T, dir string) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is not installed (apt-get install redis-server): %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	r := &redisServer{t: t, dir: dir, port: port}
	r.start()
	return r
}

// URL is the server's redis:// URL.
func (r *redisServer) URL() string { return "redis://127.0.0.1:" + strconv.Itoa(r.port) + "/0" }

func (r *redisServer) start() {
	r.t.Helper()
	r.mu.Lock()
	r.runs++
	name := fmt.Sprintf("redis-%d", r.runs)
	r.mu.Unlock()
	p := startProc(r.t, r.dir, name, nil, "redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir)
	r.mu.Lock()
	r.proc = p
	r.mu.Unlock()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(r.port)})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if p.exited() || time.Now().After(deadline) {
			r.t.Fatalf("redis-server on port %d did not start: %v\n%s", r.port, err, p.tail(20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// restart shuts the server down without saving (SHUTDOWN NOSAVE), so
// every key is lost, and starts it again on the same port.
func (r *redisServer) restart() {
	r.t.Helper()
	// No retries: the server closes the connection as it shuts down.
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(r.port), MaxRetries: -1})
	_ = c.ShutdownNoSave(context.Background()).Err()
	c.Close()
	r.mu.Lock()
	p := r.proc
	r.mu.Unlock()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.kill()
	}
	r.start()
}

// lines counts the lines of s that contain sub.
func lines(s, sub string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

// countLines reads path and counts each distinct line.
func countLines(t *testing.T, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if s := strings.TrimSpace(string(l)); s != "" {
			out[s]++
		}
	}
	return out
}
