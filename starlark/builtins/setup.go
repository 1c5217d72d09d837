package builtins

import (
	"fmt"

	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/dags"
)

// asSetupMethod returns t.as_setup(), which marks t a setup task and
// returns it, as Airflow's BaseOperator.as_setup.
func (t *Task) asSetupMethod() *starlark.Builtin {
	return Safe("as_setup", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
			return nil, err
		}
		if err := t.checkOpen("as_setup"); err != nil {
			return nil, err
		}
		if err := t.markSetup("as_setup"); err != nil {
			return nil, err
		}
		return t, nil
	})
}

// markSetup marks t a setup task.
func (t *Task) markSetup(what string) error {
	if t.task.IsTeardown {
		return fmt.Errorf("%s: cannot mark task %q as setup: it is already a teardown", what, t.task.ID)
	}
	t.task.IsSetup = true
	return nil
}

// asTeardownMethod returns t.as_teardown(setups=None,
// on_failure_fail_dagrun=None), as Airflow's BaseOperator.as_teardown:
// t becomes a teardown task with the trigger rule all_done_setup_success;
// each of setups (a task or a list of tasks) becomes a setup task upstream
// of t. It returns t, so `s >> w >> d.as_teardown(setups = s)` chains.
func (t *Task) asTeardownMethod() *starlark.Builtin {
	return Safe("as_teardown", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var setups starlark.Value = starlark.None
		var failRun starlark.Value = starlark.None
		if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "setups?", &setups, "on_failure_fail_dagrun?", &failRun); err != nil {
			return nil, err
		}
		if err := t.checkOpen("as_teardown"); err != nil {
			return nil, err
		}
		if t.task.IsSetup {
			return nil, fmt.Errorf("as_teardown: cannot mark task %q as teardown: it is already a setup", t.task.ID)
		}
		var list []*Task
		switch v := setups.(type) {
		case starlark.NoneType:
		case *Task:
			list = []*Task{v}
		case *starlark.List, starlark.Tuple:
			it := v.(starlark.Iterable).Iterate()
			defer it.Done()
			var x starlark.Value
			for it.Next(&x) {
				s, ok := x.(*Task)
				if !ok {
					return nil, fmt.Errorf("as_teardown: setups must hold tasks, got %s", x.Type())
				}
				list = append(list, s)
			}
		default:
			return nil, fmt.Errorf("as_teardown: setups must be a task or a list of tasks, got %s", setups.Type())
		}
		switch v := failRun.(type) {
		case starlark.NoneType:
		case starlark.Bool:
			t.task.OnFailureFailDagrun = bool(v)
		default:
			return nil, fmt.Errorf("as_teardown: on_failure_fail_dagrun must be a bool, got %s", failRun.Type())
		}
		for _, s := range list {
			if s == t {
				return nil, fmt.Errorf("as_teardown: task %q cannot be its own setup", t.task.ID)
			}
			if s.builder != t.builder {
				return nil, fmt.Errorf("as_teardown: setup %q belongs to DAG %q, not to DAG %q", s.task.ID, s.builder.dag.ID, t.builder.dag.ID)
			}
			if err := s.markSetup("as_teardown"); err != nil {
				return nil, err
			}
		}
		t.task.IsTeardown = true
		t.task.TriggerRule = dags.TriggerAllDoneSetupSuccess
		pos := callerPos(thread)
		for _, s := range list {
			t.builder.dag.Connect(s.task.ID, t.task.ID, pos)
		}
		return t, nil
	})
}
