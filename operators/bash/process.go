package bash

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxLine is the longest line written to the log in one piece; a longer
// line is split.
const maxLine = 1 << 20

// process runs one command in its own process group and streams its
// output.
type process struct {
	log   io.Writer // nil: output is read and dropped
	grace time.Duration

	mu       sync.Mutex // serialises log writes and guards lastLine
	lastLine string     // last non-empty stdout line
	// lastLong is set when lastLine is a piece of a line longer than
	// maxLine: the XCom would be cut, so the task fails instead.
	lastLong bool
}

// run starts `bash -c command` and waits for it. It returns the exit code,
// or an error when the command could not start, was cancelled through ctx
// or was killed by a signal. When run returns, the command's processes
// have been signalled and every goroutine it started has ended.
func (p *process) run(ctx context.Context, bash, command, dir string, env []string) (int, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("bash: stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return 0, fmt.Errorf("bash: stderr pipe: %w", err)
	}
	cmd := exec.Command(bash, "-c", command)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = outW // *os.File: the child writes to it directly
	cmd.Stderr = errW
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	// The child has its own copies of the write ends; ours must go so that
	// the readers see EOF once every writer is gone.
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return 0, fmt.Errorf("bash: start: %w", err)
	}
	pgid := cmd.Process.Pid

	var readers sync.WaitGroup
	readers.Add(2)
	go func() { defer readers.Done(); p.readLines(outR, true) }()
	go func() { defer readers.Done(); p.readLines(errR, false) }()
	readersDone := make(chan struct{})
	go func() { readers.Wait(); close(readersDone) }()

	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	var waitErr error
	var cancelled bool
	var deadline time.Time // when SIGKILL follows the first SIGTERM
	select {
	case waitErr = <-waited:
	case <-ctx.Done():
		cancelled = true
		p.logf("Cancelled (%v): sending SIGTERM to the process group", context.Cause(ctx))
		signalGroup(pgid, syscall.SIGTERM)
		deadline = time.Now().Add(p.grace)
		if !waitUntil(waited, &waitErr, deadline) {
			p.logf("Still running %s after SIGTERM: sending SIGKILL", p.grace)
			signalGroup(pgid, syscall.SIGKILL)
			waitErr = <-waited
		}
	}

	// bash is gone; end whatever it left behind in its group, then let the
	// readers drain what was written.
	groupAlive := syscall.Kill(-pgid, 0) == nil
	if deadline.IsZero() {
		if groupAlive {
			p.logf("Command left processes behind: sending SIGTERM to the process group")
			signalGroup(pgid, syscall.SIGTERM)
		}
		deadline = time.Now().Add(p.grace)
	}
	if !waitUntil(readersDone, nil, deadline) {
		p.logf("Output still open %s after the command ended: closing it", p.grace)
	}
	if groupAlive {
		signalGroup(pgid, syscall.SIGKILL)
	}
	// Unblocks readers when a process outside the group (one that called
	// setsid) still holds the output open.
	outR.Close()
	errR.Close()
	<-readersDone

	if cancelled {
		return 0, fmt.Errorf("bash command cancelled: %w", ctx.Err())
	}
	var exitErr *exec.ExitError
	switch {
	case waitErr == nil:
		return 0, nil
	case errors.As(waitErr, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 0, fmt.Errorf("bash command was killed by signal %s", ws.Signal())
		}
		return exitErr.ExitCode(), nil
	default:
		return 0, fmt.Errorf("bash: wait: %w", waitErr)
	}
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
			if len(long) >= maxLine {
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
// line longer than maxLine.
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

// logf writes one line of the operator's own to the log.
func (p *process) logf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.log != nil {
		fmt.Fprintf(p.log, format+"\n", args...)
	}
}
