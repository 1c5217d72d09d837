package builtins

import (
	"fmt"
	"slices"
	"strings"

	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/dags"
)

// GroupFn is the value of group(group_id, build) when build takes
// parameters: Airflow's @task_group function. Calling it builds the group
// once with the given arguments; fn.expand(x = [...]) builds it as a
// mapped task group, whose every task runs once per item (the tasks get
// x as a value known at run time, the item of their map index);
// fn.partial(y = ...) adds constant arguments first.
type GroupFn struct {
	frame   *groupFrame   // the group to build
	parents []*groupFrame // the groups running when group() was called
	build   *starlark.Function
	partial []starlark.Tuple
	pos     dags.Pos
}

var (
	_ starlark.HasAttrs = (*GroupFn)(nil)
	_ starlark.Callable = (*GroupFn)(nil)
)

// requiredParams counts f's parameters without a default value (*args
// and **kwargs, last, are not counted).
func requiredParams(f *starlark.Function) int {
	last := f.NumParams()
	if f.HasVarargs() {
		last--
	}
	if f.HasKwargs() {
		last--
	}
	n := 0
	for i := 0; i < last; i++ {
		if f.ParamDefault(i) == nil {
			n++
		}
	}
	return n
}

// String returns e.g. <group function "process">.
func (g *GroupFn) String() string { return fmt.Sprintf("<group function %q>", g.frame.group.id) }

// Type returns "group_function".
func (g *GroupFn) Type() string { return "group_function" }

// Freeze does nothing.
func (g *GroupFn) Freeze() {}

// Truth returns True.
func (g *GroupFn) Truth() starlark.Bool { return starlark.True }

// Hash hashes the group id.
func (g *GroupFn) Hash() (uint32, error) { return starlark.String(g.frame.group.id).Hash() }

// Name returns the group id.
func (g *GroupFn) Name() string { return g.frame.group.id }

// Attr returns expand, partial and group_id.
func (g *GroupFn) Attr(name string) (starlark.Value, error) {
	switch name {
	case "expand":
		return Safe("expand", g.expandMethod), nil
	case "partial":
		return Safe("partial", g.partialMethod), nil
	case "group_id":
		return starlark.String(g.frame.group.id), nil
	}
	return nil, nil
}

// AttrNames lists the attributes.
func (g *GroupFn) AttrNames() []string { return []string{"expand", "group_id", "partial"} }

// CallInternal builds the group, unmapped, calling its function with args.
func (g *GroupFn) CallInternal(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g = g.fresh(thread)
	return g.run(thread, g.frame.group.id, args, append(slices.Clone(g.partial), kwargs...), nil, nil)
}

// fresh returns g when its group is not built yet, else a copy that
// builds a new group with the id suffixed "__1", "__2", ... (the first
// free one), as Airflow names the groups of a @task_group function called
// more than once.
func (g *GroupFn) fresh(thread *starlark.Thread) *GroupFn {
	grp := g.frame.group
	if len(grp.members) == 0 && g.frame.mapped == nil {
		return g
	}
	taken := map[string]bool{}
	for _, t := range grp.builder.dag.Tasks() {
		for id := t.ID; strings.Contains(id, "."); {
			id = id[:strings.LastIndex(id, ".")]
			taken[id] = true
		}
	}
	id := grp.id
	for n := 1; ; n++ {
		if id = fmt.Sprintf("%s__%d", grp.id, n); !taken[id] {
			break
		}
	}
	frame := *g.frame
	frame.group = &Group{id: id, builder: grp.builder}
	frame.mapped = nil
	out := *g
	out.frame = &frame
	return &out
}

// partialMethod is fn.partial(**constants): the constant arguments of the
// group function, before expand.
func (g *GroupFn) partialMethod(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) > 0 {
		return nil, fmt.Errorf("partial: got %d positional arguments, want keyword arguments only", len(args))
	}
	for _, kv := range kwargs {
		if err := g.checkParam("partial", string(kv[0].(starlark.String))); err != nil {
			return nil, err
		}
	}
	out := *g
	out.partial = append(slices.Clone(g.partial), kwargs...)
	return &out, nil
}

// checkParam fails when the group function has no parameter name or it is
// already given to partial.
func (g *GroupFn) checkParam(what, name string) error {
	for _, kv := range g.partial {
		if string(kv[0].(starlark.String)) == name {
			return fmt.Errorf("%s: for parameter %s: also given to partial; give it once", what, name)
		}
	}
	if g.build.HasKwargs() {
		return nil
	}
	names := make([]string, 0, g.build.NumParams())
	for i := 0; i < g.build.NumParams(); i++ {
		p, _ := g.build.Param(i)
		if p == name {
			return nil
		}
		names = append(names, p)
	}
	return unknownName(fmt.Sprintf("%s: group function %s has no parameter %s", what, g.build.Name(), name), name, names)
}

// expandMethod is fn.expand(**mapped): the group built as a mapped task
// group.
func (g *GroupFn) expandMethod(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) > 0 {
		return nil, fmt.Errorf("expand: got %d positional arguments, want keyword arguments only (expand(x = [1, 2, 3]))", len(args))
	}
	if len(kwargs) == 0 {
		return nil, fmt.Errorf("expand: give at least one keyword argument to map over (expand(x = [1, 2, 3]))")
	}
	g = g.fresh(thread)
	id := g.frame.group.id
	for _, f := range g.parents {
		if f.mapped != nil {
			return nil, fmt.Errorf("expand: group %s is inside the mapped group %s; mapped groups cannot be nested", id, f.group.id)
		}
	}
	var refs []*XComArg
	out := make([]dags.MapArg, 0, len(kwargs))
	call := slices.Clone(g.partial)
	for _, kv := range kwargs {
		name := string(kv[0].(starlark.String))
		if err := g.checkParam("expand", name); err != nil {
			return nil, err
		}
		var value any
		switch v := kv[1].(type) {
		case *XComArg:
			if v.op == "arg" {
				return nil, fmt.Errorf("expand: for parameter %s: cannot map over the %s", name, v.name())
			}
			refs = append(refs, v)
			value = v.Ref()
		case *starlark.List, starlark.Tuple, *starlark.Dict:
			got, err := toGo(v, func(x *XComArg) (any, error) {
				return nil, fmt.Errorf("%s inside a mapped list: map over the output itself (expand(%s = %s), or zip or concat outputs)", x.name(), name, x.name())
			}, 0)
			if err != nil {
				return nil, fmt.Errorf("expand: for parameter %s: %w", name, err)
			}
			value = got
		default:
			return nil, fmt.Errorf("expand: for parameter %s: got %s, want a list, a dict or a task's output", name, kv[1].Type())
		}
		out = append(out, dags.MapArg{Name: name, Value: value})
		call = append(call, starlark.Tuple{kv[0], &XComArg{op: "arg", group: id, arg: name}})
	}
	probe := dags.Task{ID: id, MapGroup: &dags.MappedGroup{ID: id, Expand: out}}
	if _, err := dags.MapLength(&probe, func(dags.XComRef) (any, error) { return []any{nil}, nil }); err != nil {
		return nil, fmt.Errorf("expand: %w", err)
	}
	return g.run(thread, "expand", nil, call, probe.MapGroup, refs)
}

// run builds the group with its function called with args and kwargs;
// mapped, when set, makes it a mapped task group over the references refs.
// It returns what the function returns, or the group when that is None,
// as Airflow's @task_group does.
func (g *GroupFn) run(thread *starlark.Thread, what string, args starlark.Tuple, kwargs []starlark.Tuple, mapped *dags.MappedGroup, refs []*XComArg) (starlark.Value, error) {
	s := SessionOf(thread)
	b, err := s.builder(thread, what)
	if err != nil {
		return nil, err
	}
	grp := g.frame.group
	if b != grp.builder {
		return nil, fmt.Errorf("%s: group %s belongs to DAG %q, not to DAG %q", what, grp.id, grp.builder.dag.ID, b.dag.ID)
	}
	if len(grp.members) > 0 || g.frame.mapped != nil {
		return nil, fmt.Errorf("%s: group %s is already built; call group() again for another group", what, grp.id)
	}
	for _, r := range refs {
		for _, up := range r.tasks() {
			if up.builder != b {
				return nil, fmt.Errorf("%s: %s.output belongs to DAG %q, not to DAG %q", what, up.task.ID, up.builder.dag.ID, b.dag.ID)
			}
		}
	}
	g.frame.mapped = mapped
	saved := b.groups
	b.groups = append(slices.Clone(g.parents), g.frame)
	ret, err := starlark.Call(thread, g.build, args, kwargs)
	b.groups = saved
	if err != nil {
		return nil, err
	}
	if mapped != nil {
		if len(grp.members) == 0 {
			return nil, fmt.Errorf("expand: group %s has no task to map", grp.id)
		}
		for _, t := range grp.members {
			switch t.Operator {
			case dags.OperatorBranch, dags.OperatorShortCircuit, "latest_only", "branch_day_of_week", "branch_datetime":
				// Their skips name tasks, not map indexes: inside a mapped
				// group they would skip every map index of their targets.
				return nil, fmt.Errorf("expand: task %s is a %s task; a mapped group cannot hold tasks that skip others (branch, short_circuit, latest_only, branch_day_of_week, branch_datetime) yet", t.ID, t.Operator)
			}
		}
		// The tasks whose outputs the group maps over come before it, as
		// Airflow sets them upstream of a MappedTaskGroup.
		for _, r := range refs {
			for _, up := range r.tasks() {
				for _, root := range grp.roots() {
					b.dag.Connect(up.task.ID, root.ID, g.pos)
				}
			}
		}
	}
	if ret == starlark.None {
		return grp, nil
	}
	return ret, nil
}
