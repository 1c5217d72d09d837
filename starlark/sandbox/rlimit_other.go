//go:build !linux

package sandbox

import "os/exec"

// limitData does nothing where RLIMIT_DATA is not available: the Go
// memory limit and the heap watchdog remain.
func limitData(int64) error { return nil }

// setDeathSignal does nothing where no parent-death signal exists: a
// child still ends when its standard input closes with its parent.
func setDeathSignal(*exec.Cmd) {}
