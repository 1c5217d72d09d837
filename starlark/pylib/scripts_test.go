package pylib_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarktest"
	"go.starlark.net/syntax"

	"github.com/starflow-dev/starflow/starlark/builtins"
	"github.com/starflow-dev/starflow/starlark/pylib"
)

// TestScripts runs every testdata/*.star script with the Python builtins
// and modules, the predeclared timedelta, and starlarktest's assert
// module, in a thread marked as a running task (so that the clock may be
// read). Each script checks its own results with assert.eq and
// assert.fails; an error or a failed assertion fails the test.
func TestScripts(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "*.star"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata: %v", err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".star"), func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			thread := &starlark.Thread{Name: path, Load: func(_ *starlark.Thread, module string) (starlark.StringDict, error) {
				if module == "assert.star" {
					return starlarktest.LoadAssertModule()
				}
				t.Fatalf("unexpected load of %q", module)
				return nil, nil
			}}
			starlarktest.SetReporter(thread, t)
			builtins.SetRuntime(thread)
			pre := pylib.Universe()
			pre["timedelta"] = builtins.Universe()["timedelta"]
			opts := &syntax.FileOptions{Set: true, TopLevelControl: true, GlobalReassign: true, While: true}
			if _, err := starlark.ExecFileOptions(opts, thread, path, src, pre); err != nil {
				if ee, ok := err.(*starlark.EvalError); ok {
					t.Fatal(ee.Backtrace())
				}
				t.Fatal(err)
			}
		})
	}
}

// TestClockRefusedWhileParsing checks that the functions that read the
// clock fail in a thread that is not a running task's: DAG-file parsing
// is hermetic.
func TestClockRefusedWhileParsing(t *testing.T) {
	t.Parallel()
	for _, expr := range []string{"datetime.datetime.now()", "datetime.datetime.utcnow()", "datetime.date.today()", "datetime.datetime.today()"} {
		thread := &starlark.Thread{Name: "parse"}
		_, err := starlark.Eval(thread, "expr", expr, pylib.Universe())
		if err == nil || !strings.Contains(err.Error(), "is not allowed while a DAG file is parsed") {
			t.Errorf("%s while parsing: got %v, want a refusal", expr, err)
		}
	}
}
