package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.starlark.net/syntax"

	"github.com/starflow-dev/starflow/starlark/loader"
)

// childEnv makes the test binary a parse process (TestMain).
const childEnv = "STARFLOW_SANDBOX_TEST_CHILD"

// testLimit is the children's memory limit in the tests: small, so a
// file exhausts it in a fraction of a second.
const testLimit = 256 << 20

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		newLoader := func(onPos func(syntax.Position)) *loader.Loader {
			return loader.New(loader.Options{OnPosition: onPos, Timeout: time.Minute})
		}
		if err := Serve(context.Background(), newLoader, os.Stdin, os.Stdout, Limits{Memory: testLimit}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// newPool returns a pool whose children are this test binary.
// timeout is the pool's time limit: a loaded machine (2 cores, dozens of
// processes) must still finish small_lists.star on memory, not on time.
func newPool(t *testing.T, timeout time.Duration) *Pool {
	t.Helper()
	p := &Pool{
		Command: func() *exec.Cmd {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"=1")
			return cmd
		},
		Max:         2,
		Timeout:     timeout,
		MemoryLimit: testLimit,
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// The files of the tests: the two-line file of issue 13, which the
// in-process budget stops in the child, and files that only the child's
// limits stop.
var files = map[string]string{
	"replace.star": "s = \"x\" * (1 << 22)\ns.replace(\"x\", s)\n",
	// Many small lists: each is under every per-value limit and under
	// the size from which the in-process budget counts a total.
	"small_lists.star": "def f():\n    out = []\n    for i in range(1000000):\n        out.append([0] * 4000)\n    return out\nf()\n",
	// json.encode of a structure that shares itself: one call that
	// never returns, so no step or time limit of the interpreter sees it.
	"shared.star": "def f():\n    l = [1]\n    for i in range(40):\n        l = [l, l]\n    return json.encode(l)\nf()\n",
	"good.star":   "dag(dag_id = \"good\", build = lambda: bash(task_id = \"t\", bash_command = \"true\"))\n",
	"broken.star": "x = 1 +\n",
}

func writeFiles(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestPoolStopsFilesThatExhaustMemoryOrTime runs each file in a child
// and checks the finding's position, rule and message, and that the
// pool goes on serving after its children die.
func TestPoolStopsFilesThatExhaustMemoryOrTime(t *testing.T) {
	dir := writeFiles(t)
	p := newPool(t, time.Minute)
	quick := newPool(t, 3*time.Second)
	ctx := context.Background()
	for _, tc := range []struct {
		file, pos, rule, msg string
	}{
		{"replace.star", "replace.star:2:10", loader.RuleSizeLimit, "memory limit"},
		{"small_lists.star", "small_lists.star:4:24", loader.RuleSizeLimit, "memory limit"},
		{"good.star", "", "", ""},
		{"shared.star", "shared.star:", loader.RuleTimeout, "time limit"},
		{"broken.star", "broken.star:1:8", loader.RuleSyntax, "got newline"},
		{"good.star", "", "", ""},
	} {
		t.Run(tc.file, func(t *testing.T) {
			start := time.Now()
			pool := p
			if tc.rule == loader.RuleTimeout {
				pool = quick
			}
			res := pool.Check(ctx, loader.CheckRequest{Root: dir, Rel: tc.file})
			t.Logf("%s: %v in %s", tc.file, res, time.Since(start))
			if tc.rule == "" {
				if res != nil {
					t.Fatalf("a good file: got %+v, want nil (evaluate in-process)", res)
				}
				return
			}
			if res == nil || len(res.Errors) != 1 {
				t.Fatalf("got %+v, want one finding", res)
			}
			f := res.Errors[0]
			if !strings.HasPrefix(f.Pos.String(), tc.pos) || f.Rule != tc.rule || !strings.Contains(f.Message, tc.msg) {
				t.Fatalf("got %s, want %s... [%s] with %q", f.Error(), tc.pos, tc.rule, tc.msg)
			}
		})
	}
}

// TestLoaderWithPool evaluates through a Loader: a file that kills its
// child is an import error with no DAG, a good file has its DAG, and the
// loader's process is alive to tell.
func TestLoaderWithPool(t *testing.T) {
	dir := writeFiles(t)
	l := loader.New(loader.Options{Isolator: newPool(t, time.Minute)})
	ctx := context.Background()
	bad := l.LoadPath(ctx, dir, filepath.Join(dir, "small_lists.star"))
	if len(bad.DAGs) != 0 || len(bad.Errors) != 1 || !strings.Contains(bad.Errors[0].Error(), "small_lists.star:4:24: memory limit") {
		t.Fatalf("small_lists.star: got DAGs %v, errors %v", bad.DAGs, bad.Errors)
	}
	if bad.Sources["small_lists.star"] != files["small_lists.star"] || bad.Hash == "" {
		t.Fatalf("the file's text is kept so a Bag notices a change: %v", bad.Sources)
	}
	good := l.LoadPath(ctx, dir, filepath.Join(dir, "good.star"))
	if len(good.Errors) != 0 || len(good.DAGs) != 1 || good.DAGs[0].ID != "good" {
		t.Fatalf("good.star: got DAGs %v, errors %v", good.DAGs, good.Errors)
	}
	// A bundle (what a worker evaluates) goes to the child too.
	b := l.Load(ctx, loader.BundleSource("dags", map[string]string{"r.star": files["replace.star"]}), "r.star")
	if len(b.Errors) != 1 || !strings.Contains(b.Errors[0].Error(), "dags/r.star:2:10: memory limit") {
		t.Fatalf("bundle: got %v", b.Errors)
	}
}

// TestBagReevaluatesAFileWhoseModuleKilledItsChild: a file whose loaded
// module exhausts memory kills its child; fixing the module (not the
// file) makes the next refresh evaluate the file again, and its DAG
// appears.
func TestBagReevaluatesAFileWhoseModuleKilledItsChild(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Only dag.star calls f: the modules alone define it.
	write("lib/inner.star", strings.TrimSuffix(files["small_lists.star"], "f()\n"))
	write("lib/outer.star", "load(\"//lib/inner.star\", \"f\")\ng = f\n")
	write("dag.star", "load(\"//lib/outer.star\", \"g\")\nn = len(g())\ndag(dag_id = \"d\", build = lambda: bash(task_id = \"t\", bash_command = \"echo %d\" % n))\n")
	bag := loader.NewBag(loader.New(loader.Options{Isolator: newPool(t, time.Minute)}), loader.DirSource(dir))
	ctx := context.Background()
	if _, err := bag.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	f := bag.File("dag.star")
	if f == nil || len(f.Errors) != 1 || !strings.Contains(f.Errors[0].Error(), "memory limit") {
		t.Fatalf("dag.star: %+v", f)
	}
	if _, _, ok := bag.DAG("d"); ok {
		t.Fatal("DAG d exists while its module kills the parse process")
	}
	write("lib/inner.star", "def f():\n    return [1]\n") // two loads away from dag.star
	if _, err := bag.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := bag.DAG("d"); !ok {
		t.Fatalf("DAG d is missing after its module was fixed: %v", bag.Findings())
	}
}
