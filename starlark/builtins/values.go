package builtins

import (
	"fmt"
	"sort"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/starflow-dev/starflow/dags"
)

// Task is the Starlark value of a task: what bash(), task() and the other
// operator builtins return. It supports >> and << with tasks, groups and
// lists of them, and has the attributes task_id, dag_id and output.
type Task struct {
	task    *dags.Task
	builder *dagBuilder
}

var (
	_ starlark.HasAttrs  = (*Task)(nil)
	_ starlark.HasBinary = (*Task)(nil)
)

// String returns e.g. <task "ingest" (bash)>.
func (t *Task) String() string { return fmt.Sprintf("<task %q (%s)>", t.task.ID, t.task.Operator) }

// Type returns "task".
func (t *Task) Type() string { return "task" }

// Freeze does nothing: a task can no longer change once its DAG is built.
func (t *Task) Freeze() {}

// Truth returns True.
func (t *Task) Truth() starlark.Bool { return starlark.True }

// Hash hashes the task id, so tasks can be dict keys and set members.
func (t *Task) Hash() (uint32, error) { return starlark.String(t.task.ID).Hash() }

// Attr returns task_id, dag_id or output.
func (t *Task) Attr(name string) (starlark.Value, error) {
	switch name {
	case "task_id":
		return starlark.String(t.task.ID), nil
	case "dag_id":
		return starlark.String(t.builder.dag.ID), nil
	case "output":
		return &XComArg{task: t, key: "return_value"}, nil
	case "expand":
		return t.expandMethod(), nil
	case "partial":
		return t.partialMethod(), nil
	case "expand_kwargs":
		return t.expandKwargsMethod(), nil
	case "set_downstream", "set_upstream":
		return t.setRelativeMethod(name), nil
	case "as_setup":
		return t.asSetupMethod(), nil
	case "as_teardown":
		return t.asTeardownMethod(), nil
	case "is_setup":
		return starlark.Bool(t.task.IsSetup), nil
	case "is_teardown":
		return starlark.Bool(t.task.IsTeardown), nil
	}
	return commonAttr(t.task, name), nil
}

// AttrNames lists the attributes: the methods, task_id, dag_id, output
// and the common keywords, which can also be set (see SetField).
func (t *Task) AttrNames() []string {
	names := append([]string{"as_setup", "as_teardown", "dag_id", "expand", "expand_kwargs", "is_setup", "is_teardown", "output", "partial", "set_downstream", "set_upstream", "task_id"}, commonNames[:]...)
	names = append(names, taskOnlyNames[:]...)
	sort.Strings(names)
	return names
}

// Binary implements >> and <<.
func (t *Task) Binary(op syntax.Token, y starlark.Value, side starlark.Side) (starlark.Value, error) {
	return binaryEdge(t.builder.session, op, t, y, side)
}

// Group is the Starlark value of a task group, returned by group(). As an
// operand of >> and << it stands for its root tasks (downstream side) or
// its leaf tasks (upstream side), as in Airflow.
type Group struct {
	id      string // full group id ("outer.inner")
	builder *dagBuilder
	members []*dags.Task // every task created inside, nested groups included
}

var (
	_ starlark.HasAttrs  = (*Group)(nil)
	_ starlark.HasBinary = (*Group)(nil)
)

// String returns e.g. <group "extract">.
func (g *Group) String() string { return fmt.Sprintf("<group %q>", g.id) }

// Type returns "group".
func (g *Group) Type() string { return "group" }

// Freeze does nothing.
func (g *Group) Freeze() {}

// Truth returns True.
func (g *Group) Truth() starlark.Bool { return starlark.True }

// Hash hashes the group id.
func (g *Group) Hash() (uint32, error) { return starlark.String(g.id).Hash() }

// Attr returns group_id.
func (g *Group) Attr(name string) (starlark.Value, error) {
	if name == "group_id" {
		return starlark.String(g.id), nil
	}
	return nil, nil
}

// AttrNames lists the attributes.
func (g *Group) AttrNames() []string { return []string{"group_id"} }

// Binary implements >> and <<.
func (g *Group) Binary(op syntax.Token, y starlark.Value, side starlark.Side) (starlark.Value, error) {
	return binaryEdge(g.builder.session, op, g, y, side)
}

// roots returns the group's tasks without an upstream task in the group.
func (g *Group) roots() []*dags.Task {
	return g.ends(func(t *dags.Task) []string { return t.Upstream })
}

// leaves returns the group's tasks without a downstream task in the group.
// As Airflow's TaskGroup.get_leaves, teardowns are ignored: a leaf
// teardown stands for the nearest non-teardown tasks above it (not its
// setups) that have no other non-teardown downstream task in the group, so
// `group >> x` does not wait for the group's teardowns.
func (g *Group) leaves() []*dags.Task {
	leaves := g.ends(func(t *dags.Task) []string { return t.Downstream })
	hasTeardown := false
	for _, t := range leaves {
		hasTeardown = hasTeardown || t.IsTeardown
	}
	if !hasTeardown {
		return leaves
	}
	byID := make(map[string]*dags.Task, len(g.members))
	for _, t := range g.members {
		byID[t.ID] = t
	}
	nonTeardownDown := func(t *dags.Task, exclude string) bool {
		for _, d := range t.Downstream {
			if dt := byID[d]; d != exclude && dt != nil && !dt.IsTeardown {
				return true
			}
		}
		return false
	}
	var out []*dags.Task
	seen := map[string]bool{}
	add := func(t *dags.Task) {
		if !seen[t.ID] {
			seen[t.ID] = true
			out = append(out, t)
		}
	}
	var above func(t *dags.Task, depth int)
	above = func(t *dags.Task, depth int) {
		if depth > len(g.members) {
			return
		}
		for _, u := range t.Upstream {
			ut := byID[u]
			switch {
			case ut == nil:
			case ut.IsTeardown:
				above(ut, depth+1)
			case t.IsTeardown && ut.IsSetup:
			case !nonTeardownDown(ut, t.ID):
				add(ut)
			}
		}
	}
	for _, t := range leaves {
		if t.IsTeardown {
			above(t, 0)
		} else {
			add(t)
		}
	}
	return out
}

func (g *Group) ends(next func(*dags.Task) []string) []*dags.Task {
	in := make(map[string]bool, len(g.members))
	for _, t := range g.members {
		in[t.ID] = true
	}
	var out []*dags.Task
	for _, t := range g.members {
		end := true
		for _, n := range next(t) {
			if in[n] {
				end = false
				break
			}
		}
		if end {
			out = append(out, t)
		}
	}
	return out
}

// XComArg is `t.output`: a reference to the XCom value of task t. Passed in
// the args or kwargs of task(), it becomes a dags.XComRef and adds the
// edge t >> that task. t.output["key"] refers to another XCom key of t.
type XComArg struct {
	task *Task
	key  string
	// mapFn is the key of the function of `t.output.map(fn)`, or "".
	mapFn string
}

var (
	_ starlark.Mapping  = (*XComArg)(nil)
	_ starlark.HasAttrs = (*XComArg)(nil)
)

// Attr returns map: `t.output.map(fn)` applies fn to each item of the
// output before a mapped task gets it, as Airflow's XComArg.map.
func (x *XComArg) Attr(name string) (starlark.Value, error) {
	if name != "map" {
		return nil, nil
	}
	return Safe("map", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var fn starlark.Callable
		if err := starlark.UnpackPositionalArgs("map", args, kwargs, 1, &fn); err != nil {
			return nil, err
		}
		if x.mapFn != "" {
			return nil, fmt.Errorf("map: %s.output is mapped already; do both in one function", x.task.task.ID)
		}
		if err := x.task.checkOpen("map"); err != nil {
			return nil, err
		}
		bld := x.task.builder
		key := fmt.Sprintf("%s/%s.output.map#%d", bld.dag.ID, x.task.task.ID, len(bld.funcs))
		bld.session.register(bld, key, fn)
		return &XComArg{task: x.task, key: x.key, mapFn: key}, nil
	}), nil
}

// AttrNames lists the attributes.
func (x *XComArg) AttrNames() []string { return []string{"map"} }

// plainRef returns the reference of an argument that is not expanded over:
// a mapped output (`.map(fn)`) is refused there.
func (x *XComArg) plainRef() (any, error) {
	if x.mapFn != "" {
		return nil, fmt.Errorf("%s.output.map(...) can only be expanded over (expand(x = %s.output.map(fn)))", x.task.task.ID, x.task.task.ID)
	}
	return x.Ref(), nil
}

// String returns e.g. <xcom "ingest" return_value>.
func (x *XComArg) String() string { return fmt.Sprintf("<xcom %q %s>", x.task.task.ID, x.key) }

// Type returns "xcom_arg".
func (x *XComArg) Type() string { return "xcom_arg" }

// Freeze does nothing.
func (x *XComArg) Freeze() {}

// Truth returns True.
func (x *XComArg) Truth() starlark.Bool { return starlark.True }

// Hash hashes the task id and key.
func (x *XComArg) Hash() (uint32, error) {
	return starlark.String(x.task.task.ID + "\x00" + x.key).Hash()
}

// Get returns the reference to another XCom key of the same task.
func (x *XComArg) Get(k starlark.Value) (starlark.Value, bool, error) {
	key, ok := starlark.AsString(k)
	if !ok {
		return nil, false, fmt.Errorf("xcom key must be a string, got %s", k.Type())
	}
	if x.mapFn != "" {
		return nil, false, fmt.Errorf("%s.output.map(...)[%q]: pick the key before map", x.task.task.ID, key)
	}
	return &XComArg{task: x.task, key: key}, true, nil
}

// Ref returns the model's reference.
func (x *XComArg) Ref() dags.XComRef {
	return dags.XComRef{TaskID: x.task.task.ID, Key: x.key, MapFn: x.mapFn}
}

// DAG is the value dag() returns; it has the attribute dag_id.
type DAG struct{ id string }

var _ starlark.HasAttrs = DAG{}

// String returns e.g. <dag "etl">.
func (d DAG) String() string { return fmt.Sprintf("<dag %q>", d.id) }

// Type returns "dag".
func (d DAG) Type() string { return "dag" }

// Freeze does nothing.
func (d DAG) Freeze() {}

// Truth returns True.
func (d DAG) Truth() starlark.Bool { return starlark.True }

// Hash hashes the DAG id.
func (d DAG) Hash() (uint32, error) { return starlark.String(d.id).Hash() }

// Attr returns dag_id.
func (d DAG) Attr(name string) (starlark.Value, error) {
	if name == "dag_id" {
		return starlark.String(d.id), nil
	}
	return nil, nil
}

// AttrNames lists the attributes.
func (d DAG) AttrNames() []string { return []string{"dag_id"} }

// Duration is the value timedelta() returns. Durations add, subtract,
// compare and multiply by integers; str() gives the "1h30m" form.
type Duration time.Duration

var (
	_ starlark.HasBinary  = Duration(0)
	_ starlark.Comparable = Duration(0)
	_ starlark.HasAttrs   = Duration(0)
)

// String returns the duration as ParseDuration reads it ("1h30m").
func (d Duration) String() string { return dags.FormatDuration(time.Duration(d)) }

// Type returns "timedelta".
func (d Duration) Type() string { return "timedelta" }

// Freeze does nothing.
func (d Duration) Freeze() {}

// Truth reports whether the duration is not zero.
func (d Duration) Truth() starlark.Bool { return d != 0 }

// Hash hashes the number of nanoseconds.
func (d Duration) Hash() (uint32, error) { return starlark.MakeInt64(int64(d)).Hash() }

// CompareSameType compares two durations.
func (d Duration) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	return starlark.CompareDepth(op, starlark.MakeInt64(int64(d)), starlark.MakeInt64(int64(y.(Duration))), depth)
}

// Attr returns Python's attributes of a timedelta: days, seconds and
// microseconds (normalised as Python does: only days is negative) and the
// method total_seconds().
func (d Duration) Attr(name string) (starlark.Value, error) {
	us := time.Duration(d).Microseconds()
	const day = 86400 * 1e6
	days, rest := us/day, us%day
	if rest < 0 {
		days, rest = days-1, rest+day
	}
	switch name {
	case "total_seconds":
		return Safe("timedelta.total_seconds", func(_ *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
				return nil, err
			}
			return starlark.Float(time.Duration(d).Seconds()), nil
		}), nil
	case "days":
		return starlark.MakeInt64(days), nil
	case "seconds":
		return starlark.MakeInt64(rest / 1e6), nil
	case "microseconds":
		return starlark.MakeInt64(rest % 1e6), nil
	}
	return nil, nil
}

// AttrNames lists the attributes.
func (d Duration) AttrNames() []string {
	return []string{"days", "microseconds", "seconds", "total_seconds"}
}

// Binary implements d + d, d - d, d * int and int * d.
func (d Duration) Binary(op syntax.Token, y starlark.Value, side starlark.Side) (starlark.Value, error) {
	switch op {
	case syntax.PLUS, syntax.MINUS:
		e, ok := y.(Duration)
		if !ok {
			return nil, nil
		}
		a, b := d, e
		if side == starlark.Right {
			a, b = e, d
		}
		var r time.Duration
		if op == syntax.PLUS {
			r = time.Duration(a) + time.Duration(b)
		} else {
			r = time.Duration(a) - time.Duration(b)
		}
		if r < -dags.MaxDuration || r > dags.MaxDuration {
			return nil, fmt.Errorf("timedelta out of range")
		}
		return Duration(r), nil
	case syntax.STAR:
		n, ok := y.(starlark.Int)
		if !ok {
			return nil, nil
		}
		k, ok := n.Int64()
		if !ok || k > int64(dags.MaxDuration) || k < -int64(dags.MaxDuration) {
			return nil, fmt.Errorf("timedelta out of range")
		}
		r := int64(d) * k
		if k != 0 && (r/k != int64(d) || r > int64(dags.MaxDuration) || r < -int64(dags.MaxDuration)) {
			return nil, fmt.Errorf("timedelta out of range")
		}
		return Duration(r), nil
	}
	return nil, nil
}
