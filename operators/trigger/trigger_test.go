package trigger_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/operators/bash"
	"github.com/starflow-dev/starflow/operators/trigger"
	"github.com/starflow-dev/starflow/runtime/executor"
	"github.com/starflow-dev/starflow/runtime/localrun"
	"github.com/starflow-dev/starflow/runtime/templates"
)

// setup returns a Triggered over one DAG "child" whose bash task exits
// with params.exit, and a Call of a trigger_dag task with cfg.
func setup(t *testing.T, cfg map[string]any) (*operators.Call, *localrun.Triggered) {
	t.Helper()
	child := dags.New("child", dags.Pos{File: "child.star", Line: 1})
	child.Params = map[string]any{"exit": int64(0)}
	task := dags.NewTask("show", dags.OperatorBash, dags.Pos{File: "child.star", Line: 2})
	task.Config = map[string]any{"bash_command": "exit {{ params.exit }}"}
	child.AddTask(task)
	if fs := child.Finalize(); len(fs) > 0 {
		t.Fatal(fs)
	}
	reg := operators.NewRegistry()
	bash.Register(reg)
	engine := templates.NewEngine()
	runner := &executor.TryRunner{Registry: reg, NewRenderer: func(c *operators.Call) operators.Renderer { return engine.Renderer(c) }}
	find := func(_ context.Context, id string) (*dags.DAG, operators.FunctionRunner, error) {
		if id == "child" {
			return child, nil, nil
		}
		return nil, nil, fmt.Errorf("%q: %w", id, localrun.ErrNoDAG)
	}
	runs := localrun.NewTriggered(context.Background(), find, localrun.Options{Runner: runner})
	t.Cleanup(func() { runs.Wait() })

	parent := dags.New("parent", dags.Pos{File: "parent.star", Line: 1})
	tt := dags.NewTask("trigger", trigger.Kind, dags.Pos{File: "parent.star", Line: 2})
	tt.Config = cfg
	parent.AddTask(tt)
	c := &operators.Call{DAG: parent, Task: tt, TryNumber: 1, DagRuns: runs,
		Run: operators.RunInfo{DAGID: "parent", RunID: "r", LogicalDate: time.Date(2024, 5, 6, 0, 0, 0, 0, time.UTC)}}
	c.Renderer = engine.Renderer(c)
	return c, runs
}

func TestSpecIsValidAndDocumented(t *testing.T) {
	t.Parallel()
	s := trigger.New().Spec()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"../../docs/operators.md", "../../docs/authoring.md"} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		_, section, ok := strings.Cut(string(data), "\n## `"+s.Kind+"`\n")
		if !ok {
			t.Fatalf("%s has no section ## `%s`", file, s.Kind)
		}
		section, _, _ = strings.Cut(section, "\n## ")
		for _, p := range s.Params {
			if !strings.Contains(section, p.Name) {
				t.Errorf("%s: the %s section does not mention parameter %s", file, s.Kind, p.Name)
			}
		}
	}
}

func TestDefaultsRunIDFromTheLogicalDate(t *testing.T) {
	t.Parallel()
	c, runs := setup(t, map[string]any{"trigger_dag_id": "child", "logical_date": "{{ ds }}", "conf": map[string]any{"exit": 0}})
	res, err := trigger.New().Execute(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.ReturnValue != "manual__2024-05-06T00:00:00+00:00" {
		t.Errorf("return value = %v, want the default run id manual__2024-05-06T00:00:00+00:00", res.ReturnValue)
	}
	results, err := runs.Wait()
	if err != nil || len(results) != 1 || results[0].State != dags.DagRunStateSuccess || !results[0].LogicalDate.Equal(c.Run.LogicalDate) {
		t.Fatalf("triggered runs = %+v, %v; want one successful run at 2024-05-06", results, err)
	}
}

func TestWaitForCompletion(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		cfg     map[string]any
		wantErr string
	}{
		{"a successful run makes the task succeed", map[string]any{"exit": int64(0)}, ""},
		{"a failed run fails the task", map[string]any{"exit": int64(2)}, "ended failed, one of failed_states"},
		{"a state in neither list fails instead of waiting forever", map[string]any{"exit": int64(2), "failed_states": []any{}}, "in neither allowed_states"},
		{"allowed_states may accept a failure", map[string]any{"exit": int64(2), "allowed_states": "failed", "failed_states": []any{"success"}}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := map[string]any{"trigger_dag_id": "child", "conf": map[string]any{"exit": tt.cfg["exit"]}, "wait_for_completion": true, "poke_interval": 10 * time.Millisecond}
			for _, k := range []string{"allowed_states", "failed_states"} {
				if v, ok := tt.cfg[k]; ok {
					cfg[k] = v
				}
			}
			c, _ := setup(t, cfg)
			res, err := trigger.New().Execute(context.Background(), c)
			if tt.wantErr == "" {
				if err != nil || res.State != dags.TaskStateSuccess {
					t.Fatalf("Execute = %+v, %v; want success", res, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Execute error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestExistingRunAndUnknownDAG(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, map[string]any{"trigger_dag_id": "child", "trigger_run_id": "fixed"})
	if _, err := trigger.New().Execute(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if _, err := trigger.New().Execute(context.Background(), c); err == nil || !strings.Contains(err.Error(), "run fixed of DAG child exists already") {
		t.Errorf("second trigger with the same run id: %v, want an error that says the run exists", err)
	}
	c.Task.Config["skip_when_already_exists"] = true
	if res, err := trigger.New().Execute(context.Background(), c); err != nil || res.State != dags.TaskStateSkipped {
		t.Errorf("with skip_when_already_exists: %+v, %v; want skipped", res, err)
	}
	c.Task.Config = map[string]any{"trigger_dag_id": "nope"}
	_, err := trigger.New().Execute(context.Background(), c)
	if err == nil || !operators.IsFinal(err) || !strings.Contains(err.Error(), `DAG "nope" does not exist`) {
		t.Errorf("unknown DAG: %v, want a final error that names it", err)
	}
	c.Task.Config = map[string]any{"trigger_dag_id": "child", "allowed_states": []any{"done"}}
	if _, err := trigger.New().Execute(context.Background(), c); err == nil || !operators.IsFinal(err) || !strings.Contains(err.Error(), `unknown DAG run state "done"`) {
		t.Errorf("bad allowed_states: %v, want a final error", err)
	}
	c.DagRuns = nil
	c.Task.Config = map[string]any{"trigger_dag_id": "child"}
	if _, err := trigger.New().Execute(context.Background(), c); !operators.IsFinal(err) {
		t.Errorf("without DagRuns: %v, want a final error", err)
	}
}

func TestResetDagRunRunsAnExistingRunAgain(t *testing.T) {
	t.Parallel()
	c, runs := setup(t, map[string]any{"trigger_dag_id": "child", "trigger_run_id": "fixed", "wait_for_completion": true, "poke_interval": 10 * time.Millisecond})
	if _, err := trigger.New().Execute(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	c.Task.Config["reset_dag_run"] = true
	res, err := trigger.New().Execute(context.Background(), c)
	if err != nil || res.ReturnValue != "fixed" {
		t.Fatalf("with reset_dag_run: %+v, %v; want the run fixed again", res, err)
	}
	results, err := runs.Wait()
	if err != nil || len(results) != 2 {
		t.Fatalf("child ran %d times (%v), want twice: once, then again after the reset", len(results), err)
	}
	for _, r := range results {
		if r.RunID != "fixed" || r.State != dags.DagRunStateSuccess {
			t.Errorf("child run %s: %s", r.RunID, r.State)
		}
	}
	if err := runs.Reset(context.Background(), "child", "nope"); !errors.Is(err, operators.ErrNoRun) {
		t.Errorf("reset of an unknown run: %v, want ErrNoRun", err)
	}
}
