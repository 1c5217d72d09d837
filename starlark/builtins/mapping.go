package builtins

import (
	"fmt"
	"regexp"
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
		if len(t.task.Expand) > 0 {
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
			v, err := toGo(kv[1], func(x *XComArg) (any, error) { refs = append(refs, x); return x.plainRef() }, 0)
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
		if r.op == "arg" && (t.task.MapGroup == nil || t.task.MapGroup.ID != r.group) {
			return fmt.Errorf("%s: the %s can only be used by the tasks inside that group", what, r.name())
		}
		for _, up := range r.tasks() {
			if up.builder != t.builder {
				return fmt.Errorf("%s: %s.output belongs to DAG %q, not to DAG %q", what, up.task.ID, up.builder.dag.ID, t.builder.dag.ID)
			}
			if up == t {
				return fmt.Errorf("%s: task %s cannot expand over its own output", what, t.task.ID)
			}
		}
	}
	for _, r := range refs {
		for _, up := range r.tasks() {
			t.builder.dag.Connect(up.task.ID, t.task.ID, t.task.Pos)
		}
	}
	return nil
}

// expand records the mapped arguments of t.
func (t *Task) expand(kwargs []starlark.Tuple) error {
	if err := t.checkOpen("expand"); err != nil {
		return err
	}
	if t.task.MapGroup != nil {
		return fmt.Errorf("expand: task %s is in the mapped group %s, which maps it already; a task of a mapped group cannot be mapped again", t.task.ID, t.task.MapGroup.ID)
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
				return nil, fmt.Errorf("%s inside a mapped list: map over the output itself (expand(%s = %s), or zip or concat outputs)", x.name(), name, x.name())
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

// expandKwargsMethod returns t.expand_kwargs, Airflow's expand_kwargs:
// t runs once per dict of a list (or of an upstream output), each dict
// giving several arguments at once.
func (t *Task) expandKwargsMethod() *starlark.Builtin {
	return Safe("expand_kwargs", func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var over starlark.Value
		if err := starlark.UnpackPositionalArgs("expand_kwargs", args, kwargs, 1, &over); err != nil {
			return nil, err
		}
		if err := t.expandKwargs(over); err != nil {
			return nil, err
		}
		return t, nil
	})
}

// expandKwargs records a list of argument dicts as t's one mapped argument.
func (t *Task) expandKwargs(over starlark.Value) error {
	if err := t.checkOpen("expand_kwargs"); err != nil {
		return err
	}
	if t.task.MapGroup != nil {
		return fmt.Errorf("expand_kwargs: task %s is in the mapped group %s, which maps it already; a task of a mapped group cannot be mapped again", t.task.ID, t.task.MapGroup.ID)
	}
	if t.task.IsMapped() {
		return fmt.Errorf("expand_kwargs: task %s is already mapped", t.task.ID)
	}
	switch t.task.Operator {
	case dags.OperatorBranch, dags.OperatorShortCircuit:
		return fmt.Errorf("expand_kwargs: %s tasks cannot be mapped", t.task.Operator)
	}
	var refs []*XComArg
	var value any
	switch v := over.(type) {
	case *XComArg:
		refs = append(refs, v)
		value = v.Ref()
	case *starlark.List, starlark.Tuple:
		got, err := toGo(v, func(x *XComArg) (any, error) {
			return nil, fmt.Errorf("%s inside the list: map over the output itself (expand_kwargs(%s))", x.name(), x.name())
		}, 0)
		if err != nil {
			return fmt.Errorf("expand_kwargs: %w", err)
		}
		fkw, _ := t.task.Config["kwargs"].(map[string]any)
		for i, item := range got.([]any) {
			kw, ok := item.(map[string]any)
			if !ok {
				return fmt.Errorf("expand_kwargs: item %d is a %s, want a dict of arguments", i, dags.TypeName(item))
			}
			for name := range kw {
				if t.task.Operator == dags.OperatorTask {
					if _, dup := fkw[name]; dup {
						return fmt.Errorf("expand_kwargs: item %d: argument %s is also given as a constant (kwargs or partial)", i, name)
					}
				} else if _, known := t.task.Config[name]; !known {
					return unknownName(fmt.Sprintf("expand_kwargs: item %d: %s has no argument %s", i, t.task.Operator, name), name, configNames(t.task))
				}
			}
		}
		if len(got.([]any)) > dags.MaxMapLength {
			return fmt.Errorf("expand_kwargs: task %s expands into more than %d task instances (max_map_length)", t.task.ID, dags.MaxMapLength)
		}
		value = got
	default:
		return fmt.Errorf("expand_kwargs: got %s, want a list of dicts or a task's output", over.Type())
	}
	if err := t.connectRefs("expand_kwargs", refs); err != nil {
		return err
	}
	t.task.Expand = []dags.MapArg{{Value: value}}
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

// Attr returns expand and expand_kwargs.
func (p *Partial) Attr(name string) (starlark.Value, error) {
	switch name {
	case "expand":
		return Safe("expand", p.expand), nil
	case "expand_kwargs":
		return Safe("expand_kwargs", p.expandKwargs), nil
	}
	return nil, nil
}

// AttrNames lists the attributes.
func (p *Partial) AttrNames() []string { return []string{"expand", "expand_kwargs"} }

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

// missingArg matches UnpackArgs' error for a required parameter not given.
var missingArg = regexp.MustCompile(`missing argument for ([A-Za-z_][A-Za-z0-9_]*)`)

// sample is a value for a mapped argument while the operator builds the
// task: an item of the mapped values (which also checks its type), or a
// placeholder when no item is known at parse time.
type sample struct {
	name  string
	value starlark.Value
	next  int // the next placeholder to try; -1 when value is an item
}

// build calls the operator with the constant arguments and the samples of
// the mapped ones. A placeholder the operator refuses is replaced by the
// next one, and a required argument the operator misses while every known
// sample is given is added with a placeholder when open is set (the
// mapped values come at run time, as dicts of expand_kwargs).
func (p *Partial) build(thread *starlark.Thread, what string, samples []*sample, open bool) (*Task, error) {
	for _, kv := range p.kwargs {
		for _, sm := range samples {
			if string(kv[0].(starlark.String)) == sm.name {
				return nil, fmt.Errorf("%s: for parameter %s: also given to partial; give it once", what, sm.name)
			}
		}
	}
	for attempt := 0; attempt < 64; attempt++ {
		call := append([]starlark.Tuple(nil), p.kwargs...)
		for _, sm := range samples {
			call = append(call, starlark.Tuple{starlark.String(sm.name), sm.value})
		}
		v, err := starlark.Call(thread, p.op, p.args, call)
		if err == nil {
			t, ok := v.(*Task)
			if !ok {
				return nil, fmt.Errorf("%s: %s returned %s, not a task", what, p.op.Name(), v.Type())
			}
			return t, nil
		}
		retried := false
		for _, sm := range samples {
			if sm.next >= 0 && sm.next < len(placeholders) && strings.Contains(err.Error(), "parameter "+sm.name+":") {
				sm.value = placeholders[sm.next]()
				sm.next++
				retried = true
				break
			}
		}
		if m := missingArg.FindStringSubmatch(err.Error()); !retried && open && m != nil {
			samples = append(samples, &sample{name: m[1], value: placeholders[0](), next: 1})
			retried = true
		}
		if !retried {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%s: %s accepts no placeholder for the mapped arguments", what, p.op.Name())
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
	var samples []*sample
	if p.op.Name() != dags.OperatorTask { // for task() the names are the function's arguments
		for _, kv := range kwargs {
			sm := &sample{name: string(kv[0].(starlark.String)), value: firstItem(kv[1]), next: -1}
			if sm.value == nil {
				sm.value, sm.next = placeholders[0](), 1
			}
			samples = append(samples, sm)
		}
	}
	t, err := p.build(thread, "expand", samples, false)
	if err != nil {
		return nil, err
	}
	return t, t.expand(kwargs)
}

// expandKwargs is expand_kwargs(list of dicts | t.output): the first dict's
// entries are the samples; with an output, the operator's required
// arguments get placeholders until run time.
func (p *Partial) expandKwargs(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var over starlark.Value
	if err := starlark.UnpackPositionalArgs("expand_kwargs", args, kwargs, 1, &over); err != nil {
		return nil, err
	}
	var samples []*sample
	open := false
	if p.op.Name() != dags.OperatorTask {
		if d, ok := firstItem(over).(*starlark.Dict); ok {
			for _, kv := range d.Items() {
				k, ok := kv[0].(starlark.String)
				if !ok {
					return nil, fmt.Errorf("expand_kwargs: argument names must be strings, got %s", kv[0].Type())
				}
				samples = append(samples, &sample{name: string(k), value: kv[1], next: -1})
			}
		} else {
			open = true
		}
	}
	t, err := p.build(thread, "expand_kwargs", samples, open)
	if err != nil {
		return nil, err
	}
	return t, t.expandKwargs(over)
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
