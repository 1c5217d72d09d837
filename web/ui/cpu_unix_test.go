//go:build unix

package ui_test

import (
	"syscall"
	"time"
)

// processCPU is the user and system CPU time the process has used so far,
// or -1 when it cannot be read.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
