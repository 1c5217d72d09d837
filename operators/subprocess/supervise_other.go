//go:build !linux

package subprocess

import "syscall"

// supervised starts program directly in a process group of its own; only
// Linux has parent-death signals, so elsewhere a command may outlive a
// worker killed with -9.
func supervised(program string, args []string) (string, []string, *syscall.SysProcAttr) {
	return program, args, &syscall.SysProcAttr{Setpgid: true}
}
