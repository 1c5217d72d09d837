package dagfolder_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/internal/dagfolder"
	"github.com/starflow-dev/starflow/runtime/dagprocessor"
	"github.com/starflow-dev/starflow/runtime/queue/memqueue"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store/testdb"
	"github.com/starflow-dev/starflow/starlark/call"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// BenchmarkIdle10vs1000DAGs measures what an idle deployment costs: the
// scheduler's tick (every second) and the DAG folder rescan (every 30 s)
// over a SQLite store, with 10 and with 1,000 unchanged @daily DAG files of
// 5 tasks whose next run is not due. It reports the CPU time (process
// user + system, getrusage) of one idle minute for each and their ratio
// (target: no higher with 1,000 than with 10, x_1000_vs_10 near 1).
func BenchmarkIdle10vs1000DAGs(b *testing.B) {
	const ticks, syncs = 60, 2 // one idle minute
	perMinute := map[int]time.Duration{}
	for _, n := range []int{10, 1000} {
		tick, sync := idleCost(b, n)
		perMinute[n] = ticks*tick + syncs*sync
		b.ReportMetric(float64(tick.Microseconds())/1000, fmt.Sprintf("cpu-ms/tick@%d", n))
		b.ReportMetric(float64(sync.Microseconds())/1000, fmt.Sprintf("cpu-ms/rescan@%d", n))
		b.ReportMetric(float64(perMinute[n].Microseconds())/1000, fmt.Sprintf("cpu-ms/min@%d", n))
	}
	b.ReportMetric(float64(perMinute[1000])/float64(perMinute[10]), "x_1000_vs_10")
}

// idleCost returns the CPU time of one idle tick and one idle rescan over
// n DAG files.
func idleCost(b *testing.B, n int) (tick, sync time.Duration) {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	old := time.Now().Add(-time.Hour)
	for i := range n {
		src := fmt.Sprintf("def build():\n    prev = None\n    for i in range(5):\n        t = bash(task_id = \"t%%d\" %% i, bash_command = \"echo {{ ds }}\")\n        if prev:\n            prev >> t\n        prev = t\n\n"+
			"dag(dag_id = \"dag_%04d\", build = build, schedule = \"@daily\", start_date = \"2100-01-01\")\n", i)
		p := filepath.Join(dir, fmt.Sprintf("dag_%04d.star", i))
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			b.Fatal(err)
		}
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st := testdb.SQLite(b)
	l := loader.New(loader.Options{Logger: logger})
	versions := call.NewVersions(l, func(context.Context, string) (call.Bundle, error) {
		return call.Bundle{}, os.ErrNotExist
	}, 2*n)
	p := &dagprocessor.Processor{Store: st, Parser: dagfolder.New(l, dir, versions), Logger: logger}
	q := memqueue.New()
	defer q.Close()
	sched := scheduler.New(st, q, versions, logger, scheduler.Config{})
	for range 2 { // the second rescan records the files' stats
		if _, err := p.Sync(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if stats, err := sched.Tick(ctx, time.Now()); err != nil || stats != (scheduler.TickStats{}) {
		b.Fatalf("the first tick did %+v (%v); want nothing to do", stats, err)
	}
	const rounds = 20
	cpu0 := cpuTime(b)
	for range rounds {
		if stats, err := sched.Tick(ctx, time.Now()); err != nil || stats != (scheduler.TickStats{}) {
			b.Fatalf("idle tick did %+v (%v)", stats, err)
		}
	}
	cpu1 := cpuTime(b)
	for range rounds {
		stats, err := p.Sync(ctx)
		if err != nil || stats.Changed != 0 || stats.DAGs != n {
			b.Fatalf("idle rescan: %+v (%v)", stats, err)
		}
	}
	cpu2 := cpuTime(b)
	return (cpu1 - cpu0) / rounds, (cpu2 - cpu1) / rounds
}

// cpuTime returns the CPU time (user and system) the process has used.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
