package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/web/auth"
)

// bigDAGs writes n one-task DAG files, a few with runs, for the DAG list.
func bigDAGs(b *testing.B, n int) *env {
	dir := b.TempDir()
	for i := range n {
		src := fmt.Sprintf("dag(dag_id = \"dag_%04d\", build = lambda: empty(task_id = \"t\"), schedule = \"@daily\", start_date = \"2024-01-01\", tags = [\"team%d\", \"bench\"])\n", i, i%10)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("dag_%04d.star", i)), []byte(src), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	e := newEnv(b, dir)
	for i := 0; i < n; i += 10 {
		e.trigger(b, fmt.Sprintf("dag_%04d", i), day)
	}
	return e
}

// wideDAG writes one DAG of n tasks in a few chains, with runs runs whose
// task instances have mixed states.
func wideDAG(b *testing.B, n, runs int) *env {
	var src strings.Builder
	src.WriteString("def build():\n    prev = None\n")
	fmt.Fprintf(&src, "    for i in range(%d):\n", n)
	src.WriteString("        t = bash(task_id = \"task_\" + str(1000 + i)[1:], bash_command = \"echo {{ ds }}\")\n")
	src.WriteString("        if prev != None and i % 20 != 0:\n            prev >> t\n        prev = t\n\n")
	src.WriteString("dag(dag_id = \"wide\", build = build, start_date = \"2024-01-01\")\n")
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "wide.star"), []byte(src.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	e := newEnv(b, dir)
	ctx := context.Background()
	states := []dags.TaskState{dags.TaskStateSuccess, dags.TaskStateFailed, dags.TaskStateSkipped, dags.TaskStateUpstreamFailed}
	for r := range runs {
		run := e.trigger(b, "wide", day.Add(time.Duration(r)*time.Hour))
		var ps []*store.TaskInstanceSetStateParams
		for i := range n {
			ps = append(ps, &store.TaskInstanceSetStateParams{
				Key: store.TaskInstanceKey{DagID: "wide", RunID: run.RunID, TaskID: fmt.Sprintf("task_%03d", i), MapIndex: store.NoMapIndex},
				To:  states[(i+r)%len(states)], TryNumber: 1, StartDate: day, EndDate: day.Add(time.Second),
			})
		}
		if _, err := e.store.TaskInstancesSetStates(ctx, ps); err != nil {
			b.Fatal(err)
		}
	}
	return e
}

// benchPage serves target b.N times and reports the page size and the
// CPU time per page.
func benchPage(b *testing.B, h http.Handler, target, want string) {
	code, body := get(b, h, target)
	if code != http.StatusOK || !strings.Contains(body, want) {
		b.Fatalf("%s: status %d, lacks %q", target, code, want)
	}
	cpu := processCPU()
	for b.Loop() {
		code, _ := get(b, h, target)
		if code != http.StatusOK {
			b.Fatalf("status %d", code)
		}
	}
	b.ReportMetric(float64(len(body))/1024, "KiB/page")
	// The process's CPU time per page is steadier than wall time on a
	// loaded machine (it leaves out a PostgreSQL server's own).
	if cpu >= 0 && b.N > 0 {
		b.ReportMetric(float64(processCPU()-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	}
}

// BenchmarkDAGList renders the last page of the DAG list of 1,000 DAGs
// (target: < 100 ms).
func BenchmarkDAGList(b *testing.B) {
	e := bigDAGs(b, 1000)
	benchPage(b, e.as(auth.RoleOp), "/dags?page=9", `data-dag="dag_0999"`)
}

// BenchmarkGrid renders the grid of a 200-task DAG with 25 runs (target:
// < 100 ms).
func BenchmarkGrid(b *testing.B) {
	e := wideDAG(b, 200, 25)
	benchPage(b, e.as(auth.RoleOp), "/dags/wide/grid", `data-task="task_199"`)
}

// BenchmarkGraph renders the graph page of a 200-task DAG.
func BenchmarkGraph(b *testing.B) {
	e := wideDAG(b, 200, 2)
	benchPage(b, e.as(auth.RoleOp), "/dags/wide/graph", `"task_199"`)
}
