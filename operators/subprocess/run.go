package subprocess

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultGrace is how long a cancelled command's processes get between
// SIGTERM and SIGKILL.
const DefaultGrace = 5 * time.Second

// MaxLine is the longest line written to the log in one piece; a longer
// line is split.
const MaxLine = 1 << 20

// Command is one child process of a task.
type Command struct {
	// Name names the command in errors and log lines ("bash command").
	Name string
	// Path is the program to run and Args its arguments (without the
	// program name).
	Path string
	Args []string
	// Dir is the working directory; empty means the worker's.
	Dir string
	// Env is the whole environment of the process (see Policy.Env).
	Env []string
	// Log receives stdout and stderr line by line as they arrive, and the
	// lines Run writes about signals; nil drops them.
	Log io.Writer
	// Grace is the time between SIGTERM and SIGKILL when ctx ends; zero
	// means DefaultGrace.
	Grace time.Duration
	// ExtraFiles are open files the process inherits as file descriptors
	// 3, 4, ... (a channel back to the worker). Run closes them once the
	// process has started, or failed to, so that the worker's ends of the
	// pipes see EOF when the process is gone.
	ExtraFiles []*os.File
}

// Result is how a command that ran to its end exited.
type Result struct {
	// ExitCode is the command's exit status.
	ExitCode int
	// LastLine is the last non-empty line of its stdout, trailing spaces
	// removed.
	LastLine string
	// LastLineLong is set when LastLine is a piece of a line longer than
	// MaxLine, so not the whole line.
	LastLineLong bool
}

// Run runs the command and waits for it. It returns the exit code, or an
// error when the command could not start, was cancelled through ctx (the
// error wraps ctx.Err()) or was killed by a signal. When Run returns,
// every process of the command's group has been signalled and every
// goroutine Run started has ended.
func Run(ctx context.Context, c Command) (Result, error) {
	defer closeFiles(c.ExtraFiles) // when it returns before the start
	name := c.Name
	if name == "" {
		name = "command"
	}
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("%s not started: %w", name, err)
	}
	grace := c.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	p := &process{log: c.Log}
	if _, err := exec.LookPath(c.Path); err != nil {
		return Result{}, fmt.Errorf("start %s: %w", name, err)
	}

	outR, outW, err := os.Pipe()
	if err != nil {
		return Result{}, fmt.Errorf("%s: stdout pipe: %w", name, err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return Result{}, fmt.Errorf("%s: stderr pipe: %w", name, err)
	}
	path, args, attr := supervised(c.Path, c.Args)
	cmd := exec.Command(path, args...)
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	if cmd.Env == nil {
		cmd.Env = []string{} // nil would mean the worker's whole environment
	}
	cmd.Stdout = outW // *os.File: the child writes to it directly
	cmd.Stderr = errW
	cmd.SysProcAttr = attr
	cmd.ExtraFiles = c.ExtraFiles

	// The parent-death signal fires when the thread that forked the child
	// ends, so the child is started and waited for on one locked thread.
	started := make(chan error, 1)
	waited := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		waited <- cmd.Wait()
	}()
	err = <-started
	// The child has its own copies of the write ends; ours must go so that
	// the readers see EOF once every writer is gone.
	outW.Close()
	errW.Close()
	closeFiles(c.ExtraFiles)
	if err != nil {
		outR.Close()
		errR.Close()
		return Result{}, fmt.Errorf("start %s: %w", name, err)
	}
	pgid := cmd.Process.Pid

	var readers sync.WaitGroup
	readers.Add(2)
	go func() { defer readers.Done(); p.readLines(outR, true) }()
	go func() { defer readers.Done(); p.readLines(errR, false) }()
	readersDone := make(chan struct{})
	go func() { readers.Wait(); close(readersDone) }()

	var waitErr error
	var cancelled bool
	var deadline time.Time // when SIGKILL follows the first SIGTERM
	select {
	case waitErr = <-waited:
	case <-ctx.Done():
		cancelled = true
		p.logf("Cancelled (%v): sending SIGTERM to the process group", context.Cause(ctx))
		signalGroup(pgid, syscall.SIGTERM)
		deadline = time.Now().Add(grace)
		// The command is over when its leader is gone and nothing of the
		// group holds its output open.
		gotWait := waitUntil(waited, &waitErr, deadline)
		if !gotWait || !waitUntil(readersDone, nil, deadline) {
			p.logf("Still running %s after SIGTERM: sending SIGKILL", grace)
			signalGroup(pgid, syscall.SIGKILL)
			if !gotWait {
				waitErr = <-waited
			}
			// Killed processes close their output at once; only one
			// outside the group could hold it longer.
			deadline = time.Now().Add(grace)
		}
	}

	// The leader is gone; end whatever it left behind in its group, then
	// let the readers drain what was written.
	groupAlive := syscall.Kill(-pgid, 0) == nil
	if !cancelled {
		if groupAlive {
			p.logf("Command left processes behind: sending SIGTERM to the process group")
			signalGroup(pgid, syscall.SIGTERM)
		}
		deadline = time.Now().Add(grace)
	}
	if !waitUntil(readersDone, nil, deadline) {
		p.logf("Output still open %s after the command ended: closing it", grace)
	}
	if groupAlive {
		signalGroup(pgid, syscall.SIGKILL)
	}
	// Unblocks readers when a process outside the group (one that called
	// setsid) still holds the output open.
	outR.Close()
	errR.Close()
	<-readersDone

	res := Result{LastLine: p.lastLine, LastLineLong: p.lastLong}
	if cancelled {
		return res, fmt.Errorf("%s cancelled: %w", name, ctx.Err())
	}
	var exitErr *exec.ExitError
	switch {
	case waitErr == nil:
		return res, nil
	case errors.As(waitErr, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return res, fmt.Errorf("%s was killed by signal %s", name, ws.Signal())
		}
		res.ExitCode = exitErr.ExitCode()
		return res, nil
	default:
		return res, fmt.Errorf("%s: wait: %w", name, waitErr)
	}
}

// closeFiles closes fs; closing one twice does no harm.
func closeFiles(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// process is the output side of one running command.
type process struct {
	log io.Writer // nil: output is read and dropped

	mu       sync.Mutex // serialises log writes and guards lastLine
	lastLine string     // last non-empty stdout line
	// lastLong is set when lastLine is a piece of a line longer than
	// MaxLine.
	lastLong bool
}

// waitUntil receives from ch into *out (when out is not nil) and reports
// whether that happened before deadline.
func waitUntil[T any](ch <-chan T, out *T, deadline time.Time) bool {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case v := <-ch:
		if out != nil {
			*out = v
		}
		return true
	case <-timer.C:
		return false
	}
}

// signalGroup sends sig to every process of the group; a group that is
// already gone is not an error.
func signalGroup(pgid int, sig syscall.Signal) {
	_ = syscall.Kill(-pgid, sig)
}

// readLines copies r to the log line by line as lines arrive, and keeps
// the last non-empty line when stdout is true.
func (p *process) readLines(r io.Reader, stdout bool) {
	br := bufio.NewReaderSize(r, 8<<10)
	var long []byte
	split := false // a piece of the current line was written already
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			if len(long) >= MaxLine {
				p.line(long, stdout, true)
				long = long[:0]
				split = true
			}
			continue
		}
		if len(long) > 0 {
			long = append(long, chunk...)
			chunk = long
		}
		if len(chunk) > 0 {
			p.line(chunk, stdout, split)
		}
		long = long[:0]
		split = false
		if err != nil { // EOF, or the read end closed under us
			return
		}
	}
}

// line writes one output line to the log; piece says it is part of a
// line longer than MaxLine.
func (p *process) line(b []byte, stdout, piece bool) {
	s := strings.TrimRight(string(b), "\r\n")
	p.mu.Lock()
	defer p.mu.Unlock()
	if stdout {
		if t := strings.TrimSpace(s); t != "" {
			p.lastLine = strings.TrimRight(s, " \t\r\n")
			p.lastLong = piece
		}
	}
	if p.log != nil {
		io.WriteString(p.log, s+"\n")
	}
}

// logf writes one line of Run's own to the log.
func (p *process) logf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.log != nil {
		fmt.Fprintf(p.log, format+"\n", args...)
	}
}
