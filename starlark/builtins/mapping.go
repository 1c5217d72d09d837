package builtins

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/dags"
)

// expandMethod returns t.expand, which makes t a mapped task (Airflow's
// dynamic task mapping): t runs once per item of each keyword's list,
// dict or upstream output, over the cross product when several are given.
// For task() the keywords are the function's keyword arguments; for the
// other operators they replace operator arguments.
func (t *Task) expandMethod() *starlark.Builtin {
	return Safe("expand", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) > 0 {
			return nil, fmt.Errorf("expand: got %d positional arguments, want keyword arguments only (expand(x = [1, 2, 3]))", len(args))
		}
		if err := t.expand(kwargs); err != nil {
			return nil, err
		}
		return t, nil
	})
}

// partialMethod returns t.partial, which adds constant keyword arguments
// to a task() function before expand, as Airflow's fn.partial(...).
func (t *Task) partialMethod() *starlark.Builtin {
	return Safe("partial", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if t.task.Operator != dags.OperatorTask {
			return nil, fmt.Errorf("partial: only task() tasks take partial(); for %s use partial(%s, ...).expand(...)", t.task.Operator, t.task.Operator)
		}
		if len(args) > 0 {
			return nil, fmt.Errorf("partial: got %d positional arguments, want keyword arguments only", len(args))
		}
		if t.task.IsMapped() {
			return nil, fmt.Errorf("partial: task %s is already mapped: call partial before expand", t.task.ID)
		}
		if err := t.checkOpen("partial"); err != nil {
			return nil, err
		}
		fkw, _ := t.task.Config["kwargs"].(map[string]any)
		if fkw == nil {
			fkw = map[string]any{}
		}
		var refs []*XComArg
		for _, kv := range kwargs {
			name := string(kv[0].(starlark.String))
			v, err := toGo(kv[1], func(x *XComArg) (any, error) { refs = append(refs, x); return x.Ref(), nil }, 0)
			if err != nil {
				return nil, fmt.Errorf("partial: for parameter %s: %w", name, err)
			}
			fkw[name] = v
		}
		if err := t.connectRefs("partial", refs); err != nil {
			return nil, err
		}
		t.task.Config["kwargs"] = fkw
		return t, nil
	})
}

// checkOpen fails when t's DAG is already built.
func (t *Task) checkOpen(what string) error {
	if t.builder.done {
		return fmt.Errorf("%s: DAG %q is already built; call %s inside its build function", what, t.builder.dag.ID, what)
	}
	return nil
}

// connectRefs adds the edges from the tasks whose outputs t takes.
func (t *Task) connectRefs(what string, refs []*XComArg) error {
	for _, r := range refs {
		if r.task.builder != t.builder {
			return fmt.Errorf("%s: %s.output belongs to DAG %q, not to DAG %q", what, r.task.task.ID, r.task.builder.dag.ID, t.builder.dag.ID)
		}
		if r.task == t {
			return fmt.Errorf("%s: task %s cannot expand over its own output", what, t.task.ID)
		}
	}
	for _, r := range refs {
		t.builder.dag.Connect(r.task.task.ID, t.task.ID, t.task.Pos)
	}
	return nil
}

// expand records the mapped arguments of t.
func (t *Task) expand(kwargs []starlark.Tuple) error {
	if err := t.checkOpen("expand"); err != nil {
		return err
	}
	if t.task.IsMapped() {
		return fmt.Errorf("expand: task %s is already mapped", t.task.ID)
	}
	if len(kwargs) == 0 {
		return fmt.Errorf("expand: give at least one keyword argument to map over (expand(x = [1, 2, 3]))")
	}
	switch t.task.Operator {
	case dags.OperatorBranch, dags.OperatorShortCircuit:
		return fmt.Errorf("expand: %s tasks cannot be mapped", t.task.Operator)
	}
	fkw, _ := t.task.Config["kwargs"].(map[string]any)
	var refs []*XComArg
	out := make([]dags.MapArg, 0, len(kwargs))
	for _, kv := range kwargs {
		name := string(kv[0].(starlark.String))
		if t.task.Operator == dags.OperatorTask {
			if _, dup := fkw[name]; dup {
				return fmt.Errorf("expand: for parameter %s: also given as a constant (kwargs or partial); give it once", name)
			}
		} else if _, known := t.task.Config[name]; !known {
			return unknownName(fmt.Sprintf("expand: %s has no argument %s", t.task.Operator, name), name, configNames(t.task))
		}
		var value any
		switch v := kv[1].(type) {
		case *XComArg:
			refs = append(refs, v)
			value = v.Ref()
		case *starlark.List, starlark.Tuple, *starlark.Dict:
			got, err := toGo(v, func(x *XComArg) (any, error) {
				return nil, fmt.Errorf("%s.output inside a mapped list: map over the output itself (expand(%s = t.output))", x.task.task.ID, name)
			}, 0)
			if err != nil {
				return fmt.Errorf("expand: for parameter %s: %w", name, err)
			}
			value = got
		default:
			return fmt.Errorf("expand: for parameter %s: got %s, want a list, a dict or a task's output", name, kv[1].Type())
		}
		out = append(out, dags.MapArg{Name: name, Value: value})
	}
	probe := *t.task
	probe.Expand = out
	// An empty literal is allowed, as in Airflow: the task is skipped at
	// run time. Outputs count as one item here.
	if _, err := dags.MapLength(&probe, func(dags.XComRef) (any, error) { return []any{nil}, nil }); err != nil {
		return fmt.Errorf("expand: %w", err)
	}
	if err := t.connectRefs("expand", refs); err != nil {
		return err
	}
	t.task.Expand = out
	return nil
}

// configNames lists the operator arguments of t.
func configNames(t *dags.Task) []string {
	names := make([]string, 0, len(t.Config))
	for k := range t.Config {
		names = append(names, k)
	}
	return names
}

// partialFn implements partial(operator, *args, **kwargs): the constant
// arguments of a mapped operator; .expand(**mapped) creates the task.
func partialFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("partial: missing the operator (partial(bash, task_id = \"x\").expand(bash_command = [...]))")
	}
	op, ok := args[0].(starlark.Callable)
	if !ok {
		return nil, fmt.Errorf("partial: got %s as the operator, want an operator such as bash or http", args[0].Type())
	}
	return &Partial{op: op, args: append(starlark.Tuple(nil), args[1:]...), kwargs: kwargs}, nil
}

// Partial is the value of partial(operator, ...): an operator call waiting
// for the arguments expand() maps over.
type Partial struct {
	op     starlark.Callable
	args   starlark.Tuple
	kwargs []starlark.Tuple
}

var _ starlark.HasAttrs = (*Partial)(nil)

// String returns e.g. <partial bash>.
func (p *Partial) String() string { return fmt.Sprintf("<partial %s>", p.op.Name()) }

// Type returns "partial".
func (p *Partial) Type() string { return "partial" }

// Freeze does nothing.
func (p *Partial) Freeze() {}

// Truth returns True.
func (p *Partial) Truth() starlark.Bool { return starlark.True }

// Hash fails: partials are not hashable.
func (p *Partial) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: partial") }

// Attr returns expand.
func (p *Partial) Attr(name string) (starlark.Value, error) {
	if name == "expand" {
		return Safe("expand", p.expand), nil
	}
	return nil, nil
}

// AttrNames lists the attributes.
func (p *Partial) AttrNames() []string { return []string{"expand"} }

// placeholders are tried, in order, for a mapped argument whose items are
// not known at parse time, until the operator accepts one.
var placeholders = []func() starlark.Value{
	func() starlark.Value { return starlark.String("") },
	func() starlark.Value { return starlark.MakeInt(0) },
	func() starlark.Value { return starlark.NewDict(0) },
	func() starlark.Value { return starlark.NewList(nil) },
	func() starlark.Value { return starlark.False },
	func() starlark.Value { return starlark.None },
}

// expand calls the operator with the constant arguments and, for each
// mapped argument, a sample item (its first one, which also checks its
// type), then maps the task it made.
func (p *Partial) expand(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) > 0 {
		return nil, fmt.Errorf("expand: got %d positional arguments, want keyword arguments only", len(args))
	}
	if len(kwargs) == 0 {
		return nil, fmt.Errorf("expand: give at least one keyword argument to map over")
	}
	if p.op.Name() == dags.OperatorTask {
		// task(): the mapped names are the function's keyword arguments.
		v, err := starlark.Call(thread, p.op, p.args, p.kwargs)
		if err != nil {
			return nil, err
		}
		t, ok := v.(*Task)
		if !ok {
			return nil, fmt.Errorf("expand: %s returned %s, not a task", p.op.Name(), v.Type())
		}
		return t, t.expand(kwargs)
	}
	for _, kv := range p.kwargs {
		for _, m := range kwargs {
			if kv[0] == m[0] {
				return nil, fmt.Errorf("expand: for parameter %s: also given to partial; give it once", m[0].(starlark.String).GoString())
			}
		}
	}
	samples := make([]starlark.Value, len(kwargs))
	tried := make([]int, len(kwargs)) // next placeholder per argument; -1 when the sample is an item
	for i, kv := range kwargs {
		if s := firstItem(kv[1]); s != nil {
			samples[i], tried[i] = s, -1
		} else {
			samples[i], tried[i] = placeholders[0](), 1
		}
	}
	for {
		call := append(append([]starlark.Tuple(nil), p.kwargs...), make([]starlark.Tuple, len(kwargs))...)
		for i, kv := range kwargs {
			call[len(p.kwargs)+i] = starlark.Tuple{kv[0], samples[i]}
		}
		v, err := starlark.Call(thread, p.op, p.args, call)
		if err == nil {
			t, ok := v.(*Task)
			if !ok {
				return nil, fmt.Errorf("expand: %s returned %s, not a task", p.op.Name(), v.Type())
			}
			return t, t.expand(kwargs)
		}
		// A placeholder the operator refused: try the next one.
		retried := false
		for i, kv := range kwargs {
			name := string(kv[0].(starlark.String))
			if tried[i] >= 0 && tried[i] < len(placeholders) && strings.Contains(err.Error(), "parameter "+name+":") {
				samples[i] = placeholders[tried[i]]()
				tried[i]++
				retried = true
				break
			}
		}
		if !retried {
			return nil, err
		}
	}
}

// firstItem returns the first item of a literal list, tuple or dict (as a
// (key, value) tuple for a dict), or nil.
func firstItem(v starlark.Value) starlark.Value {
	switch v := v.(type) {
	case *starlark.List:
		if v.Len() > 0 {
			return v.Index(0)
		}
	case starlark.Tuple:
		if len(v) > 0 {
			return v[0]
		}
	case *starlark.Dict:
		if items := v.Items(); len(items) > 0 {
			return starlark.Tuple{items[0][0], items[0][1]}
		}
	}
	return nil
}
