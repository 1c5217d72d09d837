package function

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/runtime/templates"
)

// fakeRunner records the calls it gets and answers with result or err.
type fakeRunner struct {
	mu     sync.Mutex
	calls  []fakeCall
	result any
	err    error
}

type fakeCall struct {
	key    string
	args   []any
	kwargs map[string]any
}

func (f *fakeRunner) CallFunction(_ context.Context, _ *operators.Call, key string, args []any, kwargs map[string]any) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fakeCall{key, args, kwargs})
	return f.result, f.err
}

func setup(t *testing.T, config map[string]any, runner *fakeRunner) *operators.Call {
	t.Helper()
	task := dags.NewTask("analyze", Kind, dags.Pos{})
	task.Function = "etl.star:analyze_fn"
	task.Config = config
	c := &operators.Call{
		Task:      task,
		TryNumber: 1,
		Run: operators.RunInfo{
			DAGID: "etl", RunID: "manual__2024-01-15T00:00:00+00:00",
			LogicalDate: time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC),
		},
		Params:    map[string]any{"table": "events"},
		Functions: runner,
	}
	c.Renderer = templates.NewRenderer(c)
	return c
}

func TestExecutePassesRenderedArguments(t *testing.T) {
	t.Parallel()
	ref := dags.XComRef{TaskID: "extract", Key: "return_value"}
	config := map[string]any{
		"args": []any{"{{ ds }}", int64(3), ref, []any{"{{ params.table }}", true}},
		"kwargs": map[string]any{
			"path":   "/data/{{ ds_nodash }}/x.csv",
			"rows":   ref,
			"nested": map[string]any{"when": "{{ ts }}", "n": 1.5},
			"plain":  "no template",
		},
	}
	runner := &fakeRunner{result: map[string]any{"count": int64(42)}}
	c := setup(t, config, runner)
	res, err := New().Execute(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.State != dags.TaskStateSuccess || !reflect.DeepEqual(res.ReturnValue, map[string]any{"count": int64(42)}) {
		t.Errorf("result = %+v, want success with the function's value", res)
	}
	if len(runner.calls) != 1 {
		t.Fatalf("runner called %d times, want 1", len(runner.calls))
	}
	got := runner.calls[0]
	if got.key != "etl.star:analyze_fn" {
		t.Errorf("key = %q", got.key)
	}
	wantArgs := []any{"2024-01-15", int64(3), ref, []any{"events", true}}
	if !reflect.DeepEqual(got.args, wantArgs) {
		t.Errorf("args = %#v, want %#v", got.args, wantArgs)
	}
	wantKwargs := map[string]any{
		"path":   "/data/20240115/x.csv",
		"rows":   ref,
		"nested": map[string]any{"when": "2024-01-15T00:00:00+00:00", "n": 1.5},
		"plain":  "no template",
	}
	if !reflect.DeepEqual(got.kwargs, wantKwargs) {
		t.Errorf("kwargs = %#v, want %#v", got.kwargs, wantKwargs)
	}
	// The task's config is shared by every try: it must not change.
	if config["args"].([]any)[0] != "{{ ds }}" || config["kwargs"].(map[string]any)["nested"].(map[string]any)["when"] != "{{ ts }}" {
		t.Errorf("Execute changed the task's config: %#v", config)
	}
}

func TestExecuteWithoutArguments(t *testing.T) {
	t.Parallel()
	runner := &fakeRunner{result: "done"}
	res, err := New().Execute(context.Background(), setup(t, map[string]any{}, runner))
	if err != nil {
		t.Fatal(err)
	}
	if res.ReturnValue != "done" {
		t.Errorf("return value = %v, want done", res.ReturnValue)
	}
	if got := runner.calls[0]; got.args != nil || got.kwargs != nil {
		t.Errorf("runner got args %#v kwargs %#v, want nil, nil", got.args, got.kwargs)
	}
}

func TestExecuteErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name      string
		config    map[string]any
		runner    *fakeRunner
		noFunc    bool
		noRunner  bool
		wantErr   string
		wantFinal bool
		wantIs    error
	}{
		{name: "a function error is retryable", runner: &fakeRunner{err: boom}, wantErr: `task "analyze": boom`, wantIs: boom},
		{name: "a Fail from the function stays final", runner: &fakeRunner{err: operators.Fail(boom)}, wantErr: "boom", wantFinal: true, wantIs: boom},
		{name: "no function", noFunc: true, wantErr: "has no function", wantFinal: true},
		{name: "no runner", noRunner: true, wantErr: "no function runner", wantFinal: true},
		{name: "args not a list", config: map[string]any{"args": "x"}, wantErr: "args must be a list", wantFinal: true},
		{name: "kwargs not a dict", config: map[string]any{"kwargs": []any{}}, wantErr: "kwargs must be a dict", wantFinal: true},
		{name: "a template error names the argument", config: map[string]any{"kwargs": map[string]any{"p": "{{ var.value.nope }}"}}, wantErr: `kwargs: ["p"]: render template`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			runner := tt.runner
			if runner == nil {
				runner = &fakeRunner{}
			}
			c := setup(t, tt.config, runner)
			c.Variables = noVars{}
			if tt.noFunc {
				c.Task.Function = ""
			}
			if tt.noRunner {
				c.Functions = nil
			}
			_, err := New().Execute(context.Background(), c)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if operators.IsFinal(err) != tt.wantFinal {
				t.Errorf("IsFinal(%v) = %v, want %v", err, operators.IsFinal(err), tt.wantFinal)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err %v does not wrap %v", err, tt.wantIs)
			}
		})
	}
}

type noVars struct{}

func (noVars) Get(context.Context, string) (string, bool, error) { return "", false, nil }

func TestRegister(t *testing.T) {
	t.Parallel()
	r := operators.NewRegistry()
	Register(r)
	op, err := r.Lookup(dags.OperatorTask)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := op.(*Operator); !ok {
		t.Errorf("registered %T, want *function.Operator", op)
	}
}

func TestMappedKeywordArgumentsAreNotTemplated(t *testing.T) {
	t.Parallel()
	runner := &fakeRunner{}
	c := setup(t, map[string]any{"kwargs": map[string]any{"day": "{{ ds }}", "item": "{{ ds }}"}}, runner)
	c.Mapped = map[string]bool{"item": true}
	if _, err := New().Execute(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	got := runner.calls[0].kwargs
	if got["day"] != "2024-01-15" || got["item"] != "{{ ds }}" {
		t.Errorf("kwargs = %v; want day rendered and the mapped item as it is", got)
	}
}
