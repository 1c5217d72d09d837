package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/localrun"
	"github.com/starflow-dev/starflow/starlark/call"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// loadBenchDAG writes src to a temporary DAG file and loads it.
func loadBenchDAG(b *testing.B, src string) (*loader.File, *dags.DAG) {
	b.Helper()
	dir := b.TempDir()
	path := filepath.Join(dir, "bench.star")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	f := loader.New(loader.Options{}).LoadPath(context.Background(), dir, path)
	if len(f.Errors) > 0 || len(f.DAGs) != 1 {
		b.Fatalf("load: %v", f.Errors)
	}
	return f, f.DAGs[0]
}

func runBenchDAG(b *testing.B, f *loader.File, d *dags.DAG) {
	b.Helper()
	runBenchDAGLogs(b, f, d, false)
}

// runBenchDAGLogs runs d as runBenchDAG does; with logs, every run writes
// its task logs into a new folder, as test-dag does.
func runBenchDAGLogs(b *testing.B, f *loader.File, d *dags.DAG, logs bool) {
	b.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts := localrun.Options{Runner: newTryRunner(logger, nil), Functions: call.New(f)}
	info, err := manualRun(d, "2024-01-01", "")
	if err != nil {
		b.Fatal(err)
	}
	logRoot := b.TempDir()
	i := 0
	for b.Loop() {
		if logs {
			i++
			opts.LogDir = filepath.Join(logRoot, fmt.Sprint(i))
		}
		res, err := localrun.Run(context.Background(), d, info, opts)
		if err != nil || res.State != dags.DagRunStateSuccess {
			b.Fatalf("run: %v %v", err, res.State)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/run")
	b.ReportMetric(float64(d.Len())*float64(b.N)/b.Elapsed().Seconds(), "TI/s")
}

// BenchmarkFanOutTask1000 runs a DAG of 1,000 independent Starlark `task`
// functions (target: under 100 ms a run).
func BenchmarkFanOutTask1000(b *testing.B) {
	f, d := loadBenchDAG(b, fanOutTask1000)
	runBenchDAG(b, f, d)
}

const fanOutTask1000 = `
def noop(ctx):
    return ctx.task_id

def build():
    for i in range(1000):
        task(noop, task_id = "t%d" % i)

dag(dag_id = "fan_out", build = build)
`

// BenchmarkFanOutTask1000Logs is BenchmarkFanOutTask1000 with a log file
// per task in a new folder each run, as test-dag writes them (target:
// 5,000 TI/s).
func BenchmarkFanOutTask1000Logs(b *testing.B) {
	f, d := loadBenchDAG(b, fanOutTask1000)
	runBenchDAGLogs(b, f, d, true)
}

// BenchmarkChainEmpty1000DAGFile runs a 1,000-task chain of empty tasks
// loaded from a DAG file (target: under 100 ms a run).
func BenchmarkChainEmpty1000DAGFile(b *testing.B) {
	f, d := loadBenchDAG(b, `
def build():
    prev = None
    for i in range(1000):
        t = empty(task_id = "t%d" % i)
        if prev:
            prev >> t
        prev = t

dag(dag_id = "chain", build = build)
`)
	runBenchDAG(b, f, d)
}

// BenchmarkBash1000VsXargs runs 1,000 bash tasks running `true`, 16 at a
// time, and the same 1,000 `bash -c true` through `xargs -P 16`; the
// x_xargs metric is Starflow's time over xargs' (target: under 2).
func BenchmarkBash1000VsXargs(b *testing.B) {
	const n, parallel = 1000, 16
	f, d := loadBenchDAG(b, fmt.Sprintf(`
def build():
    for i in range(%d):
        bash(task_id = "t%%d" %% i, bash_command = "true", cwd = "/tmp")

dag(dag_id = "bash_fan_out", build = build, max_active_tasks = %d)
`, n, parallel))
	xargsTime := timeXargs(b, n, parallel)
	start := time.Now()
	runBenchDAG(b, f, d)
	perRun := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(float64(xargsTime.Microseconds())/1000, "ms_xargs")
	b.ReportMetric(float64(perRun)/float64(xargsTime), "x_xargs")
}

func timeXargs(b *testing.B, n, parallel int) time.Duration {
	b.Helper()
	input := strings.Repeat("true\n", n)
	best := time.Duration(0)
	for range 3 {
		cmd := exec.Command("xargs", "-P", fmt.Sprint(parallel), "-I{}", "bash", "-c", "{}")
		cmd.Stdin = strings.NewReader(input)
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("xargs: %v %s", err, out)
		}
		if d := time.Since(start); best == 0 || d < best {
			best = d
		}
	}
	return best
}

// BenchmarkLint1000Files lints a folder of 1,000 generated DAG files of 20
// tasks each through the CLI (target: under 1 s).
func BenchmarkLint1000Files(b *testing.B) {
	dir := b.TempDir()
	for i := range 1000 {
		var src strings.Builder
		src.WriteString("def build():\n    prev = None\n")
		fmt.Fprintf(&src, "    for i in range(20):\n        t = bash(task_id = \"step_%%d\" %% i, bash_command = \"echo {{ ds }} %d\", retries = 1, retry_delay = \"1m\")\n", i)
		src.WriteString("        if prev:\n            prev >> t\n        prev = t\n\n")
		fmt.Fprintf(&src, "dag(dag_id = \"dag_%04d\", build = build, schedule = \"@daily\", start_date = \"2024-01-01\")\n", i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("dag_%04d.star", i)), []byte(src.String()), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if code := run([]string{"starflow", "lint", dir}, io.Discard, io.Discard); code != exitOK {
			b.Fatalf("lint exit %d", code)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/1000files")
}

// BenchmarkLint1000RealisticFiles lints, through the CLI, a folder of 1,000
// DAG files of 20 tasks as teams write them: a bash task with templates and
// retries, Starlark task functions passing their outputs (XCom args) down
// a chain, a task group with default_args, a branch, params and
// default_args on the DAG (target: under 1 s).
func BenchmarkLint1000RealisticFiles(b *testing.B) {
	dir := b.TempDir()
	for i := range 1000 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("dag_%04d.star", i)), []byte(realisticDAG(fmt.Sprintf("dag_%04d", i))), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		var errOut strings.Builder
		if code := run([]string{"starflow", "lint", dir}, io.Discard, &errOut); code != exitOK {
			b.Fatalf("lint exit %d: %s", code, errOut.String())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/1000files")
}

// realisticDAG returns a 20-task DAG file: extract (bash), 15 task
// functions each taking the previous one's output, a branch choosing
// between a group of two loads and a skip.
func realisticDAG(id string) string {
	var b strings.Builder
	b.WriteString("def transform(ctx, rows, factor = 1):\n    return [r * factor for r in rows]\n\n")
	b.WriteString("def choose(ctx):\n    return \"loads\" if ctx.params.get(\"full\") else \"skip\"\n\n")
	b.WriteString("def build():\n")
	b.WriteString("    prev = bash(task_id = \"extract\", bash_command = \"./extract.sh {{ ds }} {{ params.region }}\", retries = 3, retry_delay = \"2m\")\n")
	for i := 1; i < 16; i++ {
		fmt.Fprintf(&b, "    t%d = task(transform, task_id = \"transform_%d\", args = [prev.output], kwargs = {\"factor\": %d})\n", i, i, i)
		fmt.Fprintf(&b, "    prev >> t%d\n    prev = t%d\n", i, i)
	}
	b.WriteString("    def loads():\n        chain(empty(task_id = \"load_0\"), bash(task_id = \"load_1\", bash_command = \"echo load\"))\n")
	b.WriteString("    g = group(\"loads\", loads, default_args = {\"pool\": \"db\"})\n")
	b.WriteString("    pick = branch(choose, task_id = \"pick\")\n")
	b.WriteString("    skip = empty(task_id = \"skip\")\n")
	b.WriteString("    prev >> pick >> [g, skip]\n\n")
	fmt.Fprintf(&b, "dag(\n    dag_id = %q,\n    build = build,\n    schedule = \"@hourly\",\n    start_date = \"2024-01-01\",\n    default_args = {\"retries\": 1, \"retry_delay\": \"5m\", \"execution_timeout\": \"1h\"},\n    params = {\"region\": \"eu\", \"full\": False},\n    tags = [\"generated\"],\n)\n", id)
	return b.String()
}
