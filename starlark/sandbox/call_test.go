package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/starlark/call"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// taskFile defines task functions that use the whole protocol, and ones
// that exhaust memory in the two ways: the in-process budget (in the
// child) and the child's own limit.
const taskFile = `def work(ctx, x, scale = 1.0, rows = None):
    ctx.log("x is %s" % x)
    print("printed")
    ctx.xcom_push("k", {"f": 2.0, "i": 3})
    c = ctx.conn("db")
    return {"sum": x * scale, "pulled": ctx.xcom_pull("up"), "latest": ctx.xcom_pull("up", key = None),
            "var": ctx.var("name", "dflt"), "missing": ctx.var("nope", "dflt"), "host": c.host, "port": c.port,
            "extra": c.extra, "none": ctx.conn.get("nope"), "try": ctx.try_number, "ds": ctx.ds, "rows": rows,
            "params": ctx.params, "run_id": ctx.run_id, "task": ctx.task_id}

def hog():
    out = []
    for i in range(1000000):
        out.append([0] * 4000)
    return len(out)

def blowup():
    s = "x" * (1 << 22)
    return len(s.replace("x", s))

def bad(ctx):
    return {}["missing"]

def slow():
    n = 0
    for i in range(1 << 40):
        n += i
    return n

def build():
    task(work, args = [2], kwargs = {"rows": [1.5, 2]})
    task(hog)
    task(blowup)
    task(bad)
    task(slow)

dag(dag_id = "d", build = build)
`

// fakeStores are a call's XComs, variables and connections.
type fakeStores struct {
	mu     sync.Mutex
	pushed map[string]any
}

func (f *fakeStores) Pull(_ context.Context, taskID, key string) (any, bool, error) {
	if taskID == "up" && key == "return_value" {
		return map[string]any{"n": int64(7), "f": 1.0, "l": []any{"a", 2.5}}, true, nil
	}
	if taskID == "extract" { // the rows of benchDAG's transforms
		return []any{int64(1), int64(2), int64(3), int64(4), int64(5), int64(6), int64(7), int64(8)}, true, nil
	}
	return nil, false, nil
}

func (f *fakeStores) PullLatest(_ context.Context, taskID string) (any, bool, error) {
	return "latest of " + taskID, true, nil
}

func (f *fakeStores) Push(_ context.Context, key string, v any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pushed[key] = v
	return nil
}

type fakeVars struct{}

func (fakeVars) Get(_ context.Context, name string) (string, bool, error) {
	if name == "name" {
		return "value", true, nil
	}
	return "", false, nil
}

type fakeConns struct{}

func (fakeConns) Get(_ context.Context, id string) (*operators.Connection, error) {
	if id == "db" {
		return &operators.Connection{ID: "db", Host: "h", Port: 5432, Extra: map[string]any{"w": 1.0, "n": int64(2)}}, nil
	}
	return nil, fmt.Errorf("conn %q: %w", id, operators.ErrNotFound)
}

func loadTaskFile(t testing.TB) *loader.File {
	t.Helper()
	f := loader.New(loader.Options{}).Load(context.Background(), loader.BundleSource("dags", map[string]string{"tasks.star": taskFile}), "tasks.star")
	if len(f.Errors) > 0 || len(f.DAGs) != 1 {
		t.Fatalf("tasks.star: %v", f.Errors)
	}
	return f
}

// keyOf returns the function key of the task with id.
func keyOf(t testing.TB, f *loader.File, id string) string {
	t.Helper()
	for _, task := range f.DAGs[0].Tasks() {
		if task.ID == id {
			return task.Function
		}
	}
	t.Fatalf("no task %s", id)
	return ""
}

// argsOf returns the arguments task() gave the task with id.
func argsOf(f *loader.File, id string) ([]any, map[string]any) {
	cfg := f.DAGs[0].Task(id).Config
	args, _ := cfg["args"].([]any)
	kwargs, _ := cfg["kwargs"].(map[string]any)
	return args, kwargs
}

func newCall(f *loader.File, task string, log *bytes.Buffer) (*operators.Call, *fakeStores) {
	st := &fakeStores{pushed: map[string]any{}}
	d := f.DAGs[0]
	c := &operators.Call{
		DAG: d, Task: d.Task(task), TryNumber: 2, Params: map[string]any{"p": 0.5, "q": int64(1)},
		Run: operators.RunInfo{DAGID: "d", RunID: "manual__x", LogicalDate: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), Conf: map[string]any{"c": 1.0}},
		Log: log, XCom: st, Variables: fakeVars{}, Connections: fakeConns{},
	}
	return c, st
}

// TestCallFunctionLikeInProcess calls a task function that uses every
// request of the protocol in-process and in a child: the same result
// (floats stay floats), the same XCom pushed, the same log.
func TestCallFunctionLikeInProcess(t *testing.T) {
	f := loadTaskFile(t)
	pool := newPool(t, time.Minute)
	ctx := context.Background()
	key := keyOf(t, f, "work")
	args, kwargs := argsOf(f, "work")

	var logIn, logOut bytes.Buffer
	cIn, stIn := newCall(f, "work", &logIn)
	want, err := call.New(f).CallFunction(ctx, cIn, key, args, kwargs)
	if err != nil {
		t.Fatal(err)
	}
	isolated := call.New(f)
	isolated.Isolator = pool
	for i := range 2 { // the second call finds the version loaded
		logOut.Reset()
		cOut, stOut := newCall(f, "work", &logOut)
		got, err := isolated.CallFunction(ctx, cOut, key, args, kwargs)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("call %d: got %#v\nwant %#v", i, got, want)
		}
		if !reflect.DeepEqual(stOut.pushed, stIn.pushed) {
			t.Fatalf("pushed %#v, want %#v", stOut.pushed, stIn.pushed)
		}
		if logOut.String() != logIn.String() || !strings.Contains(logOut.String(), "x is 2\nprinted\n") {
			t.Fatalf("log %q, want %q", logOut.String(), logIn.String())
		}
	}
	if got := want.(map[string]any)["sum"]; got != 2.0 {
		t.Fatalf("sum = %#v, want the float 2.0", got)
	}
}

// TestCallFunctionStopsFunctionsThatExhaustMemory runs functions that
// exhaust memory, fail, or outlive their context in children: each try's
// error has the position, and a good call after them works.
func TestCallFunctionStopsFunctionsThatExhaustMemory(t *testing.T) {
	f := loadTaskFile(t)
	pool := newPool(t, time.Minute)
	r := call.New(f)
	r.Isolator = pool
	for _, tc := range []struct{ task, want string }{
		{"hog", "dags/tasks.star:14:24: memory limit: hog "},
		{"blowup", "dags/tasks.star:19:25: memory limit: string of"},
		{"bad", "dags/tasks.star:22:14: key \"missing\" not in dict"},
		{"slow", "was stopped: context deadline exceeded"},
		{"work", ""},
	} {
		t.Run(tc.task, func(t *testing.T) {
			ctx := context.Background()
			if tc.task == "slow" {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 2*time.Second)
				defer cancel()
			}
			var log bytes.Buffer
			c, _ := newCall(f, tc.task, &log)
			args, kwargs := argsOf(f, tc.task)
			start := time.Now()
			_, err := r.CallFunction(ctx, c, keyOf(t, f, tc.task), args, kwargs)
			t.Logf("%s: %v in %s", tc.task, err, time.Since(start))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if tc.task == "slow" && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%v does not wrap the context's cause", err)
			}
		})
	}
}
