//go:build !unix

package ui_test

import "time"

// processCPU is -1: the CPU time of the process is read on Unix only.
func processCPU() time.Duration { return -1 }
