package benchscale

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Report is what one run of the benchmark measured.
type Report struct {
	Schedulers, Workers, Concurrency int
	// TIs is the number of task instances the workload holds; Succeeded
	// how many ended in success.
	TIs, Succeeded int
	// Span is the time from the first task instance's start to the last
	// one's end; Wall from the first process start to the last run's end.
	Span, Wall time.Duration
	// TIPerSec is TIs over Span.
	TIPerSec float64
	// Hops are the chain runs' upstream end → downstream start delays.
	Hops           int
	HopP50, HopP99 time.Duration
	// Commits and Rollbacks are pg_stat_database's xact_commit and
	// xact_rollback of the benchmark's database (the harness's own
	// progress queries subtracted): every transaction, read-only ones too.
	Commits, Rollbacks int64
	// TuplesWritten is tup_inserted + tup_updated + tup_deleted.
	TuplesWritten int64
	// RedisCommands is total_commands_processed over the run (the whole
	// server's: other clients of the same Redis are counted too).
	RedisCommands int64
	CPU           []GroupCPU
	Machine       MachineCPU
	// LoadAverage is /proc/loadavg's one-minute figure at the end.
	LoadAverage string
}

// GroupCPU is the CPU used by one group of processes.
type GroupCPU struct {
	Name      string
	Processes int
	Seconds   float64
	MeanCores float64
	// PeakCores is the highest mean over three consecutive samples.
	PeakCores float64
	// Limit is how many cores the group can use at most.
	Limit float64
}

// MachineCPU is the whole machine's CPU over the run.
type MachineCPU struct {
	Cores       int
	BusyCores   float64
	IOWaitCores float64
}

// percentile returns the p-th percentile (0–100) of sorted durations by the
// nearest-rank method; 0 for none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// hopStats returns the count, median and 99th percentile of hops.
func hopStats(hops []time.Duration) (int, time.Duration, time.Duration) {
	s := slices.Clone(hops)
	slices.Sort(s)
	return len(s), percentile(s, 50), percentile(s, 99)
}

// per returns n per task instance.
func (r *Report) per(n int64) float64 {
	if r.TIs == 0 {
		return 0
	}
	return float64(n) / float64(r.TIs)
}

// OutsideCores is the machine's busy CPU not used by the benchmark's
// process groups: other programs on a shared machine.
func (r *Report) OutsideCores() float64 {
	used := 0.0
	for _, g := range r.CPU {
		used += g.MeanCores
	}
	return max(r.Machine.BusyCores-used, 0)
}

// Bottleneck names the resource that saturates first and why: the machine's
// CPU when it is nearly all busy (then the group using most of it), else a
// group at its own limit (Redis's one core), else waiting (fsync, round trips).
func (r *Report) Bottleneck() string {
	var top *GroupCPU
	for i := range r.CPU {
		if top == nil || r.CPU[i].MeanCores > top.MeanCores {
			top = &r.CPU[i]
		}
	}
	for _, g := range r.CPU {
		if g.Limit > 0 && g.Limit < float64(r.Machine.Cores) && g.PeakCores >= 0.9*g.Limit {
			return fmt.Sprintf("%s: at its limit of %.0f core (peak %.2f cores)", g.Name, g.Limit, g.PeakCores)
		}
	}
	busy := 0.0
	if r.Machine.Cores > 0 {
		busy = r.Machine.BusyCores / float64(r.Machine.Cores)
	}
	if top == nil {
		return "no CPU figures"
	}
	share := 0.0
	if r.Machine.BusyCores > 0 {
		share = top.MeanCores / r.Machine.BusyCores
	}
	if busy >= 0.85 {
		return fmt.Sprintf("machine CPU (%.0f%% of %d cores busy, %.2f cores of it by processes outside the benchmark); largest user %s at %.2f cores (%.0f%% of the busy CPU)",
			busy*100, r.Machine.Cores, r.OutsideCores(), top.Name, top.MeanCores, share*100)
	}
	return fmt.Sprintf("no CPU saturated (%.0f%% of %d cores busy, %.2f cores in I/O wait): latency-bound (commits' fsync, round trips); largest user %s at %.2f cores",
		busy*100, r.Machine.Cores, r.Machine.IOWaitCores, top.Name, top.MeanCores)
}

// Write prints the report as aligned text: the figures, then one line per
// group of processes, then the bottleneck.
func (r *Report) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "schedulers %d, workers %d × concurrency %d\n", r.Schedulers, r.Workers, r.Concurrency)
	fmt.Fprintf(&b, "task instances     %d (%d succeeded)\n", r.TIs, r.Succeeded)
	fmt.Fprintf(&b, "span               %s (wall %s)\n", r.Span.Round(time.Millisecond), r.Wall.Round(time.Millisecond))
	fmt.Fprintf(&b, "throughput         %.0f TI/s\n", r.TIPerSec)
	fmt.Fprintf(&b, "hop p50 / p99      %s / %s (%d hops)\n", fmtMs(r.HopP50), fmtMs(r.HopP99), r.Hops)
	fmt.Fprintf(&b, "commits/TI         %.2f (xact_commit %d, rollbacks %d)\n", r.per(r.Commits), r.Commits, r.Rollbacks)
	fmt.Fprintf(&b, "tuples written/TI  %.2f\n", r.per(r.TuplesWritten))
	fmt.Fprintf(&b, "redis commands/TI  %.2f (server-wide)\n", r.per(r.RedisCommands))
	fmt.Fprintf(&b, "machine            %d cores, %.2f busy, %.2f in I/O wait, load average %s\n",
		r.Machine.Cores, r.Machine.BusyCores, r.Machine.IOWaitCores, r.LoadAverage)
	fmt.Fprintf(&b, "%-34s %5s %9s %10s %10s %12s\n", "CPU by process group", "procs", "CPU s", "mean cores", "peak cores", "CPU ms/TI")
	for _, g := range r.CPU {
		fmt.Fprintf(&b, "%-34s %5d %9.1f %10.2f %10.2f %12.3f\n", g.Name, g.Processes, g.Seconds, g.MeanCores, g.PeakCores, 1000*g.Seconds/max(float64(r.TIs), 1))
	}
	fmt.Fprintf(&b, "%-34s %5s %9s %10.2f\n", "outside the benchmark", "", "", r.OutsideCores())
	fmt.Fprintf(&b, "saturates first: %s\n", r.Bottleneck())
	_, err := io.WriteString(w, b.String())
	return err
}

func fmtMs(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
}

// parseRedisInfo returns the fields of a Redis INFO reply ("key:value"
// lines; sections and comments skipped).
func parseRedisInfo(text string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m
}
