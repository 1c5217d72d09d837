package benchscale

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// procCPU returns the user plus system CPU seconds a process has used, read
// from /proc/<pid>/stat.
func procCPU(pid int) (float64, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, fmt.Errorf("read CPU time of process %d: %w", pid, err)
	}
	return parseProcStat(data)
}

// parseProcStat returns utime+stime in seconds from the text of
// /proc/<pid>/stat. The command name (field 2) is in parentheses and may
// hold spaces and parentheses, so fields are counted after its last ')'.
func parseProcStat(data []byte) (float64, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("proc stat: no command name in %.40q", data)
	}
	// After ")": state (field 3) … utime is field 14, stime field 15.
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("proc stat: %d fields after the command name, want at least 13", len(f))
	}
	utime, err := strconv.ParseUint(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("proc stat: utime %q: %w", f[11], err)
	}
	stime, err := strconv.ParseUint(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("proc stat: stime %q: %w", f[12], err)
	}
	return float64(utime+stime) / clockTicks, nil
}

// machineCPU is the first line of /proc/stat: CPU seconds of all cores by kind.
type machineCPU struct {
	busy, idle, iowait float64
}

// readMachineCPU reads /proc/stat.
func readMachineCPU() (machineCPU, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineCPU{}, fmt.Errorf("read machine CPU: %w", err)
	}
	return parseMachineStat(data)
}

// parseMachineStat parses the "cpu" line of /proc/stat: user nice system
// idle iowait irq softirq steal …, in clock ticks.
func parseMachineStat(data []byte) (machineCPU, error) {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 8 || f[0] != "cpu" {
		return machineCPU{}, fmt.Errorf("/proc/stat: first line %q is not the cpu total", line)
	}
	var v [7]float64
	for i := range v {
		n, err := strconv.ParseUint(f[i+1], 10, 64)
		if err != nil {
			return machineCPU{}, fmt.Errorf("/proc/stat: field %d %q: %w", i+1, f[i+1], err)
		}
		v[i] = float64(n) / clockTicks
	}
	// user nice system idle iowait irq softirq
	return machineCPU{busy: v[0] + v[1] + v[2] + v[5] + v[6], idle: v[3], iowait: v[4]}, nil
}

// processesNamed returns the ids of the processes whose command name
// (/proc/<pid>/comm) is name.
func processesNamed(name string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err == nil && strings.TrimSpace(string(comm)) == name {
			pids = append(pids, pid)
		}
	}
	return pids
}
