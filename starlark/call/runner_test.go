package call_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/starlark/call"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// source is the DAG file the tests call functions of.
const source = `
counter = []

def produce(ctx):
    return {"rows": [1, 2, 3]}

def consume(rows, factor = 1, meta = None, nested = None):
    total = 0
    for r in rows["rows"]:
        total += r
    return {"sum": total * factor, "meta": meta, "nested": nested}

def context_values(ctx):
    return {
        "ds": ctx.ds, "ds_nodash": ctx.ds_nodash, "ts": ctx.ts, "logical_date": ctx.logical_date,
        "data_interval_start": ctx.data_interval_start, "data_interval_end": ctx.data_interval_end,
        "run_id": ctx.run_id, "dag_id": ctx.dag_id, "task_id": ctx.task_id,
        "try_number": ctx.try_number, "map_index": ctx.map_index,
        "params": ctx.params, "conf": ctx.conf, "type": type(ctx),
    }

def use_services(ctx):
    ctx.xcom_push("extra", {"k": [1, None]})
    one = ctx.xcom_pull("produce")
    many = ctx.xcom_pull(["produce", "nobody"])
    keyed = ctx.xcom_pull("produce", key = "meta")
    db = ctx.conn("warehouse")
    ctx.log("pulled %d values" % len(many))
    print("printed", 42)
    return {
        "one": one, "many": many, "keyed": keyed,
        "var": ctx.var("region"), "missing_var": ctx.var("nope", default = "fallback"),
        "conn": [db.conn_type, db.host, db.port, db.login, db.password, db.schema, db.extra],
    }

def helper(x):
    return 10 // x

def divide(x):
    return helper(x)

def returns_function():
    return divide

def mutate_global():
    counter.append(1)

def define_task():
    return empty(task_id = "late")

def now():
    return time.now()

def spin(ctx):
    for i in range(1 << 60):
        pass

def identity(x):
    return x

def notify(ctx):
    ctx.log("failed: " + ctx.task_id)
    ctx.log("state=%s exception=%s" % (ctx.state, ctx.exception))

def airflow_style(**context):
    ti = context["ti"]
    return {
        "ds": context["ds"], "run_id": context["dag_run"].run_id, "params": context["params"],
        "pulled": ti.xcom_pull(task_ids = "produce")["rows"], "same": context["task_instance"] == ti,
        "factor": context.get("factor"),
    }

def ctx_and_kwargs(ctx, **kw):
    return sorted(kw.keys())

def named_context(rows, ds, ti, factor = 2, params = None):
    return {"rows": rows, "ds": ds, "pulled": ti.xcom_pull(task_ids = "produce")["rows"], "factor": factor, "params": params}

def airflow_accessors(ctx):
    ctx.xcom_push("extra", 5)
    return {
        "value": ctx.var.value.region, "json": ctx.var.json.cfg["n"],
        "get": ctx.var.value.get("nope", "d"), "json_get": ctx.var.json.get("nope"),
        "host": ctx.conn.warehouse.host, "dejson": ctx.conn.get("warehouse").extra_dejson["sslmode"],
        "no_conn": ctx.conn.get("nowhere"),
        "self": ctx.xcom_pull(key = "extra"), "default": ctx.xcom_pull("nobody", default = 0),
        "any_key": ctx.xcom_pull("produce", key = None),
    }

def missing_conn(ctx):
    return ctx.conn.nowhere.host

def missing_var(ctx):
    return ctx.var.value.nope

def airflow3_keys(ctx):
    return {
        "inlets": ctx.inlets, "outlets": [o.uri for o in ctx.outlets], "map_index_template": ctx.map_index_template,
        "prev_data_interval_start_success": ctx.prev_data_interval_start_success,
        "prev_data_interval_end_success": ctx.prev_data_interval_end_success,
        "prev_start_date_success": ctx.prev_start_date_success, "prev_end_date_success": ctx.prev_end_date_success,
    }

def build():
    p = task(produce)
    task(airflow_style, kwargs = {"factor": 3})
    task(ctx_and_kwargs)
    task(named_context, args = [[1]], kwargs = {"params": "mine"})
    task(consume, args = [p.output], kwargs = {"factor": 2, "meta": p.output["meta"], "nested": [p.output]})
    task(airflow3_keys, outlets = [dataset("s3://bucket/daily")], map_index_template = "{{ ds }}")
    for fn in [context_values, use_services, airflow_accessors, missing_conn, missing_var, divide, returns_function, mutate_global, define_task, now, spin, identity]:
        task(fn, on_failure_callback = notify)

dag(dag_id = "calls", build = build, params = {"region": "eu"})
`

// setup loads the source and returns a runner and a call with in-memory
// services.
func setup(t testing.TB) (*call.Runner, *loader.File, *operators.Call, *memXCom, *syncBuffer) {
	t.Helper()
	l := loader.New(loader.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	f := l.Load(context.Background(), loader.BundleSource("dags", map[string]string{"calls.star": source}), "calls.star")
	if !f.OK() {
		t.Fatalf("load: %v", f.Errors)
	}
	x := &memXCom{values: map[string]any{
		"produce/return_value": map[string]any{"rows": []any{int64(1), int64(2), int64(3)}},
		"produce/meta":         "m",
	}}
	log := &syncBuffer{}
	d := f.DAGs[0]
	c := &operators.Call{
		DAG:  d,
		Task: d.Task("context_values"),
		Run: operators.RunInfo{
			DAGID:             "calls",
			RunID:             "scheduled__2024-01-01T00:00:00+00:00",
			LogicalDate:       time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
			DataIntervalStart: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
			DataIntervalEnd:   time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC),
			Conf:              map[string]any{"full": true},
		},
		MapIndex:  -1,
		TryNumber: 2,
		Params:    map[string]any{"region": "eu"},
		Log:       log,
		XCom:      x,
		Variables: memVars{"region": "eu-west", "cfg": `{"n": 3}`},
		Connections: memConns{"warehouse": {ID: "warehouse", Type: "postgres", Host: "db", Port: 5432,
			Login: "etl", Password: "secret", Schema: "dw", Extra: map[string]any{"sslmode": "require"}}},
	}
	return call.New(f), f, c, x, log
}

func TestContextValues(t *testing.T) {
	t.Parallel()
	r, _, c, _, _ := setup(t)
	got, err := r.CallFunction(context.Background(), c, "calls/context_values", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"ds": "2024-01-01", "ds_nodash": "20240101", "ts": "2024-01-01T00:00:00+00:00",
		"logical_date": "2024-01-01T00:00:00+00:00", "data_interval_start": "2024-01-01T00:00:00+00:00",
		"data_interval_end": "2024-01-02T00:00:00+00:00", "run_id": "scheduled__2024-01-01T00:00:00+00:00",
		"dag_id": "calls", "task_id": "context_values", "try_number": int64(2), "map_index": int64(-1),
		"params": map[string]any{"region": "eu"}, "conf": map[string]any{"full": true}, "type": "task_context",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("context values:\n got %#v\nwant %#v", got, want)
	}
}

// prevRuns answers PrevSuccess with one run, counting the reads; the other
// DagRuns methods are not used.
type prevRuns struct {
	operators.DagRuns
	reads  atomic.Int32
	before time.Time
}

func (p *prevRuns) PrevSuccess(_ context.Context, dagID string, before time.Time) (*operators.PrevSuccess, error) {
	p.reads.Add(1)
	p.before = before
	day := time.Date(2023, 12, 31, 0, 0, 0, 0, time.UTC)
	return &operators.PrevSuccess{DataIntervalStart: day, DataIntervalEnd: day.AddDate(0, 0, 1), StartDate: day.Add(25 * time.Hour), EndDate: day.Add(26 * time.Hour)}, nil
}

// TestAirflow3ContextKeys: the context keys Airflow 3 added (inlets,
// outlets, map_index_template and the previous successful run's dates),
// None without a previous run (test-dag) and read once per call with one.
func TestAirflow3ContextKeys(t *testing.T) {
	t.Parallel()
	r, f, c, _, _ := setup(t)
	c.Task = f.DAGs[0].Task("airflow3_keys")
	got, err := r.CallFunction(context.Background(), c, c.Task.Function, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"inlets": []any{}, "outlets": []any{"s3://bucket/daily"}, "map_index_template": "{{ ds }}",
		"prev_data_interval_start_success": nil, "prev_data_interval_end_success": nil, "prev_start_date_success": nil, "prev_end_date_success": nil}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("without a previous run:\n got %#v\nwant %#v", got, want)
	}
	runs := &prevRuns{}
	c.DagRuns = runs
	got, err = r.CallFunction(context.Background(), c, c.Task.Function, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want["prev_data_interval_start_success"] = "2023-12-31T00:00:00+00:00"
	want["prev_data_interval_end_success"] = "2024-01-01T00:00:00+00:00"
	want["prev_start_date_success"] = "2024-01-01T01:00:00+00:00"
	want["prev_end_date_success"] = "2024-01-01T02:00:00+00:00"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("with a previous run:\n got %#v\nwant %#v", got, want)
	}
	if n := runs.reads.Load(); n != 1 || !runs.before.Equal(c.Run.LogicalDate) {
		t.Errorf("previous run read %d times before %v, want once before the run's logical date %v", n, runs.before, c.Run.LogicalDate)
	}
}

// TestContextAsKwargs: a task function written def f(**context), as
// Airflow's PythonOperator calls it, receives the context as keyword
// arguments; one with a ctx parameter does not.
func TestContextAsKwargs(t *testing.T) {
	t.Parallel()
	r, f, c, _, _ := setup(t)
	c.Task = f.DAGs[0].Task("airflow_style")
	got, err := r.CallFunction(context.Background(), c, c.Task.Function, nil, map[string]any{"factor": int64(3)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"ds": "2024-01-01", "run_id": "scheduled__2024-01-01T00:00:00+00:00", "params": map[string]any{"region": "eu"},
		"pulled": []any{int64(1), int64(2), int64(3)}, "same": true, "factor": int64(3),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("def f(**context):\n got %#v\nwant %#v", got, want)
	}
	c.Task = f.DAGs[0].Task("ctx_and_kwargs")
	got, err = r.CallFunction(context.Background(), c, c.Task.Function, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []any{}) {
		t.Errorf("def f(ctx, **kw) got keywords %v, want none", got)
	}
	// Named parameters take the context values they name, past the
	// positional arguments given; keywords the task passes win.
	c.Task = f.DAGs[0].Task("named_context")
	got, err = r.CallFunction(context.Background(), c, c.Task.Function, c.Task.Config["args"].([]any), c.Task.Config["kwargs"].(map[string]any))
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]any{"rows": []any{int64(1)}, "ds": "2024-01-01", "pulled": []any{int64(1), int64(2), int64(3)}, "factor": int64(2), "params": "mine"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("def f(rows, ds, ti, ...):\n got %#v\nwant %#v", got, want)
	}
}

func TestXComArguments(t *testing.T) {
	t.Parallel()
	r, f, c, _, _ := setup(t)
	consume := f.DAGs[0].Task("consume")
	if up := consume.Upstream; len(up) != 1 || up[0] != "produce" {
		t.Fatalf("t.output did not add the edge produce >> consume: upstream %v", up)
	}
	c.Task = consume
	got, err := r.CallFunction(context.Background(), c, consume.Function, consume.Config["args"].([]any), consume.Config["kwargs"].(map[string]any))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"sum":    int64(12),
		"meta":   "m",
		"nested": []any{map[string]any{"rows": []any{int64(1), int64(2), int64(3)}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("consume returned %#v, want %#v", got, want)
	}
}

func TestContextServices(t *testing.T) {
	t.Parallel()
	r, _, c, x, log := setup(t)
	got, err := r.CallFunction(context.Background(), c, "calls/use_services", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]any{"rows": []any{int64(1), int64(2), int64(3)}}
	want := map[string]any{
		"one":         rows,
		"many":        []any{rows, nil},
		"keyed":       "m",
		"var":         "eu-west",
		"missing_var": "fallback",
		"conn":        []any{"postgres", "db", int64(5432), "etl", "secret", "dw", map[string]any{"sslmode": "require"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("use_services returned\n %#v\nwant %#v", got, want)
	}
	if pushed := x.get("context_values", "extra"); !reflect.DeepEqual(pushed, map[string]any{"k": []any{int64(1), nil}}) {
		t.Errorf("xcom_push stored %#v", pushed)
	}
	if s := log.String(); !strings.Contains(s, "pulled 2 values\n") || !strings.Contains(s, "printed 42\n") {
		t.Errorf("task log = %q, want ctx.log and print lines", s)
	}
}

// TestAirflowAccessors: ctx.var.value/json, ctx.conn.<id> and
// ctx.conn.get as Airflow's context["var"] and context["conn"];
// ctx.xcom_pull with Airflow's defaults (this task, return_value,
// default) and key=None for any key.
func TestAirflowAccessors(t *testing.T) {
	t.Parallel()
	r, _, c, _, _ := setup(t)
	got, err := r.CallFunction(context.Background(), c, "calls/airflow_accessors", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"value": "eu-west", "json": int64(3), "get": "d", "json_get": nil, "host": "db", "dejson": "require",
		"no_conn": nil, "self": int64(5), "default": int64(0), "any_key": "m",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("airflow_accessors returned\n %#v\nwant %#v", got, want)
	}
	for fn, w := range map[string]string{
		"calls/missing_conn": "the conn_id `nowhere` isn't defined",
		"calls/missing_var":  `variable "nope" does not exist (use ctx.var.value.get("nope", default)`,
	} {
		_, err := r.CallFunction(context.Background(), c, fn, nil, nil)
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("%s: err = %v, want %q", fn, err, w)
		}
	}
}

func TestRuntimeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		key     string
		args    []any
		want    string
		wantLog string
	}{
		{"error in a nested call", "calls/divide", []any{0}, "dags/calls.star:37:15: floored division by zero",
			"Traceback (most recent call last):\n  dags/calls.star:40:18: in divide\n  dags/calls.star:37:15: in helper\nError: floored division by zero"},
		{"result is not JSON-like", "calls/returns_function", nil,
			"dags/calls.star:42:1: returns_function returned a value that cannot be stored as an XCom: a function is not a JSON-like value (None, bool, int, float, string, list or dict)", ""},
		{"globals are frozen", "calls/mutate_global", nil, "dags/calls.star:46:19: append: cannot append to frozen list", ""},
		{"no tasks at run time", "calls/define_task", nil,
			"dags/calls.star:49:17: empty: DAGs and tasks can only be defined while a DAG file is parsed, not when a task runs", ""},
		{"wrong arguments", "calls/identity", []any{1, 2}, "dags/calls.star:59:12: function identity accepts 1 positional argument (2 given)", ""},
		{"unknown key", "calls/nothing", nil, `function "calls/nothing" is not defined by dags/calls.star`, ""},
		{"unconvertible argument", "calls/identity", []any{struct{}{}}, `function "calls/identity": argument 1: cannot convert a Go struct {} to a Starlark value`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, _, c, _, log := setup(t)
			_, err := r.CallFunction(context.Background(), c, tt.key, tt.args, nil)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error = %v\nwant %s", err, tt.want)
			}
			if !strings.Contains(log.String(), tt.wantLog) {
				t.Errorf("task log = %q, want it to contain %q", log.String(), tt.wantLog)
			}
		})
	}
}

func TestTimeNowAtRunTime(t *testing.T) {
	t.Parallel()
	r, _, c, _, _ := setup(t)
	before := time.Now().Add(-time.Second)
	got, err := r.CallFunction(context.Background(), c, "calls/now", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := time.Parse(time.RFC3339Nano, got.(string))
	if err != nil || ts.Before(before) || ts.After(time.Now().Add(time.Second)) {
		t.Errorf("time.now() at run time = %v (%v), want the current time", got, err)
	}
}

func TestCancellation(t *testing.T) {
	t.Parallel()
	r, _, c, _, _ := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.CallFunction(ctx, c, "calls/spin", nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want one wrapping context.DeadlineExceeded", err)
	}
	if !strings.HasPrefix(err.Error(), "dags/calls.star:") {
		t.Errorf("error %q has no position", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("cancellation took %s", d)
	}
	if _, err := r.CallFunction(ctx, c, "calls/identity", []any{1}, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a call with a done context: error = %v", err)
	}
}

func TestCallbacks(t *testing.T) {
	t.Parallel()
	r, f, c, _, log := setup(t)
	cbs := f.DAGs[0].Task("divide").Callbacks.OnFailure
	if len(cbs) != 1 || cbs[0].Function != "calls/divide:on_failure_callback" {
		t.Fatalf("callbacks = %+v", cbs)
	}
	key := cbs[0].Function
	c.Task = f.DAGs[0].Task("divide")
	c.State, c.Exception = dags.TaskStateFailed, "division by zero"
	if _, err := r.CallFunction(context.Background(), c, key, nil, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "failed: divide\nstate=failed exception=division by zero\n") {
		t.Errorf("callback log = %q", log.String())
	}
}

func TestConcurrentCalls(t *testing.T) {
	t.Parallel()
	r, _, c, _, _ := setup(t)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				n := int64(g*1000 + i)
				got, err := r.CallFunction(context.Background(), c, "calls/identity", []any{[]any{n, "x"}}, nil)
				if err != nil {
					t.Error(err)
					return
				}
				if !reflect.DeepEqual(got, []any{n, "x"}) {
					t.Errorf("got %v, want [%d x]", got, n)
					return
				}
				if _, err := r.CallFunction(context.Background(), c, "calls/use_services", nil, nil); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestWithFiles(t *testing.T) {
	t.Parallel()
	_, f, c, _, _ := setup(t)
	r := call.NewWithFiles(func(_ context.Context, c *operators.Call) (*loader.File, error) {
		if c.DAG.SourceHash != f.Hash {
			return nil, fmt.Errorf("unknown version %s", c.DAG.SourceHash)
		}
		return f, nil
	})
	got, err := r.CallFunction(context.Background(), c, "calls/identity", []any{"v"}, nil)
	if err != nil || got != "v" {
		t.Fatalf("got %v, %v", got, err)
	}
}

func BenchmarkCallTrivial(b *testing.B) {
	r, _, c, _, _ := setup(b)
	args := []any{int64(1)}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.CallFunction(ctx, c, "calls/identity", args, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallWithContext(b *testing.B) {
	r, _, c, _, _ := setup(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.CallFunction(ctx, c, "calls/produce", nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallParallel(b *testing.B) {
	r, _, c, _, _ := setup(b)
	args := []any{int64(1)}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.CallFunction(context.Background(), c, "calls/identity", args, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// memXCom is an in-memory XCom of one run; pushes go to the call's task.
type memXCom struct {
	mu     sync.Mutex
	values map[string]any
}

func (m *memXCom) Pull(_ context.Context, taskID, key string) (any, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.values[taskID+"/"+key]
	return v, ok, nil
}

func (m *memXCom) Push(_ context.Context, key string, value any) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.values["context_values/"+key] = value
	return nil
}

// PullLatest returns produce's meta, the XCom it pushed last.
func (m *memXCom) PullLatest(_ context.Context, taskID string) (any, bool, error) {
	if taskID != "produce" {
		return nil, false, nil
	}
	return m.get("produce", "meta"), true, nil
}

func (m *memXCom) get(taskID, key string) any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.values[taskID+"/"+key]
}

type memVars map[string]string

func (v memVars) Get(_ context.Context, name string) (string, bool, error) {
	s, ok := v[name]
	return s, ok, nil
}

type memConns map[string]*operators.Connection

func (m memConns) Get(_ context.Context, id string) (*operators.Connection, error) {
	c, ok := m[id]
	if !ok {
		return nil, fmt.Errorf("connection %q: %w", id, operators.ErrNotFound)
	}
	return c, nil
}

// syncBuffer is a task log safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
