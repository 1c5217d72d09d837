package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/starlark/call"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// benchDAG is a DAG file of n tasks: bash tasks with templates and
// Starlark tasks passing XComs, as a team writes them.
func benchDAG(n int) string {
	var b strings.Builder
	b.WriteString("def transform(ctx, rows, factor = 1):\n    return [r * factor for r in rows]\n\ndef build():\n")
	b.WriteString("    prev = bash(task_id = \"extract\", bash_command = \"./extract.sh {{ ds }}\", retries = 3, retry_delay = \"2m\")\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "    t%d = task(transform, task_id = \"transform_%d\", args = [prev.output], kwargs = {\"factor\": %d})\n    prev >> t%d\n    prev = t%d\n", i, i, i, i, i)
	}
	b.WriteString("\ndag(dag_id = \"bench\", build = build, schedule = \"@hourly\", start_date = \"2024-01-01\")\n")
	return b.String()
}

// benchFolder writes the 20-task DAG file and a file with an error.
func benchFolder(b *testing.B) string {
	dir := b.TempDir()
	for name, content := range map[string]string{"dag.star": benchDAG(20), "broken.star": "x = 1 +\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// BenchmarkLoad compares evaluating a 20-task DAG file in-process only
// with evaluating it in a (warm) parse process first, and a file with an
// error, which only the parse process evaluates. docs/performance.md
// has the figures.
func BenchmarkLoad(b *testing.B) {
	dir := benchFolder(b)
	ctx := context.Background()
	plain := loader.New(loader.Options{})
	pool := &Pool{Command: newPool(&testing.T{}, time.Minute).Command, Max: 1, MemoryLimit: testLimit}
	defer pool.Close()
	isolated := loader.New(loader.Options{Isolator: pool})
	for _, bc := range []struct {
		name string
		l    *loader.Loader
		file string
		dags int
	}{
		{"in-process/dag", plain, "dag.star", 1},
		{"isolated/dag", isolated, "dag.star", 1},
		{"in-process/broken", plain, "broken.star", 0},
		{"isolated/broken", isolated, "broken.star", 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				f := bc.l.LoadPath(ctx, dir, filepath.Join(dir, bc.file))
				if len(f.DAGs) != bc.dags {
					b.Fatalf("%s: %d DAGs, errors %v", bc.file, len(f.DAGs), f.Errors)
				}
			}
		})
	}
}

// BenchmarkChildStart measures starting a parse process and evaluating
// one file in it: the cost of the first file after a child died.
func BenchmarkChildStart(b *testing.B) {
	dir := benchFolder(b)
	ctx := context.Background()
	for b.Loop() {
		pool := &Pool{Command: newPool(&testing.T{}, time.Minute).Command, Max: 1, MemoryLimit: testLimit}
		if res := pool.Check(ctx, loader.CheckRequest{Root: dir, Rel: "broken.star"}); res == nil {
			b.Fatal("no finding for broken.star")
		}
		_ = pool.Close()
	}
}

// BenchmarkCallFunction compares calling a task function in-process with
// calling it in a warm sandbox process (the version loaded there): a
// transform of a pulled XCom (transform_1 of benchDAG), and the function
// of call_test.go that makes six requests to the worker (XCom push and
// pulls, a variable, connections) and logs two lines. docs/performance.md
// has the figures.
func BenchmarkCallFunction(b *testing.B) {
	ctx := context.Background()
	bench := loader.New(loader.Options{}).Load(ctx, loader.BundleSource("dags", map[string]string{"dag.star": benchDAG(20)}), "dag.star")
	if len(bench.DAGs) != 1 {
		b.Fatalf("dag.star: %v", bench.Errors)
	}
	tasks := loadTaskFile(b)
	pool := &Pool{Command: newPool(&testing.T{}, time.Minute).Command, Max: 1, MemoryLimit: testLimit}
	defer pool.Close()
	for _, bc := range []struct {
		name string
		f    *loader.File
		task string
	}{
		{"transform", bench, "transform_1"},
		{"requests", tasks, "work"},
	} {
		args, kwargs := argsOf(bc.f, bc.task)
		key := keyOf(b, bc.f, bc.task)
		for _, mode := range []string{"in-process", "isolated"} {
			r := call.New(bc.f)
			if mode == "isolated" {
				r.Isolator = pool
			}
			b.Run(bc.name+"/"+mode, func(b *testing.B) {
				for b.Loop() {
					var log bytes.Buffer
					c, _ := newCall(bc.f, bc.task, &log)
					if _, err := r.CallFunction(ctx, c, key, args, kwargs); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
