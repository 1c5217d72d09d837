package python

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/templates"
)

// realPython is the interpreter python3 in PATH resolves to (pyenv shims
// are shell scripts that start slowly), set by TestMain.
var realPython string

func TestMain(m *testing.M) {
	out, err := exec.Command(DefaultInterpreter, "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "python tests need python3 in PATH:", err)
		os.Exit(1)
	}
	realPython = strings.TrimSpace(string(out))
	os.Setenv("STARFLOW_SECRET_KEY", "c2VjcmV0LWtleS1vZi10aGUtd29ya2Vy")
	os.Exit(m.Run())
}

// sources is a function runner that only gives source files.
type sources map[string]string

func (s sources) CallFunction(context.Context, *operators.Call, string, []any, map[string]any) (any, error) {
	return nil, errors.New("no Starlark functions here")
}

func (s sources) SourceFiles(context.Context, *operators.Call) (map[string]string, error) {
	return s, nil
}

// memXCom holds the XComs of one run.
type memXCom struct {
	mu   sync.Mutex
	vals map[string]any // "task/key"
	task string
}

func (x *memXCom) Pull(_ context.Context, taskID, key string) (any, bool, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	v, ok := x.vals[taskID+"/"+key]
	return v, ok, nil
}

// PullLatest returns "e" for upstream, which pushed extra last.
func (x *memXCom) PullLatest(_ context.Context, taskID string) (any, bool, error) {
	if taskID != "upstream" {
		return nil, false, nil
	}
	return x.vals["upstream/extra"], true, nil
}

func (x *memXCom) Push(_ context.Context, key string, value any) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.vals[x.task+"/"+key] = value
	return nil
}

// syncLog is a task log safe for concurrent writers.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const taskCode = `
import json, os, sys, time

from lib.helper import double


def add(a, b, scale=1):
    print("adding", a, b)
    print("to stderr", file=sys.stderr)
    return {"sum": double(a + b) * scale, "types": [type(a).__name__, type(b).__name__]}


def with_context(ds, params, logical_date, ti, dag_run, templates_dict, **context):
    ti.xcom_push("extra", {"k": 1})
    return [ds, params["who"], logical_date.year, logical_date.strftime("%A"), dag_run.run_id,
            context["ts"], context["try_number"], context["conf"], templates_dict, "task_instance" in context]


def only_ds(ds):
    return ds


def boom():
    def inner():
        raise ValueError("the input is bad")
    inner()


def not_json():
    return {1, 2}


def environment():
    return [os.environ.get("STARFLOW_SECRET_KEY", ""), os.environ.get("FOO", ""), os.environ.get("AIRFLOW_CTX_DAG_ID", "")]


def skipper():
    class AirflowSkipException(Exception):
        pass
    raise AirflowSkipException("nothing to do today")


def failer():
    class AirflowFailException(Exception):
        pass
    raise AirflowFailException("give up")


def exits():
    sys.exit(3)


def sleeps():
    print("sleeping", flush=True)
    time.sleep(100)


def interpreter():
    return [sys.executable, sys.prefix]


def none():
    return None


def pulls(ti):
    ti.xcom_push("mine", 1)
    return [ti.xcom_pull(task_ids="upstream"), ti.xcom_pull(task_ids=["upstream", "silent"]),
            ti.xcom_pull(task_ids="upstream", key="extra"), ti.xcom_pull(task_ids="elsewhere", default="d"),
            ti.xcom_pull(key="mine"), ti.xcom_pull(task_ids="upstream", key=None)]


def pushes_then_raises(ti):
    ti.xcom_push("progress", {"rows": 41})
    raise RuntimeError("row 42 is bad")


def secrets():
    from airflow.models import Variable
    from airflow.hooks.base import BaseHook
    from airflow.sdk import Connection, Variable as SdkVariable
    from airflow.exceptions import AirflowNotFoundException
    from airflow.operators.python import get_current_context
    c = BaseHook.get_connection("warehouse")
    print("connecting with", c.password)
    errors = []
    try:
        Variable.get("missing")
    except KeyError as e:
        errors.append(str(e))
    try:
        Connection.get("nowhere")
    except AirflowNotFoundException as e:
        errors.append(str(e))
    ctx = get_current_context()
    return [Variable.get("plain"), Variable.get("cfg", deserialize_json=True)["n"],
            Variable.get("missing", default_var="d1"), SdkVariable.get("missing", default="d2"),
            Variable.get("missing", None), ctx["var"]["value"].plain, ctx["var"]["json"].get("cfg")["n"],
            c.conn_type, c.host, c.login, c.port, c.schema, c.extra_dejson, c.get_uri(),
            ctx["conn"].warehouse.host, errors]
`

// setup returns a call of a python task with the given config; upstream
// has pushed [2, 3].
func setup(t testing.TB, config map[string]any) (*operators.Call, *syncLog, *memXCom) {
	t.Helper()
	if _, ok := config["python"]; !ok {
		config["python"] = realPython
	}
	d := dags.New("etl", dags.Pos{})
	task := dags.NewTask("compute", Kind, dags.Pos{})
	task.Config = config
	d.AddTask(task)
	log := &syncLog{}
	x := &memXCom{vals: map[string]any{"upstream/return_value": []any{int64(2), int64(3)}, "upstream/extra": "e"}, task: "compute"}
	c := &operators.Call{
		DAG: d, Task: task, TryNumber: 1, MapIndex: -1,
		Run: operators.RunInfo{
			DAGID: "etl", RunID: "manual__2024-01-15T00:00:00+00:00", RunType: dags.RunTypeManual,
			LogicalDate:       time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC),
			DataIntervalStart: time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC),
			DataIntervalEnd:   time.Date(2024, 1, 16, 0, 0, 0, 0, time.UTC),
			Conf:              map[string]any{"n": int64(5)},
		},
		Params:    map[string]any{"who": "world"},
		Log:       log,
		XCom:      x,
		Functions: sources{"tasks/code.py": taskCode, "lib/helper.py": "def double(x):\n    return 2 * x\n", "etl.star": "# not Python"},
	}
	c.Renderer = templates.NewRenderer(c)
	return c, log, x
}

func TestExecuteCallsTheFunction(t *testing.T) {
	t.Parallel()
	c, log, _ := setup(t, map[string]any{
		"python_callable": "tasks/code.py:add",
		"op_args":         []any{int64(4)},
		"op_kwargs":       map[string]any{"b": int64(6), "scale": int64(3)},
	})
	res, err := New().Execute(context.Background(), c)
	if err != nil {
		t.Fatalf("Execute: %v\nlog:\n%s", err, log)
	}
	want := map[string]any{"sum": int64(60), "types": []any{"int", "int"}}
	if !reflect.DeepEqual(res.ReturnValue, want) {
		t.Errorf("return value = %#v, want %#v", res.ReturnValue, want)
	}
	for _, w := range []string{"adding 4 6\n", "to stderr\n", "Done. Returned value was:"} {
		if !strings.Contains(log.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, log)
		}
	}
}

func TestExecutePassesXComsAndTemplates(t *testing.T) {
	t.Parallel()
	c, log, _ := setup(t, map[string]any{
		"python_callable": "tasks/code.py:add",
		"op_args":         []any{dags.XComRef{TaskID: "upstream", Key: "return_value"}},
		"op_kwargs":       map[string]any{"b": []any{"{{ ds }}"}},
	})
	res, err := New().Execute(context.Background(), c)
	if err != nil {
		t.Fatalf("Execute: %v\nlog:\n%s", err, log)
	}
	want := map[string]any{"sum": []any{int64(2), int64(3), "2024-01-15", int64(2), int64(3), "2024-01-15"}, "types": []any{"list", "list"}}
	if !reflect.DeepEqual(res.ReturnValue, want) {
		t.Errorf("return value = %#v, want %#v", res.ReturnValue, want)
	}
}

func TestExecutePassesTheAirflowContext(t *testing.T) {
	t.Parallel()
	c, log, x := setup(t, map[string]any{
		"python_callable": "tasks/code.py:with_context",
		"templates_dict":  map[string]any{"day": "{{ ds_nodash }}"},
	})
	res, err := New().Execute(context.Background(), c)
	if err != nil {
		t.Fatalf("Execute: %v\nlog:\n%s", err, log)
	}
	want := []any{"2024-01-15", "world", int64(2024), "Monday", "manual__2024-01-15T00:00:00+00:00",
		"2024-01-15T00:00:00+00:00", int64(1), map[string]any{"n": int64(5)}, map[string]any{"day": "20240115"}, true}
	if !reflect.DeepEqual(res.ReturnValue, want) {
		t.Errorf("return value = %#v, want %#v", res.ReturnValue, want)
	}
	if v, _, _ := x.Pull(context.Background(), "compute", "extra"); !reflect.DeepEqual(v, map[string]any{"k": int64(1)}) {
		t.Errorf("ti.xcom_push pushed %#v", v)
	}

	// Without **context only the names the function takes are passed.
	c, log, _ = setup(t, map[string]any{"python_callable": "tasks/code.py:only_ds"})
	if res, err := New().Execute(context.Background(), c); err != nil || res.ReturnValue != "2024-01-15" {
		t.Errorf("only_ds: %v, %v\nlog:\n%s", res, err, log)
	}
}

func TestExecuteFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		config   map[string]any
		wantErr  []string
		wantLog  []string
		final    bool
		wantSkip bool
	}{
		{name: "an exception fails the try with the traceback in the log",
			config:  map[string]any{"python_callable": "tasks/code.py:boom"},
			wantErr: []string{"tasks/code.py:boom raised ValueError: the input is bad"},
			wantLog: []string{"Traceback (most recent call last):", `code.py", line`, "in inner", "ValueError: the input is bad"}},
		{name: "a return value that is not JSON fails",
			config:  map[string]any{"python_callable": "tasks/code.py:not_json"},
			wantErr: []string{"not_json returned a set, which is not JSON-serialisable"},
			wantLog: []string{"cannot be stored as an XCom"}},
		{name: "a missing interpreter fails",
			config:  map[string]any{"python_callable": "tasks/code.py:add", "python": "/nonexistent/venv/bin/python"},
			wantErr: []string{`interpreter "/nonexistent/venv/bin/python" not found`}},
		{name: "a missing function fails",
			config:  map[string]any{"python_callable": "tasks/code.py:ad"},
			wantErr: []string{"AttributeError: tasks/code.py defines no function 'ad'"}},
		{name: "a file outside the version fails for good",
			config:  map[string]any{"python_callable": "tasks/other.py:add"},
			wantErr: []string{"tasks/other.py is not part of this DAG version"}, final: true},
		{name: "AirflowFailException fails without retries",
			config:  map[string]any{"python_callable": "tasks/code.py:failer"},
			wantErr: []string{"AirflowFailException: give up"}, final: true},
		{name: "AirflowSkipException skips",
			config: map[string]any{"python_callable": "tasks/code.py:skipper"}, wantSkip: true},
		{name: "an exit code in skip_on_exit_code skips",
			config: map[string]any{"python_callable": "tasks/code.py:exits", "skip_on_exit_code": []any{int64(3)}}, wantSkip: true},
		{name: "another exit code fails",
			config:  map[string]any{"python_callable": "tasks/code.py:exits"},
			wantErr: []string{"exited with code 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, log, _ := setup(t, tt.config)
			res, err := New().Execute(context.Background(), c)
			if tt.wantSkip {
				if err != nil || res.State != dags.TaskStateSkipped {
					t.Fatalf("got %+v, %v; want skipped\nlog:\n%s", res, err, log)
				}
				return
			}
			if err == nil {
				t.Fatalf("Execute succeeded with %+v; want an error\nlog:\n%s", res, log)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if operators.IsFinal(err) != tt.final {
				t.Errorf("IsFinal = %v, want %v (%v)", operators.IsFinal(err), tt.final, err)
			}
			for _, w := range tt.wantLog {
				if !strings.Contains(log.String(), w) {
					t.Errorf("log lacks %q:\n%s", w, log)
				}
			}
		})
	}
}

func TestExecuteGivesAScrubbedEnvironment(t *testing.T) {
	t.Parallel()
	c, log, _ := setup(t, map[string]any{"python_callable": "tasks/code.py:environment",
		"env": map[string]any{"FOO": "{{ ds }}"}, "append_env": true})
	res, err := New().Execute(context.Background(), c)
	if err != nil {
		t.Fatalf("Execute: %v\nlog:\n%s", err, log)
	}
	if want := []any{"", "2024-01-15", "etl"}; !reflect.DeepEqual(res.ReturnValue, want) {
		t.Errorf("environment = %#v, want %#v (no secret key, env rendered, context variables)", res.ReturnValue, want)
	}
}

func TestExecuteUsesTheTaskInterpreter(t *testing.T) {
	t.Parallel()
	venv := filepath.Join(t.TempDir(), "venv")
	if out, err := exec.Command(realPython, "-m", "venv", "--without-pip", venv).CombinedOutput(); err != nil {
		t.Fatalf("create a virtualenv: %v\n%s", err, out)
	}
	interp := filepath.Join(venv, "bin", "python")
	c, log, _ := setup(t, map[string]any{"python_callable": "tasks/code.py:interpreter", "python": interp})
	res, err := New().Execute(context.Background(), c)
	if err != nil {
		t.Fatalf("Execute: %v\nlog:\n%s", err, log)
	}
	got, _ := res.ReturnValue.([]any)
	if len(got) != 2 || got[0] != interp || got[1] != venv {
		t.Errorf("sys.executable, sys.prefix = %v, want %s and %s", got, interp, venv)
	}
}

func TestExecutionTimeoutKillsTheInterpreter(t *testing.T) {
	t.Parallel()
	c, log, _ := setup(t, map[string]any{"python_callable": "tasks/code.py:sleeps"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	op := New()
	op.KillGrace = time.Second
	go func() { _, err := op.Execute(ctx, c); done <- err }()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(log.String(), "sleeping"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the function never started; log:\n%s", log)
		}
	}
	begin := time.Now()
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("the cancelled interpreter took %s to end", d)
	}
}

func TestParseCallable(t *testing.T) {
	t.Parallel()
	good := map[string]Callable{
		"transform.py:clean":    {File: "transform.py", Function: "clean"},
		"//lib/etl/load.py:run": {File: "lib/etl/load.py", Function: "run"},
		" lib/./x.py:f ":        {File: "lib/x.py", Function: "f"},
	}
	for in, want := range good {
		if got, err := ParseCallable(in); err != nil || got != want {
			t.Errorf("ParseCallable(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"transform.py", "transform:clean", "../x.py:f", "/abs/x.py:f", "my-lib/x.py:f", "x.py:not-a-name", "x.py:"} {
		if _, err := ParseCallable(in); err == nil {
			t.Errorf("ParseCallable(%q) succeeded; want an error", in)
		}
	}
}

func TestReadFilesFollowsImports(t *testing.T) {
	t.Parallel()
	folder := map[string]string{
		"tasks/code.py":       "import os, json\nfrom lib.helper import double\nfrom . import sibling\nimport pkg.sub as s\n\ndef run():\n    pass\n",
		"tasks/sibling.py":    "X = 1\n",
		"lib/helper.py":       "from .deep import y\n\ndef double(x):\n    return 2 * x\n",
		"lib/deep.py":         "y = 1\n",
		"pkg/__init__.py":     "",
		"pkg/sub.py":          "",
		"unrelated.py":        "",
		"tasks/uncalled.py":   "",
		"lib/not_imported.py": "",
	}
	var read []string
	reader := func(p string) (string, error) {
		c, ok := folder[p]
		if !ok {
			return "", fmt.Errorf("%s: %w", p, os.ErrNotExist)
		}
		read = append(read, p)
		return c, nil
	}
	if err := readFiles(map[string]any{"python_callable": "tasks/code.py:run"}, reader); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, p := range read {
		got[p] = true
	}
	for _, p := range []string{"tasks/code.py", "tasks/sibling.py", "lib/helper.py", "lib/deep.py", "pkg/__init__.py", "pkg/sub.py"} {
		if !got[p] {
			t.Errorf("%s was not read (read: %v)", p, read)
		}
	}
	for _, p := range []string{"unrelated.py", "tasks/uncalled.py", "lib/not_imported.py"} {
		if got[p] {
			t.Errorf("%s was read although nothing imports it", p)
		}
	}

	err := readFiles(map[string]any{"python_callable": "tasks/code.py:rn"}, reader)
	if err == nil || !strings.Contains(err.Error(), "tasks/code.py defines no function rn (did you mean run?)") {
		t.Errorf("a misspelt function: err = %v", err)
	}
	err = readFiles(map[string]any{"python_callable": "tasks/missing.py:run"}, reader)
	if err == nil || !strings.Contains(err.Error(), "there is no file tasks/missing.py in the DAG folder") {
		t.Errorf("a missing file: err = %v", err)
	}
}

// TestXComPullAsksTheWorker: ti.xcom_pull in the Python function reads
// any task's XCom of the run through the worker's channel, with Airflow's
// defaults (task_ids None is this task, key "return_value"; default when
// there is none).
func TestXComPullAsksTheWorker(t *testing.T) {
	t.Parallel()
	c, log, _ := setup(t, map[string]any{"python_callable": "tasks/code.py:pulls"})
	res, err := New().Execute(context.Background(), c)
	if err != nil {
		t.Fatalf("Execute: %v\nlog:\n%s", err, log)
	}
	up := []any{int64(2), int64(3)}
	want := []any{up, []any{up, nil}, "e", "d", int64(1), "e"}
	if !reflect.DeepEqual(res.ReturnValue, want) {
		t.Fatalf("return value = %#v\nwant %#v", res.ReturnValue, want)
	}
}

// TestXComPushIsStoredAtOnce: ti.xcom_push stores the XCom when it is
// called, as Airflow's does, so a function that pushes and then raises
// leaves the XCom and fails the try.
func TestXComPushIsStoredAtOnce(t *testing.T) {
	t.Parallel()
	c, log, x := setup(t, map[string]any{"python_callable": "tasks/code.py:pushes_then_raises"})
	_, err := New().Execute(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "RuntimeError: row 42 is bad") {
		t.Fatalf("Execute: err = %v, want the RuntimeError\nlog:\n%s", err, log)
	}
	v, ok, _ := x.Pull(context.Background(), "compute", "progress")
	if want := map[string]any{"rows": int64(41)}; !ok || !reflect.DeepEqual(v, want) {
		t.Errorf("XCom progress = %#v (found %v), want %#v", v, ok, want)
	}
}

// memVariables and memConnections are the worker's sources in the
// tests; they count the names asked for.
type memVariables struct {
	mu    sync.Mutex
	vals  map[string]string
	asked []string
}

func (v *memVariables) Get(_ context.Context, name string) (string, bool, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.asked = append(v.asked, name)
	s, ok := v.vals[name]
	return s, ok, nil
}

type memConnections map[string]*operators.Connection

func (m memConnections) Get(_ context.Context, id string) (*operators.Connection, error) {
	if c, ok := m[id]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("connection %s: %w", id, operators.ErrNotFound)
}

// TestVariablesAndConnectionsFromPythonCode: unchanged Airflow task code
// reads variables and connections (airflow.models.Variable,
// airflow.hooks.base.BaseHook, airflow.sdk) through the worker, which is
// asked for the names the code uses and nothing else.
func TestVariablesAndConnectionsFromPythonCode(t *testing.T) {
	t.Parallel()
	c, log, _ := setup(t, map[string]any{"python_callable": "tasks/code.py:secrets"})
	vars := &memVariables{vals: map[string]string{"plain": "hello", "cfg": `{"n": 3}`, "unread": "never asked"}}
	c.Variables = vars
	c.Connections = memConnections{"warehouse": {ID: "warehouse", Type: "postgres", Host: "db.example", Port: 5432,
		Schema: "sales", Login: "ada", Password: "p@ss word", Extra: map[string]any{"sslmode": "require"}}}
	res, err := New().Execute(context.Background(), c)
	if err != nil {
		t.Fatalf("Execute: %v\nlog:\n%s", err, log)
	}
	want := []any{"hello", int64(3), "d1", "d2", nil, "hello", int64(3),
		"postgres", "db.example", "ada", int64(5432), "sales", map[string]any{"sslmode": "require"},
		"postgres://ada:p%40ss%20word@db.example:5432/sales?sslmode=require", "db.example",
		[]any{"'Variable missing does not exist'", "The conn_id `nowhere` isn't defined"}}
	if !reflect.DeepEqual(res.ReturnValue, want) {
		t.Fatalf("return value = %#v\nwant %#v", res.ReturnValue, want)
	}
	if !strings.Contains(log.String(), "connecting with p@ss word") {
		t.Errorf("log lacks the printed password (masking is the worker's log writer's job):\n%s", log)
	}
	vars.mu.Lock()
	defer vars.mu.Unlock()
	if slices.Contains(vars.asked, "unread") {
		t.Errorf("the worker was asked for %v; unread was never used", vars.asked)
	}
}

// TestStarflowLibraryOutsideATask: the library says where it works when
// imported by code Starflow did not start.
func TestStarflowLibraryOutsideATask(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := writeLib(dir); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(realPython, "-c", "import sys; sys.path.insert(0, sys.argv[1])\nfrom airflow.models import Variable\ntry:\n    Variable.get('x')\nexcept Exception as e:\n    print(type(e).__name__, e)", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if want := "AirflowException variable needs the Starflow worker"; !strings.Contains(string(out), want) {
		t.Errorf("got %q, want it to contain %q", out, want)
	}
}
