package builtins

import (
	"fmt"
	"sort"

	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/dags"
)

// TaskFamily is the value of the builtin task: callable as task(fn, ...)
// and with the attributes Airflow's task decorator has, so that
// @task.bash, @task.sensor, @task.branch and @task.short_circuit port as
// task.bash(fn, ...), task.sensor(fn, ...), task.branch(fn, ...) and
// task.short_circuit(fn, ...).
type TaskFamily struct {
	*starlark.Builtin
	attrs map[string]starlark.Value
}

var _ starlark.HasAttrs = (*TaskFamily)(nil)

// newTaskFamily returns the task builtin. pythonSensor is the
// python_sensor builtin that task.sensor calls, or nil when the operator
// registry has none.
func newTaskFamily(pythonSensor starlark.Callable) *TaskFamily {
	f := &TaskFamily{Builtin: Safe("task", taskFn), attrs: map[string]starlark.Value{
		"bash":          Safe("task.bash", taskBashFn),
		"branch":        Safe("task.branch", branchFn),
		"short_circuit": Safe("task.short_circuit", shortCircuitFn),
	}}
	if pythonSensor != nil {
		f.attrs["sensor"] = Safe("task.sensor", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			return taskSensor(thread, pythonSensor, args, kwargs)
		})
	}
	return f
}

// Attr returns task.bash, task.sensor, task.branch or task.short_circuit.
func (f *TaskFamily) Attr(name string) (starlark.Value, error) { return f.attrs[name], nil }

// AttrNames lists the attributes.
func (f *TaskFamily) AttrNames() []string {
	names := make([]string, 0, len(f.attrs))
	for n := range f.attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// taskBashFn implements task.bash(fn, task_id=None, args=[], kwargs={},
// env=None, append_env=False, cwd=None, skip_on_exit_code=99, ...common):
// Airflow's @task.bash. At run time the bash operator calls fn with args
// and kwargs (rendered as templates, context values by parameter name, as
// for task) and runs what it returns, a non-empty string, as the
// bash_command, rendered as a template first.
func taskBashFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		env       starlark.Value = starlark.None
		appendEnv bool
		cwd       starlark.Value = starlark.None
		skip      starlark.Value = starlark.MakeInt(99)
	)
	t, _, err := callableTask(thread, fn, args, kwargs, dags.OperatorBash, []any{
		"env?", &env, "append_env?", &appendEnv, "cwd?", &cwd, "skip_on_exit_code?", &skip,
	})
	if err != nil {
		return nil, err
	}
	cfg := t.task.Config
	cfg["append_env"], cfg["env"], cfg["cwd"] = appendEnv, nil, ""
	if env != starlark.None {
		d, ok := env.(*starlark.Dict)
		if !ok {
			return nil, fmt.Errorf("task.bash: for parameter env: got %s, want a dict of strings or None", env.Type())
		}
		m := make(map[string]any, d.Len())
		for _, kv := range d.Items() {
			k, ok1 := kv[0].(starlark.String)
			v, ok2 := kv[1].(starlark.String)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("task.bash: for parameter env: got %s: %s, want string keys and values", kv[0].Type(), kv[1].Type())
			}
			m[string(k)] = string(v)
		}
		cfg["env"] = m
	}
	if cwd != starlark.None {
		s, err := stringOf(cwd)
		if err != nil {
			return nil, fmt.Errorf("task.bash: for parameter cwd: %w", err)
		}
		cfg["cwd"] = s
	}
	codes, err := exitCodesOf(skip)
	if err != nil {
		return nil, fmt.Errorf("task.bash: for parameter skip_on_exit_code: %w", err)
	}
	cfg["skip_on_exit_code"] = codes
	return t, nil
}

// taskSensor implements task.sensor(fn, task_id=None, args=[], kwargs={},
// ...sensor arguments, ...common): Airflow's @task.sensor, which is
// python_sensor(task_id = fn's name, python_callable = fn, op_args = args,
// op_kwargs = kwargs, ...).
func taskSensor(thread *starlark.Thread, pythonSensor starlark.Callable, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("task.sensor: want the function as the only positional argument, got %d positional arguments", len(args))
	}
	callable, ok := args[0].(starlark.Callable)
	if !ok {
		return nil, fmt.Errorf("task.sensor: for parameter fn: got %s, want a function", args[0].Type())
	}
	out := []starlark.Tuple{{starlark.String("python_callable"), callable}}
	hasID := false
	for _, kv := range kwargs {
		name := string(kv[0].(starlark.String))
		switch name {
		case "task_id":
			hasID = true
		case "args":
			kv = starlark.Tuple{starlark.String("op_args"), kv[1]}
		case "kwargs":
			kv = starlark.Tuple{starlark.String("op_kwargs"), kv[1]}
		case "python_callable", "op_args", "op_kwargs":
			return nil, fmt.Errorf("task.sensor: unexpected keyword argument %s (the function comes first; its arguments are args and kwargs)", name)
		}
		out = append(out, kv)
	}
	if !hasID {
		if f, ok := callable.(*starlark.Function); ok && f.Name() == "lambda" {
			return nil, fmt.Errorf("task.sensor: task_id is required when the function is a lambda")
		}
		out = append(out, starlark.Tuple{starlark.String("task_id"), starlark.String(callable.Name())})
	}
	return starlark.Call(thread, pythonSensor, nil, out)
}
