package builtins

import (
	"fmt"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/starflow-dev/starflow/dags"
)

// EdgeLabel is the value of Label("text"), Airflow's edge modifier: placed
// between tasks (`a >> Label("yes") >> b`, `chain(a, Label("no"), c)`) it
// joins every task on its upstream side to every task on its downstream
// side and labels those edges; passed as set_downstream's edge_modifier
// it labels the edges that call makes. As in Airflow it remembers both
// sides, so a label used again also joins the tasks it already has.
type EdgeLabel struct {
	label   string
	builder *dagBuilder
	ups     []*dags.Task
	downs   []*dags.Task
	frozen  bool
}

var (
	_ starlark.HasBinary = (*EdgeLabel)(nil)
	_ starlark.HasAttrs  = (*EdgeLabel)(nil)
)

// String returns e.g. <label "yes">.
func (l *EdgeLabel) String() string { return fmt.Sprintf("<label %q>", l.label) }

// Type returns "label".
func (l *EdgeLabel) Type() string { return "label" }

// Freeze marks the label frozen: it can no longer join tasks.
func (l *EdgeLabel) Freeze() { l.frozen = true }

// Truth returns True.
func (l *EdgeLabel) Truth() starlark.Bool { return starlark.True }

// Hash fails: a label changes as it joins tasks.
func (l *EdgeLabel) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: label") }

// Attr returns label, the text.
func (l *EdgeLabel) Attr(name string) (starlark.Value, error) {
	if name == "label" {
		return starlark.String(l.label), nil
	}
	return nil, nil
}

// AttrNames lists the attributes.
func (l *EdgeLabel) AttrNames() []string { return []string{"label"} }

// Binary implements >> and << with tasks, groups and lists of them.
func (l *EdgeLabel) Binary(op syntax.Token, y starlark.Value, side starlark.Side) (starlark.Value, error) {
	if _, ok := y.(*EdgeLabel); ok && (op == syntax.GTGT || op == syntax.LTLT) {
		return nil, fmt.Errorf("%s: a label goes between two tasks, not next to another label", op)
	}
	if l.builder != nil {
		return binaryEdge(l.builder.session, op, l, y, side)
	}
	// Not used yet: find the session through the other operand.
	switch v := y.(type) {
	case *Task:
		return binaryEdge(v.builder.session, op, l, y, side)
	case *Group:
		return binaryEdge(v.builder.session, op, l, y, side)
	}
	if elems, ok := asList(y); ok {
		for _, e := range elems {
			switch v := e.(type) {
			case *Task:
				return binaryEdge(v.builder.session, op, l, y, side)
			case *Group:
				return binaryEdge(v.builder.session, op, l, y, side)
			}
		}
	}
	return nil, nil
}

// bind ties the label to the DAG being built.
func (l *EdgeLabel) bind(b *dagBuilder, what string) error {
	if l.frozen {
		return fmt.Errorf("%s: label %q is frozen (made in another module or at the top level of a loaded file); create Label(...) inside the build function", what, l.label)
	}
	if l.builder != nil && l.builder != b {
		return fmt.Errorf("%s: label %q is used in DAG %q already, not in DAG %q", what, l.label, l.builder.dag.ID, b.dag.ID)
	}
	l.builder = b
	return nil
}

// addUps puts ups on the label's upstream side, joining each to every
// task on its downstream side.
func (l *EdgeLabel) addUps(b *dagBuilder, ups []*dags.Task, pos dags.Pos, what string) error {
	if err := l.bind(b, what); err != nil {
		return err
	}
	for _, u := range ups {
		for _, d := range l.downs {
			b.connectLabelled(u.ID, d.ID, l.label, pos)
		}
	}
	l.ups = append(l.ups, ups...)
	return nil
}

// addDowns puts downs on the label's downstream side, joining every task
// on its upstream side to each.
func (l *EdgeLabel) addDowns(b *dagBuilder, downs []*dags.Task, pos dags.Pos, what string) error {
	if err := l.bind(b, what); err != nil {
		return err
	}
	for _, u := range l.ups {
		for _, d := range downs {
			b.connectLabelled(u.ID, d.ID, l.label, pos)
		}
	}
	l.downs = append(l.downs, downs...)
	return nil
}

// connectLabelled adds the edge up >> down and labels it.
func (b *dagBuilder) connectLabelled(up, down, label string, pos dags.Pos) {
	b.dag.Connect(up, down, pos)
	b.dag.SetEdgeLabel(up, down, label)
}

// labelFn implements Label(label).
func labelFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var label string
	if err := unpack(fn.Name(), args, kwargs, 1, "label", &label); err != nil {
		return nil, err
	}
	if label == "" {
		return nil, fmt.Errorf("Label: the label must not be empty")
	}
	return &EdgeLabel{label: label}, nil
}

// setRelativeMethod returns t.set_downstream or t.set_upstream:
// (other, edge_modifier=None), other a task, a group or a list of them,
// as Airflow's BaseOperator methods.
func (t *Task) setRelativeMethod(name string) *starlark.Builtin {
	return Safe(name, func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var (
			other starlark.Value
			mod   starlark.Value = starlark.None
		)
		if err := unpack(name, args, kwargs, 1, "task_or_task_list", &other, "edge_modifier?", &mod); err != nil {
			return nil, err
		}
		var label *EdgeLabel
		switch m := mod.(type) {
		case starlark.NoneType:
		case *EdgeLabel:
			label = m
		default:
			return nil, fmt.Errorf("%s: for parameter edge_modifier: got %s, want Label(...) or None", name, mod.Type())
		}
		s := t.builder.session
		b, err := s.edgeBuilder(name)
		if err != nil {
			return nil, err
		}
		var ups, downs []*dags.Task
		if name == "set_downstream" {
			ups = []*dags.Task{t.task}
			downs, err = b.ends(other, false, name)
		} else {
			downs = []*dags.Task{t.task}
			ups, err = b.ends(other, true, name)
		}
		if err != nil {
			return nil, err
		}
		if t.builder != b {
			return nil, fmt.Errorf("%s: task %q belongs to DAG %q, not to DAG %q being built", name, t.task.ID, t.builder.dag.ID, b.dag.ID)
		}
		pos := callerPos(thread)
		for _, u := range ups {
			for _, d := range downs {
				b.dag.Connect(u.ID, d.ID, pos)
				if label != nil {
					b.dag.SetEdgeLabel(u.ID, d.ID, label.label)
				}
			}
		}
		return starlark.None, nil
	})
}

// chainLinearFn implements chain_linear(*elements) with Airflow's
// semantics: every task of each element (a task, a group, or a list of
// them) is upstream of every task of the next one. Labels are refused, and
// a call that sets no dependency is an error (a list passed without *).
func chainLinearFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("chain_linear: unexpected keyword argument %s", kwargs[0][0])
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("chain_linear: no tasks provided; nothing to do")
	}
	s := SessionOf(thread)
	if s == nil {
		return nil, fmt.Errorf("chain_linear: dependencies can only be set while a DAG file is parsed")
	}
	b, err := s.edgeBuilder("chain_linear")
	if err != nil {
		return nil, err
	}
	pos := callerPos(thread)
	var prev []starlark.Value
	set := false
	for i, cur := range args {
		if _, ok := cur.(*EdgeLabel); ok {
			return nil, fmt.Errorf("chain_linear: labels are not supported by chain_linear (argument %d); use chain or >>", i+1)
		}
		elems, isList := asList(cur)
		if !isList {
			elems = []starlark.Value{cur}
		}
		// Check every element, so chain_linear(a, 3) fails even when
		// nothing comes before.
		if _, err := b.ends(cur, false, "chain_linear"); err != nil {
			return nil, err
		}
		for _, p := range prev {
			if err := s.connect(p, cur, pos, "chain_linear"); err != nil {
				return nil, err
			}
			set = true
		}
		prev = elems
	}
	if !set {
		return nil, fmt.Errorf("chain_linear: no dependencies were set; pass the tasks as separate arguments (chain_linear(a, b) or chain_linear(*tasks), not chain_linear([a, b]))")
	}
	return starlark.None, nil
}
