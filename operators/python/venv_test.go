package python

import (
	"archive/zip"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/dags"
)

// writeWheel writes a minimal wheel of package tinypkg (no index needed
// to install it) and returns its path.
func writeWheel(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tinypkg-1.0-py3-none-any.whl")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	z := zip.NewWriter(f)
	files := map[string]string{
		"tinypkg/__init__.py":                 "VALUE = 'from tinypkg'\n",
		"tinypkg-1.0.dist-info/METADATA":      "Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\n",
		"tinypkg-1.0.dist-info/WHEEL":         "Wheel-Version: 1.0\nGenerator: starflow-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
		"tinypkg-1.0.dist-info/RECORD":        "",
		"tinypkg-1.0.dist-info/top_level.txt": "tinypkg\n",
	}
	for name, content := range files {
		w, err := z.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestVirtualenvInstallsTheRequirements: with requirements the function
// runs in a new virtualenv (python -m venv) where pip installed them, as
// Airflow's PythonVirtualenvOperator; venv_cache_path keeps it for the
// next try, which reuses it.
func TestVirtualenvInstallsTheRequirements(t *testing.T) {
	t.Parallel()
	wheel := writeWheel(t)
	cache := t.TempDir()
	config := func() map[string]any {
		return map[string]any{
			"python_callable":      "tasks/venv.py:uses",
			"requirements":         []any{wheel},
			"pip_install_options":  []any{"--no-index", "--disable-pip-version-check"},
			"system_site_packages": false,
			"venv_cache_path":      cache,
		}
	}
	for try, wantLog := range []string{"Cached the virtualenv in ", "Reusing the cached virtualenv "} {
		c, log, _ := setup(t, config())
		c.Functions = sources{"tasks/venv.py": "import sys\n\ndef uses():\n    import tinypkg\n    return [tinypkg.VALUE, sys.prefix]\n"}
		res, err := New().Execute(context.Background(), c)
		if err != nil {
			t.Fatalf("try %d: Execute: %v\nlog:\n%s", try+1, err, log)
		}
		got, _ := res.ReturnValue.([]any)
		if len(got) != 2 || got[0] != "from tinypkg" || !strings.HasPrefix(got[1].(string), filepath.Join(cache, "venv-")) {
			t.Errorf("try %d: return value = %#v, want tinypkg's value and a prefix in %s", try+1, res.ReturnValue, cache)
		}
		if !strings.Contains(log.String(), wantLog) {
			t.Errorf("try %d: log lacks %q:\n%s", try+1, wantLog, log)
		}
	}
	// A requirement pip cannot install fails the try with pip's output.
	c, log, _ := setup(t, map[string]any{
		"python_callable": "tasks/code.py:none", "requirements": []any{"no-such-package-xyz==1.0"},
		"pip_install_options": []any{"--no-index"},
	})
	if _, err := New().Execute(context.Background(), c); err == nil || !strings.Contains(err.Error(), "pip install [no-such-package-xyz==1.0]") {
		t.Errorf("Execute with a missing requirement: err = %v\nlog:\n%s", err, log)
	}
}

// TestBranchSkipsTheTasksNotChosen: with branch the function's return
// value is the task id to follow, as BranchExternalPythonOperator's.
func TestBranchSkipsTheTasksNotChosen(t *testing.T) {
	t.Parallel()
	c, log, _ := setup(t, map[string]any{"python_callable": "tasks/code.py:only_ds", "branch": true})
	c.Functions = sources{"tasks/code.py": "def only_ds(choices):\n    return 'go_' + choices[1]\n"}
	c.Task.Config["op_args"] = []any{[]any{"a", "b"}}
	for _, id := range []string{"go_a", "go_b"} {
		c.DAG.AddTask(dags.NewTask(id, "empty", dags.Pos{}))
		c.DAG.Connect("compute", id, dags.Pos{})
	}
	res, err := New().Execute(context.Background(), c)
	if err != nil {
		t.Fatalf("Execute: %v\nlog:\n%s", err, log)
	}
	if res.ReturnValue != "go_b" || !reflect.DeepEqual(res.Skip, []string{"go_a"}) {
		t.Errorf("return value %v, skip %v; want go_b, [go_a]", res.ReturnValue, res.Skip)
	}
	c.Functions = sources{"tasks/code.py": "def only_ds(choices):\n    return 7\n"}
	if _, err := New().Execute(context.Background(), c); err == nil || !strings.Contains(err.Error(), "must return a task id") {
		t.Errorf("a branch returning 7: err = %v", err)
	}
}
