package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// DefaultGrace is how much longer than the loader's time limit a child
// may take before it is killed: the loader stops a file between steps,
// so only a single call that never returns (json.encode of a structure
// that shares itself) outlives it.
const DefaultGrace = 5 * time.Second

// DefaultIdleTimeout is how long a child may wait idle before the pool
// ends it (beyond its MinIdle): a child holds some tens of MiB of memory
// and the DAG versions it loaded.
const DefaultIdleTimeout = time.Minute

// Pool is the parent side: a loader.Isolator that evaluates each file in
// one of up to Max child processes, started when needed and kept for the
// next files while they live. Its zero value is not usable; set Command.
type Pool struct {
	// Command returns the command of a new child (the starflow binary
	// with its hidden parse-child subcommand); the pool sets its standard
	// input, output and error.
	Command func() *exec.Cmd
	// Max bounds the children alive at once (and so the files evaluated
	// at once); 0 is 1.
	Max int
	// Timeout is how long one evaluation may take before its child is
	// killed: the loader's time limit plus DefaultGrace.
	Timeout time.Duration
	// MemoryLimit is the children's memory limit, for messages.
	MemoryLimit int64
	// Logger receives children that fail to start or die.
	Logger *slog.Logger
	// IdleTimeout is how long a child may stay idle before it is ended;
	// 0 is DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MinIdle is how many idle children are kept warm however long they
	// wait (the most recently used ones).
	MinIdle int

	once   sync.Once
	slot   chan struct{}
	mu     sync.Mutex
	idle   []*child // the most recently used last
	trim   *time.Timer
	ending sync.WaitGroup // trims ending children
	closed bool
}

var _ loader.Isolator = (*Pool)(nil)

// child is one running child process.
type child struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	replies chan reply // closed when the child's output ends
	stderr  *tail
	nextID  int64
	// known are the DAG versions whose sources the child was sent.
	known map[string]bool
	// idleSince is when the child was last made idle.
	idleSince time.Time
}

func (p *Pool) init() {
	p.once.Do(func() {
		n := p.Max
		if n <= 0 {
			n = 1
		}
		p.slot = make(chan struct{}, n)
		if p.Logger == nil {
			p.Logger = slog.Default()
		}
		if p.Timeout <= 0 {
			p.Timeout = loader.DefaultTimeout + DefaultGrace
		}
		if p.MemoryLimit <= 0 {
			p.MemoryLimit = DefaultMemoryLimit
		}
		if p.IdleTimeout <= 0 {
			p.IdleTimeout = DefaultIdleTimeout
		}
	})
}

// Check evaluates the file req names in a child. It returns nil when the
// child found DAGs (or no child could be started: the loader's in-process
// limits remain), the child's import errors when it found none, and an
// error at the last position the child reported when it died or was
// killed.
func (p *Pool) Check(ctx context.Context, req loader.CheckRequest) *loader.CheckResult {
	p.init()
	select {
	case p.slot <- struct{}{}:
	case <-ctx.Done():
		return nil
	}
	defer func() { <-p.slot }()

	for attempt := 0; ; attempt++ {
		c, err := p.get()
		if err != nil {
			p.Logger.Warn("cannot start a parse process; the file is evaluated in-process only", "file", req.Rel, "err", err)
			return nil
		}
		c.nextID++
		line, err := json.Marshal(request{ID: c.nextID, CheckRequest: req})
		if err != nil {
			p.put(c)
			return nil
		}
		if _, err := c.stdin.Write(append(line, '\n')); err != nil {
			// The child died while idle: start another once.
			p.kill(c)
			if attempt == 0 {
				continue
			}
			return nil
		}
		return p.wait(ctx, c, req)
	}
}

// wait reads the child's replies to the current request until it is done,
// dies, or outlives the timeout.
func (p *Pool) wait(ctx context.Context, c *child, req loader.CheckRequest) *loader.CheckResult {
	pos := dags.Pos{File: displayName(req), Line: 1, Col: 1}
	timer := time.NewTimer(p.Timeout)
	defer timer.Stop()
	for {
		select {
		case r, ok := <-c.replies:
			if !ok {
				state := p.kill(c)
				return one(p.died(pos, c, state))
			}
			if r.ID != c.nextID {
				continue
			}
			if r.Pos != nil {
				pos = *r.Pos
			}
			if r.Memory {
				p.kill(c)
				return one(&dags.Finding{Pos: pos, Rule: loader.RuleSizeLimit, Message: fmt.Sprintf(
					"memory limit: evaluating the file used more than %d MiB; its parse process was stopped", p.MemoryLimit*3/4>>20)})
			}
			if r.Done {
				p.put(c)
				return r.Result
			}
		case <-timer.C:
			p.kill(c)
			return one(&dags.Finding{Pos: pos, Rule: loader.RuleTimeout, Message: fmt.Sprintf(
				"time limit: evaluating the file did not end within %s (a single call that never returns?); its parse process was killed", p.Timeout)})
		case <-ctx.Done():
			p.kill(c)
			return nil
		}
	}
}

// one is the result of a file whose process died.
func one(f *dags.Finding) *loader.CheckResult {
	return &loader.CheckResult{Errors: []dags.Finding{*f}}
}

// died is the finding of a child that ended in the middle of a file.
func (p *Pool) died(pos dags.Pos, c *child, state string) *dags.Finding {
	last := c.stderr.String()
	if i := strings.Index(last, "fatal error"); i >= 0 {
		last = last[i:]
	}
	p.Logger.Warn("a parse process died", "file", pos.File, "state", state, "stderr", firstLine(last))
	// The loader recovers Go panics, so a child that dies in the middle
	// of a file ran into its memory limit: the runtime's "out of memory",
	// a failed mmap, or a fault while it could not map memory.
	if strings.Contains(last, "panic:") && !strings.Contains(last, "out of memory") {
		return &dags.Finding{Pos: pos, Rule: loader.RuleImport, Message: fmt.Sprintf(
			"evaluating the file killed its parse process (%s): %s", state, firstLine(last))}
	}
	return &dags.Finding{Pos: pos, Rule: loader.RuleSizeLimit, Message: fmt.Sprintf(
		"memory limit: evaluating the file needed more than the %d MiB its parse process may use; the process died (%s: %s)",
		p.MemoryLimit>>20, state, firstLine(last))}
}

// get returns an idle child or starts one.
func (p *Pool) get() (*child, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	return p.start()
}

// start starts a child.
func (p *Pool) start() (*child, error) {
	cmd := p.Command()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("parse process: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("parse process: %w", err)
	}
	c := &child{cmd: cmd, stdin: stdin, replies: make(chan reply, 16), stderr: &tail{max: 64 << 10}, known: map[string]bool{}}
	setDeathSignal(cmd)
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the parse process %s: %w", cmd.Path, err)
	}
	go func() {
		defer close(c.replies)
		dec := json.NewDecoder(stdout)
		dec.UseNumber()
		for {
			var r reply
			if err := dec.Decode(&r); err != nil {
				return
			}
			c.replies <- r
		}
	}()
	return c, nil
}

// put makes c idle again, or ends it when the pool is closed.
func (p *Pool) put(c *child) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.end(c)
		return
	}
	c.idleSince = time.Now()
	p.idle = append(p.idle, c)
	p.armTrimLocked()
	p.mu.Unlock()
}

// armTrimLocked makes sure a trim runs when the oldest idle child beyond
// MinIdle reaches IdleTimeout. p.mu is held.
func (p *Pool) armTrimLocked() {
	if p.trim != nil || p.closed || len(p.idle) <= p.MinIdle {
		return
	}
	wait := time.Until(p.idle[0].idleSince.Add(p.IdleTimeout))
	p.trim = time.AfterFunc(max(wait, 0), p.trimIdle)
}

// trimIdle ends the children idle for longer than IdleTimeout, except
// the MinIdle most recently used, and arms the next trim.
func (p *Pool) trimIdle() {
	p.mu.Lock()
	p.trim = nil
	if p.closed {
		p.mu.Unlock()
		return
	}
	var old []*child
	now := time.Now()
	for len(p.idle) > p.MinIdle && now.Sub(p.idle[0].idleSince) >= p.IdleTimeout {
		old = append(old, p.idle[0])
		p.idle[0] = nil
		p.idle = p.idle[1:]
	}
	p.armTrimLocked()
	if len(old) == 0 {
		p.mu.Unlock()
		return
	}
	p.ending.Add(1)
	p.mu.Unlock()
	defer p.ending.Done()
	for _, c := range old {
		p.end(c)
	}
	p.Logger.Debug("ended idle sandbox processes", "ended", len(old), "idle_timeout", p.IdleTimeout)
}

// Prestart starts up to n children in the background (fewer when some
// are idle already), so that the first calls find one ready.
func (p *Pool) Prestart(n int) {
	p.init()
	p.mu.Lock()
	n -= len(p.idle)
	p.mu.Unlock()
	for range n {
		go func() {
			c, err := p.start()
			if err != nil {
				p.Logger.Warn("cannot start a sandbox process", "err", err)
				return
			}
			p.put(c)
		}()
	}
}

// end closes an idle child's input, which ends it, and waits for it.
func (p *Pool) end(c *child) {
	_ = c.stdin.Close()
	for range c.replies {
	}
	_ = c.cmd.Wait()
}

// kill ends c and returns how it ended.
func (p *Pool) kill(c *child) string {
	_ = c.cmd.Process.Kill()
	_ = c.stdin.Close()
	for range c.replies { // drain until the reader sees the end
	}
	err := c.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ProcessState.String()
	}
	if err != nil {
		return err.Error()
	}
	return "exit status 0"
}

// Close ends the idle children (and waits for them and for those an idle
// trim is ending); children busy with a file end when their file does and
// are not reused.
func (p *Pool) Close() error {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.closed = true
	if p.trim != nil {
		p.trim.Stop()
		p.trim = nil
	}
	p.mu.Unlock()
	for _, c := range idle {
		p.end(c)
	}
	p.ending.Wait()
	return nil
}

// displayName is how positions name the file of req, as the loader does.
func displayName(req loader.CheckRequest) string {
	return req.Source().Name(req.Rel)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// tail keeps about the last max bytes written to it (a child's fatal
// error and the start of its goroutine dump).
type tail struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(b)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
		rest := append([]byte(nil), t.buf.Bytes()...)
		t.buf.Reset()
		t.buf.Write(rest)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
