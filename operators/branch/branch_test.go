package branch

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

// edge is upstream >> downstream.
type edge [2]string

// buildDAG builds a finalized DAG whose tasks are defined in order of id
// (so ties in the topological order are broken alphabetically); a task id
// with a dot is in the group named by what comes before its last dot.
func buildDAG(t testing.TB, kinds map[string]string, edges []edge) *dags.DAG {
	t.Helper()
	d := dags.New("etl", dags.Pos{})
	for _, id := range slices.Sorted(maps.Keys(kinds)) {
		task := dags.NewTask(id, kinds[id], dags.Pos{})
		if i := strings.LastIndexByte(id, '.'); i >= 0 {
			task.Group = id[:i]
		}
		task.Function = id + "_fn"
		d.AddTask(task)
	}
	for _, e := range edges {
		d.Connect(e[0], e[1], dags.Pos{})
	}
	if f := d.Finalize(); len(f) > 0 {
		t.Fatalf("finalize: %v", f)
	}
	return d
}

// branchDAG is:
//
//	check >> [describe, fix, report, grp.a, grp.c]
//	[describe, fix] >> report;  grp.a >> grp.b >> report;  grp.c
//	inner.pick >> [inner.x, inner.y, inner.sub.p];  inner.sub.p >> inner.sub.q
//	x (a top-level task that shares its short name with inner.x)
func branchDAG(t testing.TB) *dags.DAG {
	const b, e = dags.OperatorBranch, dags.OperatorEmpty
	return buildDAG(t, map[string]string{
		"check": b, "describe": e, "fix": e, "report": e, "grp.a": e, "grp.b": e, "grp.c": e,
		"inner.pick": b, "inner.x": e, "inner.y": e, "inner.sub.p": e, "inner.sub.q": e, "inner.only": e, "x": e,
	}, []edge{
		{"check", "describe"}, {"check", "fix"}, {"check", "report"}, {"check", "grp.a"}, {"check", "grp.c"},
		{"describe", "report"}, {"fix", "report"}, {"grp.a", "grp.b"}, {"grp.b", "report"},
		{"inner.pick", "inner.x"}, {"inner.pick", "inner.y"}, {"inner.pick", "inner.sub.p"}, {"inner.pick", "inner.only"},
		{"inner.sub.p", "inner.sub.q"},
	})
}

// fakeRunner answers every call with result or err.
type fakeRunner struct {
	result any
	err    error
	keys   []string
}

func (f *fakeRunner) CallFunction(_ context.Context, _ *operators.Call, key string, _ []any, _ map[string]any) (any, error) {
	f.keys = append(f.keys, key)
	return f.result, f.err
}

// call returns a call of task taskID whose log goes to a fresh buffer.
func call(d *dags.DAG, taskID string, r *fakeRunner) *operators.Call {
	return &operators.Call{DAG: d, Task: d.Task(taskID), Functions: r, Run: operators.RunInfo{DAGID: d.ID}, Log: &bytes.Buffer{}}
}

// checkNotLogged fails when the operator wrote its decision to the log
// itself: the executor logs Result.Message, so it would appear twice.
func checkNotLogged(t *testing.T, c *operators.Call, res *operators.Result) {
	t.Helper()
	if res.Message == "" {
		t.Fatal("the result has no message")
	}
	if logged := c.Log.(*bytes.Buffer).String(); strings.Contains(logged, res.Message) {
		t.Errorf("the operator logged its message itself (the executor does): %q", logged)
	}
}

func TestBranchExecute(t *testing.T) {
	t.Parallel()
	d := branchDAG(t)
	tests := []struct {
		name     string
		result   any
		wantSkip []string
		wantMsg  string
	}{
		{"a string", "describe", []string{"fix", "grp.a", "grp.c"}, "following describe; skipping fix, grp.a, grp.c"},
		{"a list", []any{"describe", "grp"}, []string{"fix"}, "following describe, grp"},
		{"None", nil, []string{"describe", "fix", "grp.a", "grp.c", "report"}, "branch returned no task"},
		{"the join, skips in topological order", "report", []string{"describe", "fix", "grp.a", "grp.c"},
			"following report; skipping describe, fix, grp.a, grp.c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &fakeRunner{result: tt.result}
			c := call(d, "check", r)
			res, err := NewBranch().Execute(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			checkNotLogged(t, c, res)
			if res.State != dags.TaskStateSuccess {
				t.Errorf("state = %q, want success (the branch task itself succeeds)", res.State)
			}
			if !reflect.DeepEqual(res.Skip, tt.wantSkip) {
				t.Errorf("skip = %q, want %q", res.Skip, tt.wantSkip)
			}
			if !reflect.DeepEqual(res.ReturnValue, tt.result) {
				t.Errorf("return value = %#v, want the function's result %#v", res.ReturnValue, tt.result)
			}
			if !strings.Contains(res.Message, tt.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", res.Message, tt.wantMsg)
			}
			if len(r.keys) != 1 || r.keys[0] != "check_fn" {
				t.Errorf("runner called with %q, want [check_fn]", r.keys)
			}
		})
	}
}

func TestBranchExecuteErrors(t *testing.T) {
	t.Parallel()
	d := branchDAG(t)
	boom := errors.New("boom")
	tests := []struct {
		name      string
		runner    *fakeRunner
		want      string
		wantFinal bool
	}{
		{"a number", &fakeRunner{result: int64(3)}, "must return a task id, a list of task ids or None, got 3", true},
		{"a list with a number", &fakeRunner{result: []any{"fix", int64(1)}}, "item 1 is 1", true},
		{"an unknown id", &fakeRunner{result: "fxi"}, `did you mean "fix"?`, true},
		{"several unknown ids", &fakeRunner{result: []any{"fxi", "nope"}}, `returned "fxi", "nope", which are not tasks`, true},
		{"the function fails", &fakeRunner{err: boom}, "boom", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewBranch().Execute(context.Background(), call(d, "check", tt.runner))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
			if operators.IsFinal(err) != tt.wantFinal {
				t.Errorf("IsFinal = %v, want %v", operators.IsFinal(err), tt.wantFinal)
			}
		})
	}
}

// shortCircuitDAG is sc >> [a, c]; a >> b (b would run on all_done).
func shortCircuitDAG(t testing.TB) *dags.DAG {
	d := buildDAG(t, map[string]string{"sc": dags.OperatorShortCircuit, "a": "empty", "b": "empty", "c": "empty", "other": "empty"},
		[]edge{{"sc", "a"}, {"sc", "c"}, {"a", "b"}})
	d.Task("b").TriggerRule = dags.TriggerAllDone
	return d
}

func TestShortCircuitExecute(t *testing.T) {
	t.Parallel()
	d := shortCircuitDAG(t)
	tests := []struct {
		name      string
		result    any
		ignore    any // Config["ignore_downstream_trigger_rules"]; nil: absent
		wantSkip  []string
		wantValue any
	}{
		{"truthy: nothing skipped, value returned", "go", nil, nil, "go"},
		{"truthy list", []any{int64(0)}, false, nil, []any{int64(0)}},
		{"falsy with the default skips all downstream", false, nil, []string{"a", "b", "c"}, nil},
		{"falsy None with ignore true", nil, true, []string{"a", "b", "c"}, nil},
		{"falsy 0 with ignore false skips only direct downstream", int64(0), false, []string{"a", "c"}, nil},
		{"falsy empty string", "", nil, []string{"a", "b", "c"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := call(d, "sc", &fakeRunner{result: tt.result})
			if tt.ignore != nil {
				task := *c.Task
				task.Config = map[string]any{"ignore_downstream_trigger_rules": tt.ignore}
				c.Task = &task
			}
			res, err := NewShortCircuit().Execute(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			checkNotLogged(t, c, res)
			if res.State != dags.TaskStateSuccess {
				t.Errorf("state = %q, want success", res.State)
			}
			if !reflect.DeepEqual(res.Skip, tt.wantSkip) {
				t.Errorf("skip = %q, want %q", res.Skip, tt.wantSkip)
			}
			if !reflect.DeepEqual(res.ReturnValue, tt.wantValue) {
				t.Errorf("return value = %#v, want %#v", res.ReturnValue, tt.wantValue)
			}
		})
	}
}

func TestShortCircuitBadConfig(t *testing.T) {
	t.Parallel()
	d := shortCircuitDAG(t)
	c := call(d, "sc", &fakeRunner{result: false})
	task := *c.Task
	task.Config = map[string]any{"ignore_downstream_trigger_rules": "yes"}
	c.Task = &task
	_, err := NewShortCircuit().Execute(context.Background(), c)
	if err == nil || !operators.IsFinal(err) || !strings.Contains(err.Error(), "must be a bool") {
		t.Fatalf("err = %v, want a final error about the bool", err)
	}
}

func TestRegister(t *testing.T) {
	t.Parallel()
	r := operators.NewRegistry()
	Register(r)
	if got := r.Kinds(); !reflect.DeepEqual(got, []string{"branch", "branch_datetime", "branch_day_of_week", "latest_only", "short_circuit"}) {
		t.Errorf("kinds = %q", got)
	}
}
