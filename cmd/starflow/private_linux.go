package main

import (
	"fmt"
	"syscall"
)

// keepProcessPrivate makes this process non-dumpable (prctl
// PR_SET_DUMPABLE 0): the kernel then makes its /proc files (environ,
// mem, fd, maps) root's and lets no other process of the same user read
// them or ptrace it. Tasks run as the worker's user, so without it a
// task could read the database URL and the secret key from
// /proc/<worker>/environ (docs/security.md). Core dumps of the process
// are off as a consequence. Children start dumpable again (execve), and
// get a scrubbed environment.
func keepProcessPrivate() error {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_DUMPABLE, 0, 0); errno != 0 {
		return fmt.Errorf("prctl(PR_SET_DUMPABLE, 0): %w", errno)
	}
	return nil
}
