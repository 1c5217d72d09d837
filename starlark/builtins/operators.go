package builtins

import (
	"fmt"

	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/dags"
)

// bashFn implements bash(task_id, bash_command, env=None, append_env=False,
// cwd=None, skip_on_exit_code=99, ...common).
func bashFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		taskID    string
		command   starlark.Value
		env       starlark.Value = starlark.None
		appendEnv bool
		cwd       starlark.Value = starlark.None
		skip      starlark.Value = starlark.MakeInt(99)
		common    commonArgs
	)
	pairs := append([]any{
		"task_id", &taskID,
		"bash_command", &command,
		"env?", &env,
		"append_env?", &appendEnv,
		"cwd?", &cwd,
		"skip_on_exit_code?", &skip,
	}, common.pairs()...)
	if err := unpack(fn.Name(), args, kwargs, 2, pairs...); err != nil {
		return nil, err
	}
	// An argument of a mapped group (whole bash_command, or an env value)
	// is filled per map index at run time.
	var refs []*XComArg
	groupArg := func(v starlark.Value) (any, bool) {
		if x, ok := v.(*XComArg); ok && x.op == "arg" {
			refs = append(refs, x)
			return x.Ref(), true
		}
		return nil, false
	}
	cfg := map[string]any{"append_env": appendEnv, "env": nil, "cwd": ""}
	if ref, ok := groupArg(command); ok {
		cfg["bash_command"] = ref
	} else if c, ok := command.(starlark.String); ok {
		cfg["bash_command"] = string(c)
	} else {
		return nil, fmt.Errorf("bash: for parameter bash_command: got %s, want string", command.Type())
	}
	if env != starlark.None {
		d, ok := env.(*starlark.Dict)
		if !ok {
			return nil, fmt.Errorf("bash: for parameter env: got %s, want a dict of strings or None", env.Type())
		}
		m := make(map[string]any, d.Len())
		for _, kv := range d.Items() {
			k, ok1 := kv[0].(starlark.String)
			if ref, ok := groupArg(kv[1]); ok1 && ok {
				m[string(k)] = ref
				continue
			}
			v, ok2 := kv[1].(starlark.String)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("bash: for parameter env: got %s: %s, want string keys and values", kv[0].Type(), kv[1].Type())
			}
			m[string(k)] = string(v)
		}
		cfg["env"] = m
	}
	if cwd != starlark.None {
		s, err := stringOf(cwd)
		if err != nil {
			return nil, fmt.Errorf("bash: for parameter cwd: %w", err)
		}
		cfg["cwd"] = s
	}
	codes, err := exitCodesOf(skip)
	if err != nil {
		return nil, fmt.Errorf("bash: for parameter skip_on_exit_code: %w", err)
	}
	cfg["skip_on_exit_code"] = codes
	if err := resolveTemplateFiles(thread, "bash", cfg, []string{"bash_command"}, bashTemplateExt); err != nil {
		return nil, err
	}
	t, err := SessionOf(thread).newTask(thread, fn.Name(), dags.OperatorBash, taskID, &common)
	if err != nil {
		return nil, err
	}
	if err := t.linkRefs("bash", refs); err != nil {
		return nil, err
	}
	t.task.Config = cfg
	return t, nil
}

// exitCodesOf reads skip_on_exit_code: an int, a list of ints, or None.
func exitCodesOf(v starlark.Value) ([]any, error) {
	if v == starlark.None {
		return []any{}, nil
	}
	if _, ok := v.(starlark.Int); ok {
		n, err := intOf(v)
		if err != nil {
			return nil, err
		}
		return []any{int64(n)}, nil
	}
	elems, ok := asList(v)
	if !ok {
		return nil, fmt.Errorf("got %s, want an int, a list of ints or None", v.Type())
	}
	out := make([]any, len(elems))
	for i, e := range elems {
		n, err := intOf(e)
		if err != nil {
			return nil, err
		}
		out[i] = int64(n)
	}
	return out, nil
}

// emptyFn implements empty(task_id, ...common).
func emptyFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		taskID string
		common commonArgs
	)
	pairs := append([]any{"task_id", &taskID}, common.pairs()...)
	if err := unpack(fn.Name(), args, kwargs, 1, pairs...); err != nil {
		return nil, err
	}
	t, err := SessionOf(thread).newTask(thread, fn.Name(), dags.OperatorEmpty, taskID, &common)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// functionTask creates a task of kind that calls fn, registering fn under
// the key "<dag_id>/<task_id>".
func functionTask(thread *starlark.Thread, fnName, kind string, fn starlark.Callable, taskID starlark.Value, common *commonArgs) (*Task, error) {
	label := ""
	switch id := taskID.(type) {
	case starlark.NoneType:
		label = fn.Name()
		if f, ok := fn.(*starlark.Function); ok && f.Name() == "lambda" {
			return nil, fmt.Errorf("%s: task_id is required when the function is a lambda", fnName)
		}
	case starlark.String:
		label = string(id)
	default:
		return nil, fmt.Errorf("%s: for parameter task_id: got %s, want string", fnName, taskID.Type())
	}
	s := SessionOf(thread)
	t, err := s.newTask(thread, fnName, kind, label, common)
	if err != nil {
		return nil, err
	}
	key := t.builder.dag.ID + "/" + t.task.ID
	t.task.Function = key
	s.register(t.builder, key, fn)
	return t, nil
}

// taskFn implements task(fn, task_id=None, args=[], kwargs={}, ...common).
func taskFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	t, _, err := callableTask(thread, fn, args, kwargs, dags.OperatorTask, nil)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// callableTask makes a task of kind that calls a Starlark function with
// args and kwargs (Airflow's op_args and op_kwargs: task, branch and
// short_circuit all take them, as Airflow's PythonOperator and its
// Branch and ShortCircuit subclasses do). extra are the kind's own
// keyword pairs for unpack; the caller reads them after the call. It
// returns the task and its function.
func callableTask(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, kind string, extra []any) (*Task, starlark.Callable, error) {
	var (
		callable starlark.Callable
		taskID   starlark.Value = starlark.None
		fargs    starlark.Value = starlark.NewList(nil)
		fkwargs  *starlark.Dict
		common   commonArgs
	)
	pairs := append([]any{
		"fn", &callable,
		"task_id?", &taskID,
		"args?", &fargs,
		"kwargs?", &fkwargs,
	}, extra...)
	pairs = append(pairs, common.pairs()...)
	if err := unpack(fn.Name(), args, kwargs, 1, pairs...); err != nil {
		return nil, nil, err
	}
	name := fn.Name()
	if _, ok := asList(fargs); !ok {
		return nil, nil, fmt.Errorf("%s: for parameter args: got %s, want list", name, fargs.Type())
	}
	if fkwargs == nil {
		fkwargs = starlark.NewDict(0)
	}
	// Convert before creating the task, so a bad argument leaves no task.
	var refs []*XComArg
	onXCom := func(x *XComArg) (any, error) {
		refs = append(refs, x)
		return x.plainRef()
	}
	goArgs, err := toGo(fargs, onXCom, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: for parameter args: %w", name, err)
	}
	goKwargs, err := toGo(fkwargs, onXCom, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: for parameter kwargs: %w", name, err)
	}
	t, err := functionTask(thread, name, kind, callable, taskID, &common)
	if err != nil {
		return nil, nil, err
	}
	t.task.Config = map[string]any{"args": goArgs, "kwargs": goKwargs}
	if kind != dags.OperatorTask {
		// branch and short_circuit keep them only when given, so their
		// Config (and the DAG version) is what it was without them.
		if a, ok := goArgs.([]any); ok && len(a) == 0 {
			delete(t.task.Config, "args")
		}
		if kw, ok := goKwargs.(map[string]any); ok && len(kw) == 0 {
			delete(t.task.Config, "kwargs")
		}
	}
	if err := t.linkRefs(name, refs); err != nil {
		return nil, nil, err
	}
	return t, callable, nil
}

// branchFn implements branch(fn, task_id=None, args=[], kwargs={}, ...common).
func branchFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	t, callable, err := callableTask(thread, fn, args, kwargs, dags.OperatorBranch, nil)
	if err != nil {
		return nil, err
	}
	t.builder.branches = append(t.builder.branches, branchTask{task: t.task, fn: callable})
	return t, nil
}

// shortCircuitFn implements short_circuit(fn, task_id=None, args=[],
// kwargs={}, ignore_downstream_trigger_rules=True, ...common).
func shortCircuitFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	ignore := true
	t, _, err := callableTask(thread, fn, args, kwargs, dags.OperatorShortCircuit,
		[]any{"ignore_downstream_trigger_rules?", &ignore})
	if err != nil {
		return nil, err
	}
	t.task.Config["ignore_downstream_trigger_rules"] = ignore
	return t, nil
}
