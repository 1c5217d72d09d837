package builtins

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
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
		return &XComArg{task: t, key: dags.ReturnValueKey}, nil
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
// Its methods map, zip and concat make the values a mapped task expands
// over, as Airflow's XComArg.map, .zip and .concat.
type XComArg struct {
	// task is the task of t.output; for a zip or concat, the task of its
	// first argument.
	task *Task
	key  string
	// op is "" for t.output, "zip" or "concat".
	op   string
	args []*XComArg
	// fill is the zip's fillvalue, when hasFill.
	fill    any
	hasFill bool
	// mapFns are the keys of the functions of `.map(fn)`, in order.
	mapFns []string
	// group and arg, for op "arg", name the argument of a mapped task
	// group that the group's build function gets (Airflow's
	// MappedArgument); task is then nil.
	group, arg string
}

var (
	_ starlark.Mapping  = (*XComArg)(nil)
	_ starlark.HasAttrs = (*XComArg)(nil)
)

// name describes x as the DAG file wrote it.
func (x *XComArg) name() string {
	var s string
	switch x.op {
	case "arg":
		return fmt.Sprintf("argument %s of mapped group %s", x.arg, x.group)
	case "":
		s = x.task.task.ID + ".output"
		if x.key != dags.ReturnValueKey {
			s += fmt.Sprintf("[%q]", x.key)
		}
	default:
		parts := make([]string, 0, len(x.args)-1)
		for _, a := range x.args[1:] {
			parts = append(parts, a.name())
		}
		s = fmt.Sprintf("%s.%s(%s)", x.args[0].name(), x.op, strings.Join(parts, ", "))
	}
	for range x.mapFns {
		s += ".map(...)"
	}
	return s
}

// tasks returns the tasks whose XComs x reads.
func (x *XComArg) tasks() []*Task {
	if x.op == "arg" {
		return nil
	}
	if x.op == "" {
		return []*Task{x.task}
	}
	var out []*Task
	for _, a := range x.args {
		out = append(out, a.tasks()...)
	}
	return out
}

// Attr returns map, zip and concat.
func (x *XComArg) Attr(name string) (starlark.Value, error) {
	switch name {
	case "map":
		return Safe("map", x.mapMethod), nil
	case "zip":
		return Safe("zip", x.zipMethod), nil
	case "concat":
		return Safe("concat", x.concatMethod), nil
	}
	return nil, nil
}

// AttrNames lists the attributes.
func (x *XComArg) AttrNames() []string { return []string{"concat", "map", "zip"} }

// checkReturn fails for a reference to an XCom key other than the return
// value, which Airflow does not map, zip or concatenate.
func (x *XComArg) checkReturn(what string) error {
	if x.op == "arg" {
		return fmt.Errorf("%s: cannot %s the %s: pass it to a task inside the group, which gets its own item", what, what, x.name())
	}
	if x.op == "" && x.key != dags.ReturnValueKey {
		return fmt.Errorf("%s: cannot %s %s, an XCom other than the return value; use %s.output", what, what, x.name(), x.task.task.ID)
	}
	return x.task.checkOpen(what)
}

// mapMethod is `x.map(fn)`: fn is applied to each item before a mapped
// task gets it, as Airflow's XComArg.map; map after map chains.
func (x *XComArg) mapMethod(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var fn starlark.Value
	if err := starlark.UnpackPositionalArgs("map", args, kwargs, 1, &fn); err != nil {
		return nil, err
	}
	callable, ok := fn.(starlark.Callable)
	switch fn.(type) {
	case *Task, *Partial, *XComArg:
		ok = false
	}
	if !ok {
		return nil, fmt.Errorf("map: got %s, want a function (def or lambda) applied to each item", fn.Type())
	}
	if err := x.checkReturn("map"); err != nil {
		return nil, err
	}
	bld := x.task.builder
	key := fmt.Sprintf("%s/%s.map#%d", bld.dag.ID, x.name(), len(bld.funcs))
	bld.session.register(bld, key, callable)
	out := *x
	out.mapFns = append(slices.Clone(x.mapFns), key)
	return &out, nil
}

// operands unpacks the XComArgs of zip or concat.
func (x *XComArg) operands(what string, args starlark.Tuple) ([]*XComArg, error) {
	if err := x.checkReturn(what); err != nil {
		return nil, err
	}
	out := []*XComArg{x}
	for i, a := range args {
		o, ok := a.(*XComArg)
		if !ok {
			return nil, fmt.Errorf("%s: argument %d is a %s, want a task's output (%s(other.output))", what, i+1, a.Type(), what)
		}
		if err := o.checkReturn(what); err != nil {
			return nil, err
		}
		if o.task.builder != x.task.builder {
			return nil, fmt.Errorf("%s: %s belongs to DAG %q, not to DAG %q", what, o.name(), o.task.builder.dag.ID, x.task.builder.dag.ID)
		}
		out = append(out, o)
	}
	return out, nil
}

// zipMethod is `x.zip(*others, fillvalue = ...)`, Airflow's XComArg.zip.
func (x *XComArg) zipMethod(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var fill starlark.Value
	for _, kv := range kwargs {
		if k := string(kv[0].(starlark.String)); k != "fillvalue" {
			return nil, unknownName(fmt.Sprintf("zip: unexpected keyword argument %s", k), k, []string{"fillvalue"})
		}
		fill = kv[1]
	}
	ops, err := x.operands("zip", args)
	if err != nil {
		return nil, err
	}
	out := &XComArg{task: x.task, key: dags.ReturnValueKey, op: "zip", args: ops}
	if fill != nil {
		v, err := toGo(fill, nil, 0)
		if err != nil {
			return nil, fmt.Errorf("zip: for parameter fillvalue: %w", err)
		}
		out.fill, out.hasFill = v, true
	}
	return out, nil
}

// concatMethod is `x.concat(*others)`, Airflow's XComArg.concat; concat
// after concat chains into one.
func (x *XComArg) concatMethod(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("concat: unexpected keyword argument %s", kwargs[0][0])
	}
	ops, err := x.operands("concat", args)
	if err != nil {
		return nil, err
	}
	if x.op == "concat" && len(x.mapFns) == 0 {
		ops = append(slices.Clone(x.args), ops[1:]...)
	}
	return &XComArg{task: x.task, key: dags.ReturnValueKey, op: "concat", args: ops}, nil
}

// plainRef returns the reference of an argument that is not expanded over:
// map, zip and concat are refused there.
func (x *XComArg) plainRef() (any, error) {
	if (x.op != "" && x.op != "arg") || len(x.mapFns) > 0 {
		return nil, fmt.Errorf("%s can only be expanded over (expand(x = %s) or expand_kwargs(%s))", x.name(), x.name(), x.name())
	}
	return x.Ref(), nil
}

// String returns, for t.output and t.output["key"], the template that
// pulls the value, as Airflow's str(XComArg) does, so that
// "echo %s" % t.output in a templated field renders the XCom:
// {{ task_instance.xcom_pull(task_ids='ingest', key='return_value') }}.
// A zip, concat or map prints its expression.
func (x *XComArg) String() string {
	if x.op == "arg" {
		return fmt.Sprintf("<%s>", x.name())
	}
	if x.op == "" && len(x.mapFns) == 0 {
		return fmt.Sprintf("{{ task_instance.xcom_pull(task_ids=%s, key=%s) }}", pyQuote(x.task.task.ID), pyQuote(x.key))
	}
	return fmt.Sprintf("<xcom %s>", x.name())
}

// Type returns "xcom_arg".
func (x *XComArg) Type() string { return "xcom_arg" }

// Freeze does nothing.
func (x *XComArg) Freeze() {}

// Truth returns True.
func (x *XComArg) Truth() starlark.Bool { return starlark.True }

// Hash hashes the expression.
func (x *XComArg) Hash() (uint32, error) {
	return starlark.String(x.name()).Hash()
}

// Get returns the reference to another XCom key of the same task.
func (x *XComArg) Get(k starlark.Value) (starlark.Value, bool, error) {
	key, ok := starlark.AsString(k)
	if !ok {
		return nil, false, fmt.Errorf("xcom key must be a string, got %s", k.Type())
	}
	if x.op == "arg" {
		return nil, false, fmt.Errorf("%s[%q]: the %s is a value known at run time; index it inside the task that gets it", x.name(), key, x.name())
	}
	if x.op != "" || len(x.mapFns) > 0 {
		return nil, false, fmt.Errorf("%s[%q]: pick the key of a task's output before map, zip or concat", x.name(), key)
	}
	return &XComArg{task: x.task, key: key}, true, nil
}

// Ref returns the model's value: a dags.XComRef, XComZip or XComConcat.
func (x *XComArg) Ref() any {
	switch x.op {
	case "zip":
		z := dags.XComZip{Fill: x.fill, HasFill: x.hasFill, MapFns: x.mapFns}
		for _, a := range x.args {
			z.Args = append(z.Args, a.Ref())
		}
		return z
	case "concat":
		c := dags.XComConcat{MapFns: x.mapFns}
		for _, a := range x.args {
			c.Args = append(c.Args, a.Ref())
		}
		return c
	}
	if x.op == "arg" {
		return dags.XComRef{Group: x.group, GroupArg: x.arg}
	}
	return dags.XComRef{TaskID: x.task.task.ID, Key: x.key, MapFns: x.mapFns}
}

// linkRefs checks the references refs that task t takes in its arguments
// (the producing tasks belong to t's DAG; an argument of a mapped group is
// used only inside that group) and adds the edges from the producers.
func (t *Task) linkRefs(what string, refs []*XComArg) error {
	for _, r := range refs {
		if r.op == "arg" && (t.task.MapGroup == nil || t.task.MapGroup.ID != r.group) {
			return fmt.Errorf("%s: the %s can only be used by the tasks inside that group", what, r.name())
		}
		for _, up := range r.tasks() {
			if up.builder != t.builder {
				return fmt.Errorf("%s: %s.output belongs to DAG %q, not to DAG %q", what, up.task.ID, up.builder.dag.ID, t.builder.dag.ID)
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

// pyQuote quotes s as Python's repr does for a string without quotes or
// backslashes of its own ('ingest'), falling back to double quotes.
func pyQuote(s string) string {
	if !strings.ContainsAny(s, "'\\\n") {
		return "'" + s + "'"
	}
	return strconv.Quote(s)
}
