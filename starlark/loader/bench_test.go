package loader_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/starlark/loader"
)

// generatedDAG returns a realistic DAG file with n tasks: bash tasks with
// templates and retries, Starlark tasks passing XComs, a group, a branch.
func generatedDAG(id string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "def transform(ctx, rows, factor = 1):\n    return [r * factor for r in rows]\n\n")
	fmt.Fprintf(&b, "def choose(ctx):\n    return \"loads\" if ctx.params.get(\"full\") else \"skip\"\n\n")
	fmt.Fprintf(&b, "def build():\n")
	fmt.Fprintf(&b, "    start = bash(task_id = \"extract\", bash_command = \"./extract.sh {{ ds }} {{ params.region }}\", retries = 3, retry_delay = \"2m\")\n")
	fmt.Fprintf(&b, "    prev = start\n")
	tasks := 1
	for tasks < n-4 {
		fmt.Fprintf(&b, "    t%d = task(transform, task_id = \"transform_%d\", args = [prev.output], kwargs = {\"factor\": %d})\n", tasks, tasks, tasks)
		fmt.Fprintf(&b, "    prev >> t%d\n    prev = t%d\n", tasks, tasks)
		tasks++
	}
	fmt.Fprintf(&b, "    def loads():\n        chain(empty(task_id = \"load_0\"), bash(task_id = \"load_1\", bash_command = \"echo load\"))\n")
	fmt.Fprintf(&b, "    g = group(\"loads\", loads, default_args = {\"pool\": \"db\"})\n")
	fmt.Fprintf(&b, "    pick = branch(choose, task_id = \"pick\")\n")
	fmt.Fprintf(&b, "    skip = empty(task_id = \"skip\")\n")
	fmt.Fprintf(&b, "    prev >> pick >> [g, skip]\n\n")
	fmt.Fprintf(&b, "dag(\n    dag_id = %q,\n    build = build,\n    schedule = \"@hourly\",\n    start_date = \"2024-01-01\",\n    default_args = {\"retries\": 1, \"execution_timeout\": \"1h\"},\n    params = {\"region\": \"eu\", \"full\": False},\n    tags = [\"generated\"],\n)\n", id)
	return b.String()
}

// writeFolder writes files generated DAG files of 20 tasks each.
func writeFolder(tb testing.TB, files int) string {
	tb.Helper()
	dir := tb.TempDir()
	for i := 0; i < files; i++ {
		p := filepath.Join(dir, fmt.Sprintf("team%02d", i%10), fmt.Sprintf("dag_%04d.star", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(generatedDAG(fmt.Sprintf("dag_%04d", i), 20)), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

func TestGeneratedDAG(t *testing.T) {
	t.Parallel()
	f := bundle(t, loader.Options{}, map[string]string{"g.star": generatedDAG("g", 20)}, "g.star")
	if !f.OK() || len(f.DAGs) != 1 || f.DAGs[0].Len() != 20 {
		t.Fatalf("generated DAG: errors %v, %d DAGs", f.Errors, len(f.DAGs))
	}
}

// BenchmarkBagLoad1000 measures a cold Refresh of a folder of 1,000 DAG
// files of 20 tasks each, loaded in parallel (one op = the whole folder).
func BenchmarkBagLoad1000(b *testing.B) {
	dir := writeFolder(b, 1000)
	l := loader.New(loader.Options{Logger: discardLogger()})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bag := loader.NewBag(l, loader.DirSource(dir))
		stats, err := bag.Refresh(context.Background())
		if err != nil || stats.Evaluated != 1000 || len(bag.DAGs()) != 1000 {
			b.Fatalf("refresh: %v %+v, %d DAGs, findings %v", err, stats, len(bag.DAGs()), bag.Findings())
		}
	}
}

// BenchmarkBagRefreshUnchanged measures a Refresh of 1,000 unchanged files
// written an hour ago: a stat of each, finding every one in the cache.
func BenchmarkBagRefreshUnchanged(b *testing.B) {
	dir := writeFolder(b, 1000)
	old := time.Now().Add(-time.Hour)
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, old, old)
	})
	if err != nil {
		b.Fatal(err)
	}
	bag := loader.NewBag(loader.New(loader.Options{Logger: discardLogger()}), loader.DirSource(dir))
	for range 2 { // the second records the stats
		if _, err := bag.Refresh(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		stats, err := bag.Refresh(context.Background())
		if err != nil || stats.Evaluated != 0 {
			b.Fatalf("refresh: %v %+v", err, stats)
		}
	}
}

// BenchmarkBagMemory1000 reports the live heap held by a Bag of 1,000
// parsed DAG files of 20 tasks (metric heap-bytes).
func BenchmarkBagMemory1000(b *testing.B) {
	dir := writeFolder(b, 1000)
	l := loader.New(loader.Options{Logger: discardLogger()})
	var held int64
	for i := 0; i < b.N; i++ {
		before := liveHeap()
		bag := loader.NewBag(l, loader.DirSource(dir))
		if _, err := bag.Refresh(context.Background()); err != nil {
			b.Fatal(err)
		}
		held = liveHeap() - before
		runtime.KeepAlive(bag)
	}
	b.ReportMetric(float64(held), "heap-bytes")
}

func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// BenchmarkLoadFile measures one evaluation of a 20-task DAG file.
func BenchmarkLoadFile(b *testing.B) {
	l := loader.New(loader.Options{Logger: discardLogger()})
	src := loader.BundleSource("", map[string]string{"g.star": generatedDAG("g", 20)})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if f := l.Load(context.Background(), src, "g.star"); !f.OK() {
			b.Fatal(f.Errors)
		}
	}
}
