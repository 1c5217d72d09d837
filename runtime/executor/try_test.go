package executor_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/executor"
)

// recordingFunctions is a FunctionRunner that records the keys it is asked to call.
type recordingFunctions struct {
	mu    sync.Mutex
	calls []string
}

func (r *recordingFunctions) CallFunction(_ context.Context, c *operators.Call, key string, _ []any, _ map[string]any) (any, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, key)
	return nil, nil
}

type memXCom map[string]any

func (m memXCom) Pull(_ context.Context, taskID, key string) (any, bool, error) {
	v, ok := m[taskID+"/"+key]
	return v, ok, nil
}
func (m memXCom) Push(_ context.Context, key string, v any) error { m["t/"+key] = v; return nil }

func setup(t *testing.T, op operators.OperatorFunc, tweak func(*dags.Task)) (*executor.TryRunner, *executor.Try, *recordingFunctions, memXCom) {
	t.Helper()
	reg := operators.NewRegistry()
	reg.Register("op", op)
	d := dags.New("d", dags.Pos{File: "d.star", Line: 1})
	d.Params = map[string]any{"a": "dag", "b": "dag", "c": "dag"}
	task := dags.NewTask("t", "op", dags.Pos{File: "d.star", Line: 2})
	task.Params = map[string]any{"b": "task", "c": "task"}
	task.Callbacks = dags.Callbacks{OnSuccess: []dags.Callback{{Function: "ok_cb"}}, OnFailure: []dags.Callback{{Function: "fail_cb"}}, OnRetry: []dags.Callback{{Function: "retry_cb"}}}
	if tweak != nil {
		tweak(task)
	}
	d.AddTask(task)
	d.Finalize()
	fns := &recordingFunctions{}
	x := memXCom{}
	try := &executor.Try{DAG: d, Task: task, TryNumber: 1, MapIndex: -1, XCom: x, Functions: fns,
		Run: operators.RunInfo{DAGID: "d", RunID: "r", Conf: map[string]any{"c": "conf"}}}
	return &executor.TryRunner{Registry: reg}, try, fns, x
}

func TestParamsMergeDAGTaskConf(t *testing.T) {
	t.Parallel()
	var got map[string]any
	r, try, _, _ := setup(t, func(_ context.Context, c *operators.Call) (*operators.Result, error) {
		got = c.Params
		return operators.Success(nil), nil
	}, nil)
	r.Run(context.Background(), try)
	want := map[string]any{"a": "dag", "b": "task", "c": "conf"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("params[%s] = %v, want %v", k, got[k], v)
		}
	}
}

func TestOutcomes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		op       operators.OperatorFunc
		retries  int
		try      int
		want     dags.TaskState
		callback string
		errLike  string
	}{
		{"success pushes the return value", func(context.Context, *operators.Call) (*operators.Result, error) { return operators.Success("v"), nil }, 0, 1, dags.TaskStateSuccess, "ok_cb", ""},
		{"skip", func(context.Context, *operators.Call) (*operators.Result, error) {
			return operators.Skipped("nothing to do"), nil
		}, 0, 1, dags.TaskStateSkipped, "", ""},
		{"error with retries left", func(context.Context, *operators.Call) (*operators.Result, error) { return nil, errors.New("boom") }, 2, 2, dags.TaskStateUpForRetry, "retry_cb", "boom"},
		{"error on the last try", func(context.Context, *operators.Call) (*operators.Result, error) { return nil, errors.New("boom") }, 2, 3, dags.TaskStateFailed, "fail_cb", "boom"},
		{"final error ignores retries", func(context.Context, *operators.Call) (*operators.Result, error) {
			return nil, operators.Fail(errors.New("bad input"))
		}, 5, 1, dags.TaskStateFailed, "fail_cb", "bad input"},
		{"panic fails the try", func(context.Context, *operators.Call) (*operators.Result, error) { panic("kaboom") }, 0, 1, dags.TaskStateFailed, "fail_cb", "kaboom"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, try, fns, x := setup(t, tc.op, func(task *dags.Task) { task.Retries = tc.retries })
			try.TryNumber = tc.try
			out := r.Run(context.Background(), try)
			if out.State != tc.want {
				t.Fatalf("state %s, want %s (err %v)", out.State, tc.want, out.Err)
			}
			if tc.errLike != "" && (out.Err == nil || !strings.Contains(out.Err.Error(), tc.errLike)) {
				t.Errorf("err %v, want it to contain %q", out.Err, tc.errLike)
			}
			if tc.want == dags.TaskStateSuccess && x["t/return_value"] != "v" {
				t.Errorf("return value not pushed: %v", x)
			}
			got := strings.Join(fns.calls, ",")
			if got != tc.callback {
				t.Errorf("callbacks %q, want %q", got, tc.callback)
			}
		})
	}
}

func TestExecutionTimeout(t *testing.T) {
	t.Parallel()
	r, try, _, _ := setup(t, func(ctx context.Context, _ *operators.Call) (*operators.Result, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}, func(task *dags.Task) { task.ExecutionTimeout = 30 * time.Millisecond; task.Retries = 1 })
	out := r.Run(context.Background(), try)
	if !out.TimedOut || out.State != dags.TaskStateUpForRetry {
		t.Fatalf("timed out %v, state %s; want a timed-out try up for retry", out.TimedOut, out.State)
	}
	if d := out.Duration(); d < 30*time.Millisecond || d > time.Second {
		t.Errorf("a 30ms timeout stopped the try after %s", d)
	}
	if !strings.Contains(out.Err.Error(), "execution_timeout of 30ms") {
		t.Errorf("error %q", out.Err)
	}
}

func TestUnknownOperatorFailsWithoutRetry(t *testing.T) {
	t.Parallel()
	r, try, _, _ := setup(t, func(context.Context, *operators.Call) (*operators.Result, error) { return nil, nil }, func(task *dags.Task) {
		task.Operator = "nope"
		task.Retries = 3
	})
	out := r.Run(context.Background(), try)
	if out.State != dags.TaskStateFailed || !strings.Contains(out.Err.Error(), `no operator registered for kind "nope"`) {
		t.Fatalf("state %s err %v", out.State, out.Err)
	}
}
