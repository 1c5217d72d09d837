package sandbox

import (
	"fmt"
	"os/exec"
	"syscall"
)

// limitData sets the process's RLIMIT_DATA, which bounds the writable
// private memory it maps (the Go heap), but not address space it only
// reserves (go.starlark.net reserves 4 GiB for small integers, which
// would make RLIMIT_AS fail the interpreter's start).
func limitData(bytes int64) error {
	lim := syscall.Rlimit{Cur: uint64(bytes), Max: uint64(bytes)}
	if err := syscall.Setrlimit(syscall.RLIMIT_DATA, &lim); err != nil {
		return fmt.Errorf("set RLIMIT_DATA to %d: %w", bytes, err)
	}
	return nil
}

// setDeathSignal makes the child die with its parent, even on kill -9.
func setDeathSignal(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
