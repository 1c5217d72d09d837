package main

import (
	"bytes"
	"os/exec"
	"sync"
	"testing"
)

// daemonProcess is a starflow daemon a test started as a real process.
type daemonProcess struct {
	cmd *exec.Cmd
	// log is what it wrote to its standard error so far.
	log *lockedBuffer
	// done receives its Wait result once, when it exits.
	done chan error
}

// startDaemon starts cmd keeping its standard error, and kills it when the
// test ends if it still runs.
func startDaemon(t *testing.T, cmd *exec.Cmd) *daemonProcess {
	t.Helper()
	d := &daemonProcess{cmd: cmd, log: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = d.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		d.done <- cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	return d
}

// lockedBuffer is a bytes.Buffer a child process writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
