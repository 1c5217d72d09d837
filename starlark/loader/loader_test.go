package loader_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/starlark/builtins"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// bundle loads files given as path → content with default options.
func bundle(t *testing.T, opts loader.Options, files map[string]string, path string) *loader.File {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = discardLogger()
	}
	return loader.New(opts).Load(context.Background(), loader.BundleSource("", files), path)
}

const goodDAG = `
def build():
    a = bash(task_id = "a", bash_command = "echo a")
    b = empty(task_id = "b")
    a >> b

dag(dag_id = "good", build = build)
`

func TestLimits(t *testing.T) {
	t.Parallel()
	loop := "for i in range(1 << 60):\n    pass\n"
	tests := []struct {
		name    string
		opts    loader.Options
		files   map[string]string
		ctx     func() context.Context
		want    string // "file:line:col: message"
		rule    string
		maxTime time.Duration
	}{
		{
			name:    "step limit",
			opts:    loader.Options{MaxSteps: 1000},
			files:   map[string]string{"f.star": loop},
			want:    "f.star:1:1: evaluation exceeded the limit of 1000 steps; is there an unbounded loop?",
			rule:    loader.RuleStepLimit,
			maxTime: time.Second,
		},
		{
			name:    "time limit",
			opts:    loader.Options{MaxSteps: 1 << 62, Timeout: 50 * time.Millisecond},
			files:   map[string]string{"f.star": loop},
			want:    "f.star:1:1: evaluation took longer than the limit of 50ms",
			rule:    loader.RuleTimeout,
			maxTime: 2 * time.Second,
		},
		{
			// A second, so that a loaded machine reaches the module's loop
			// before the limit, which then names the module's line.
			name:  "time limit in a module",
			opts:  loader.Options{MaxSteps: 1 << 62, Timeout: time.Second},
			files: map[string]string{"f.star": `load("//lib/spin.star", "x")`, "lib/spin.star": "x = 1\n" + loop},
			want:  "lib/spin.star:2:1: evaluation took longer than the limit of 1s",
			rule:  loader.RuleTimeout,
		},
		{
			name:  "cancelled by the caller",
			opts:  loader.Options{MaxSteps: 1 << 62},
			files: map[string]string{"f.star": loop},
			ctx: func() context.Context {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
				_ = cancel // released when it fires
				return ctx
			},
			want: "f.star:1:1: evaluation was cancelled: context deadline exceeded",
			rule: loader.RuleImport,
		},
		{
			name:  "file too large",
			opts:  loader.Options{MaxFileSize: 64},
			files: map[string]string{"f.star": strings.Repeat("# padding\n", 10)},
			want:  "f.star:1:1: file too large: f.star has 100 bytes, the limit is 64",
			rule:  loader.RuleFileSize,
		},
		{
			name:  "module too large",
			opts:  loader.Options{MaxFileSize: 64},
			files: map[string]string{"f.star": `load("//big.star", "x")`, "big.star": "x = 1\n" + strings.Repeat("#", 100)},
			want:  "f.star:1:1: cannot load //big.star: file too large: big.star has 106 bytes, the limit is 64",
			rule:  loader.RuleFileSize,
		},
		{
			name:  "missing file",
			files: map[string]string{},
			want:  "f.star:1:1: no such file in the DAG folder",
			rule:  loader.RuleImport,
		},
		{
			name:  "string limit",
			opts:  loader.Options{MaxStringSize: 10},
			files: map[string]string{"f.star": `x = "abcdef" + "ghijkl"` + "\ny = x"},
			want:  "",
		},
		{
			name:  "string limit exceeded",
			opts:  loader.Options{MaxStringSize: 10},
			files: map[string]string{"f.star": "a = \"abcdef\"\nx = a + a"},
			want:  "f.star:2:7: memory limit: string of 12 bytes is larger than the limit of 10 for DAG files",
			rule:  loader.RuleSizeLimit,
		},
		{
			name:  "allocation budget",
			opts:  loader.Options{MaxAlloc: 1 << 20},
			files: map[string]string{"f.star": "def f():\n    s = 'x' * 100000\n    return [s + s for i in range(100)]\nf()"},
			want:  "f.star:3:15: memory limit: DAG files build more than 1048576 bytes of strings and lists",
			rule:  loader.RuleSizeLimit,
		},
		{
			name:  "list.extend counts against the allocation budget",
			opts:  loader.Options{MaxAlloc: 1 << 20},
			files: map[string]string{"f.star": "big = [0] * 10000\nkeep = []\nfor i in range(100):\n    keep.append([].extend(big) or [])"},
			want:  "f.star:4:26: memory limit: DAG files build more than 1048576 bytes of strings and lists",
			rule:  loader.RuleSizeLimit,
		},
		{
			name:  "replace within the limit",
			opts:  loader.Options{MaxStringSize: 10},
			files: map[string]string{"f.star": "x = 'abc'.replace('b', 'xyz')\nok = x == 'axyzc'"},
			want:  "",
		},
		{
			name:  "join, format and % within the limit",
			opts:  loader.Options{MaxStringSize: 16},
			files: map[string]string{"f.star": "a = '-'.join(['ab', 'cd'])\nb = '{}{x}{!r}'.format('q', 'r', x = 1)\nc = '%s/%r/%d' % ('a', 'b', 3)\nd = str([1, 'x'])"},
			want:  "",
		},
		{
			name:  "a Python precision in % teaches round",
			files: map[string]string{"f.star": "x = 3.14159\ny = '%.2f' % x"},
			want:  `f.star:2:12: unknown conversion %. (Starlark's % has no width, precision or flags such as %.2f or %5d: write "%s" % round(x, 2) for two decimals)`,
			rule:  loader.RuleImport,
		},
		{
			name:  "a Python width in % teaches round",
			files: map[string]string{"f.star": "y = 'n=%5d' % 7"},
			want:  `f.star:1:13: unknown conversion %5 (Starlark's % has no width, precision or flags such as %.2f or %5d: write "%s" % round(x, 2) for two decimals)`,
			rule:  loader.RuleImport,
		},
		{
			name:  "an unknown % conversion keeps the interpreter's message",
			files: map[string]string{"f.star": "y = '%z' % 7"},
			want:  `f.star:1:10: unknown conversion %z`,
			rule:  loader.RuleImport,
		},
		{
			name:  "a Python format spec teaches round",
			files: map[string]string{"f.star": "y = '{:.2f}'.format(3.14159)"},
			want:  `f.star:1:20: format spec features not supported in replacement fields: .2f (Starlark's format has no format spec such as {:.2f} or {:>5}: write "{}".format(round(x, 2)) for two decimals)`,
			rule:  loader.RuleImport,
		},
		{
			name:  "%r and round work",
			files: map[string]string{"f.star": "y = '%r %s' % (\"it's\", round(2.0 / 3, 2))\nif y != '\"it\\'s\" 0.67':\n    fail(y)"},
			want:  "",
		},
		{
			name:  "a receiver without the method",
			files: map[string]string{"f.star": "d = {}\ny = d.replace(1)"},
			want:  "f.star:2:14: dict has no .replace field or method",
			rule:  loader.RuleImport,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}
			opts := tt.opts
			opts.Logger = discardLogger()
			start := time.Now()
			f := loader.New(opts).Load(ctx, loader.BundleSource("", tt.files), "f.star")
			if tt.maxTime > 0 && time.Since(start) > tt.maxTime {
				t.Errorf("took %s, want at most %s", time.Since(start), tt.maxTime)
			}
			errs, rules := format(f.Errors)
			if tt.want == "" {
				if len(errs) != 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0] != tt.want || rules[0] != tt.rule {
				t.Fatalf("errors = %q %v (%d steps, %s, %d DAGs, sources %v)\n want %q [%s]", errs, rules, f.Steps, f.Duration, len(f.DAGs), slices.Sorted(maps.Keys(f.Sources)), tt.want, tt.rule)
			}
		})
	}
}

func TestModules(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{ReplaceAttr: dropTime}))
	files := map[string]string{
		"dags/main.star": `
load("//lib/a.star", "a")
load("//lib/b.star", "b")
print("main sees", a, b)
def build():
    empty(task_id = a + b)
dag(dag_id = "main", build = build)
`,
		"lib/a.star":      "load(\"//lib/common.star\", \"c\")\na = c + \"a\"\n",
		"lib/b.star":      "load(\"//lib/./common.star\", \"c\")\nb = c + \"b\"\n",
		"lib/common.star": "print(\"common loaded\")\nc = \"c\"\n",
		"lib/unused.star": "boom = 1 // 0\n",
	}
	f := loader.New(loader.Options{Logger: logger}).Load(context.Background(), loader.BundleSource("", files), "dags/main.star")
	if !f.OK() {
		t.Fatalf("errors: %v", f.Errors)
	}
	if got := f.DAGs[0].TaskIDs(); len(got) != 1 || got[0] != "cacb" {
		t.Errorf("task ids = %v, want [cacb]", got)
	}
	if n := strings.Count(logs.String(), "common loaded"); n != 1 {
		t.Errorf("common.star ran %d times, want once (a diamond load is cached):\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), `msg="main sees ca cb"`) || !strings.Contains(logs.String(), "pos=dags/main.star:4:6") {
		t.Errorf("print output is not logged with its position:\n%s", logs.String())
	}
	var paths []string
	for p := range f.Sources {
		paths = append(paths, p)
	}
	if len(paths) != 4 || f.Sources["lib/unused.star"] != "" {
		t.Errorf("sources = %v, want the file and the 3 modules it loads", paths)
	}

	// The hash covers the modules: changing one changes it.
	files2 := map[string]string{}
	for k, v := range files {
		files2[k] = v
	}
	files2["lib/common.star"] = "c = \"C\"\n"
	f2 := bundle(t, loader.Options{}, files2, "dags/main.star")
	if f2.Hash == f.Hash {
		t.Errorf("hash did not change when a loaded module changed")
	}
	if f3 := bundle(t, loader.Options{}, files, "dags/main.star"); f3.Hash != f.Hash {
		t.Errorf("hash of the same sources differs: %s vs %s", f3.Hash, f.Hash)
	}
	if f.DAGs[0].SourceHash != f.Hash {
		t.Errorf("DAG.SourceHash = %q, want the file hash %q", f.DAGs[0].SourceHash, f.Hash)
	}
}

// dropTime removes the time attribute from log records for stable output.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.Attr{}
	}
	return a
}

func TestBundleLoadsLikeDisk(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "etl.star", `
load("//lib/steps.star", "step")
def check(ctx):
    return "b"
def build():
    a = step("a")
    c = branch(check, task_id = "c", on_failure_callback = check)
    a >> c >> step("b")
dag(dag_id = "etl", build = build, schedule = "@daily", start_date = "2024-01-01")
`)
	write(t, dir, "lib/steps.star", "def step(name):\n    return bash(task_id = name, bash_command = 'echo ' + name)\n")
	l := loader.New(loader.Options{Logger: discardLogger()})
	disk := l.Load(context.Background(), loader.DirSource(dir), "etl.star")
	if !disk.OK() {
		t.Fatalf("errors: %v", disk.Errors)
	}
	again := l.Load(context.Background(), loader.BundleSource(disk.Dir, disk.Sources), disk.Path)
	if again.Hash != disk.Hash || again.Name != disk.Name {
		t.Errorf("bundle: hash %s name %s, disk: hash %s name %s", again.Hash, again.Name, disk.Hash, disk.Name)
	}
	if a, b := describe(again), describe(disk); a != b {
		t.Errorf("bundle and disk differ:\n%s\n---\n%s", a, b)
	}
	if a, b := fmt.Sprint(again.FunctionKeys()), fmt.Sprint(disk.FunctionKeys()); a != b || a != "[etl/c etl/c:on_failure_callback]" {
		t.Errorf("function keys: bundle %s, disk %s", a, b)
	}
	if fn, ok := again.Function("etl/c"); !ok || fn.Name() != "check" {
		t.Errorf("Function(etl/c) = %v, %v", fn, ok)
	}
}

// describe summarises the DAGs of a file: tasks with positions and edges.
func describe(f *loader.File) string {
	var b strings.Builder
	for _, d := range f.DAGs {
		fmt.Fprintf(&b, "%s %s %s\n", d.ID, d.Pos, d.Schedule)
		for _, t := range d.Tasks() {
			fmt.Fprintf(&b, "  %s %s %s %v %v\n", t.ID, t.Operator, t.Pos, t.Downstream, t.Config)
		}
	}
	return b.String()
}

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadPathRoot(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	dagsDir := filepath.Join(root, "dags")
	write(t, dagsDir, "team/etl.star", "load(\"//lib/x.star\", \"x\")\ndef build():\n    empty(task_id = x)\ndag(dag_id = \"inside\", build = build)\n")
	write(t, dagsDir, "lib/x.star", "x = \"from_dags_root\"\n")
	write(t, root, "elsewhere/one.star", "load(\"//lib/x.star\", \"x\")\ndef build():\n    empty(task_id = x)\ndag(dag_id = \"outside\", build = build)\n")
	write(t, root, "elsewhere/lib/x.star", "x = \"from_own_folder\"\n")
	l := loader.New(loader.Options{Logger: discardLogger()})

	in := l.LoadPath(context.Background(), dagsDir, filepath.Join(dagsDir, "team", "etl.star"))
	out := l.LoadPath(context.Background(), dagsDir, filepath.Join(root, "elsewhere", "one.star"))
	for _, tc := range []struct {
		f        *loader.File
		task     string
		name     string
		path     string
		fileName string
	}{
		{in, "from_dags_root", filepath.Join(dagsDir, "team", "etl.star"), "team/etl.star", filepath.Join(dagsDir, "team", "etl.star")},
		{out, "from_own_folder", filepath.Join(root, "elsewhere", "one.star"), "one.star", filepath.Join(root, "elsewhere", "one.star")},
	} {
		if !tc.f.OK() {
			t.Fatalf("%s: %v", tc.name, tc.f.Errors)
		}
		if got := tc.f.DAGs[0].TaskIDs()[0]; got != tc.task {
			t.Errorf("%s: task = %s, want %s", tc.name, got, tc.task)
		}
		if tc.f.Path != tc.path || tc.f.Name != tc.fileName || tc.f.DAGs[0].Pos.File != tc.fileName {
			t.Errorf("%s: path %q name %q pos %s", tc.name, tc.f.Path, tc.f.Name, tc.f.DAGs[0].Pos)
		}
	}
}

func TestPanicsBecomeErrors(t *testing.T) {
	t.Parallel()
	panicky := func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		panic("kaboom")
	}
	opts := loader.Options{Logger: discardLogger(), Predeclared: starlark.StringDict{
		"safe_boom": builtins.Safe("safe_boom", panicky),
		"raw_boom":  starlark.NewBuiltin("raw_boom", panicky),
	}}
	l := loader.New(opts)
	f := l.Load(context.Background(), loader.BundleSource("", map[string]string{"f.star": "x = 1\nsafe_boom()\n"}), "f.star")
	if errs, _ := format(f.Errors); len(errs) != 1 || errs[0] != "f.star:2:10: safe_boom: internal error: kaboom" {
		t.Errorf("wrapped builtin: %q", errs)
	}
	f = l.Load(context.Background(), loader.BundleSource("", map[string]string{"f.star": "raw_boom()\n"}), "f.star")
	if errs, _ := format(f.Errors); len(errs) != 1 || errs[0] != "f.star:1:1: internal error while evaluating the file: kaboom" {
		t.Errorf("unwrapped builtin: %q", errs)
	}
}

func TestConcurrentLoads(t *testing.T) {
	t.Parallel()
	l := loader.New(loader.Options{Logger: discardLogger()})
	src := loader.BundleSource("", map[string]string{"f.star": goodDAG})
	want := describe(l.Load(context.Background(), src, "f.star"))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				if got := describe(l.Load(context.Background(), src, "f.star")); got != want {
					t.Errorf("concurrent load differs:\n%s", got)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestFindingsAreSortedAndComplete(t *testing.T) {
	t.Parallel()
	f := bundle(t, loader.Options{}, map[string]string{"f.star": `
def bad():
    a = empty(task_id = "a", retries = -1)
    b = empty(task_id = "b")
    a >> b >> a

def good():
    empty(task_id = "ok")

dag(dag_id = "bad", build = bad)
dag(dag_id = "good", build = good)
`}, "f.star")
	errs, rules := format(f.Errors)
	want := []string{
		`f.star:3:14: task "a": retries must not be negative, got -1`,
		`f.star:5:12: DAG "bad" has a cycle: a >> b >> a`,
	}
	if strings.Join(errs, "\n") != strings.Join(want, "\n") || fmt.Sprint(rules) != "[invalid-value cycle]" {
		t.Errorf("errors:\n%s\n%v\nwant:\n%s", strings.Join(errs, "\n"), rules, strings.Join(want, "\n"))
	}
	if len(f.DAGs) != 1 || f.DAGs[0].ID != "good" {
		t.Errorf("valid DAGs = %v, want only good", f.DAGs)
	}
	for _, d := range f.DAGs {
		if got := d.Finalize(); len(got) != 0 {
			t.Errorf("a returned DAG has findings: %v", got)
		}
	}
}

func TestDuplicateDAGKeepsItsFunctions(t *testing.T) {
	t.Parallel()
	f := bundle(t, loader.Options{}, map[string]string{"f.star": `
def first():
    return 1

def second():
    return 2

def build1():
    task(first, task_id = "t")

def build2():
    task(second, task_id = "t")

dag(dag_id = "same", build = build1)
dag(dag_id = "same", build = build2)
`}, "f.star")
	if len(f.DAGs) != 1 || len(f.Errors) != 1 {
		t.Fatalf("DAGs %d, errors %v", len(f.DAGs), f.Errors)
	}
	if fn, ok := f.Function("same/t"); !ok || fn.Name() != "first" {
		t.Errorf("function same/t = %v, want first (the valid DAG's)", fn)
	}
}
