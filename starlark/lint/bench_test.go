package lint

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
)

// benchFile returns a 20-task DAG file: its source (with a load() and a
// suppression comment when withLoad is set) and the DAG the loader would
// build from it, a chain with a few warnings to report.
func benchFile(b *testing.B, withLoad bool) File {
	b.Helper()
	var src strings.Builder
	line := 1
	if withLoad {
		src.WriteString("load(\"//lib/common.star\", \"default_args\", \"notify\")\n")
		line++
	}
	src.WriteString("\ndef etl():\n")
	line += 2
	d := dags.New("etl", dags.Pos{File: path, Line: 2 + 20 + 3, Col: 1})
	d.Schedule = dags.MustParseSchedule("@daily")
	d.StartDate = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	d.Catchup = true
	var prev string
	for i := range 20 {
		id := fmt.Sprintf("step_%02d", i)
		if withLoad && i == 5 {
			src.WriteString("    # starflow: disable=retries-without-retry-delay\n")
			line++
		}
		fmt.Fprintf(&src, "    %s = bash(task_id = %q, bash_command = \"./run.sh %d\", retries = 2)\n", id, id, i)
		t := dags.NewTask(id, dags.OperatorBash, dags.Pos{File: path, Line: line, Col: 20})
		t.Retries = 2
		d.AddTask(t)
		if prev != "" {
			d.Connect(prev, id, dags.Pos{File: path, Line: line, Col: 5})
		}
		prev = id
		line++
	}
	src.WriteString("\ndag(dag_id = \"etl\", build = etl, schedule = \"@daily\", start_date = \"2020-01-01\", catchup = True, default_args = default_args)\n")
	if f := d.Finalize(); len(f) != 0 {
		b.Fatalf("bench DAG does not validate: %v", f)
	}
	return File{Path: path, Source: []byte(src.String()), DAGs: []*dags.DAG{d}}
}

// BenchmarkCheck lints a 20-task DAG file. "plain" has no load() and no
// suppression comment, so the source is not parsed; "load" parses it for
// unused-load; "load-tree" is given the loader's syntax tree instead. The
// catchup-far-past rule fires in these three (a daily schedule over four
// years: about 1500 cron ticks counted), not in "no-catchup".
func BenchmarkCheck(b *testing.B) {
	for _, withLoad := range []bool{false, true} {
		name := "plain"
		if withLoad {
			name = "load"
		}
		b.Run(name, func(b *testing.B) {
			f := benchFile(b, withLoad)
			opts := Options{Now: now}
			want := 20 + 1 // a retry warning per task, one catchup
			if withLoad {
				want = 19 + 1 + 1 // one retry warning suppressed, notify unused
			}
			if got := len(Check(f, opts)); got != want {
				b.Fatalf("Check found %d findings, want %d: %q", got, want, strs(Check(f, opts)))
			}
			b.ReportAllocs()
			for b.Loop() {
				Check(f, opts)
			}
		})
	}
	b.Run("load-tree", func(b *testing.B) {
		f := benchFile(b, true)
		tree, err := dialect().Parse(f.Path, f.Source, 0)
		if err != nil {
			b.Fatal(err)
		}
		f.Syntax = tree
		opts := Options{Now: now}
		if got := len(Check(f, opts)); got != 21 {
			b.Fatalf("Check found %d findings, want 21", got)
		}
		b.ReportAllocs()
		for b.Loop() {
			Check(f, opts)
		}
	})
	b.Run("no-catchup", func(b *testing.B) {
		f := benchFile(b, false)
		f.DAGs[0].Catchup = false
		opts := Options{Now: now}
		b.ReportAllocs()
		for b.Loop() {
			Check(f, opts)
		}
	})
}

// BenchmarkParse parses the same file, the floor of what loading costs, to
// compare Check with.
func BenchmarkParse(b *testing.B) {
	f := benchFile(b, true)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dialect().Parse(f.Path, f.Source, 0); err != nil {
			b.Fatal(err)
		}
	}
}
