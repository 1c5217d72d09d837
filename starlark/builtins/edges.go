package builtins

import (
	"fmt"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/starflow-dev/starflow/dags"
)

// binaryEdge implements x >> y and x << y where self is one operand (on
// the given side) and other the other one. The result is the right
// operand, so that a >> b >> c chains.
func binaryEdge(s *Session, op syntax.Token, self, other starlark.Value, side starlark.Side) (starlark.Value, error) {
	if op != syntax.GTGT && op != syntax.LTLT {
		return nil, nil
	}
	left, right := self, other
	if side == starlark.Right {
		left, right = other, self
	}
	if !isEdgeOperand(left) || !isEdgeOperand(right) {
		return nil, nil // let Starlark report "unknown binary op"
	}
	pos := ToPos(s.thread.CallFrame(0).Pos)
	up, down := left, right
	if op == syntax.LTLT {
		up, down = right, left
	}
	if err := s.connect(up, down, pos, op.String()); err != nil {
		return nil, err
	}
	return right, nil
}

// isEdgeOperand reports whether v can be an operand of >>: a task, a group,
// or a list or tuple of them.
func isEdgeOperand(v starlark.Value) bool {
	switch v := v.(type) {
	case *Task, *Group, *EdgeLabel:
		return true
	case *starlark.List, starlark.Tuple:
		it := v.(starlark.Iterable).Iterate()
		defer it.Done()
		var x starlark.Value
		for it.Next(&x) {
			switch x.(type) {
			case *Task, *Group:
			default:
				return false
			}
		}
		return true
	}
	return false
}

// connect adds up >> down for every upstream end of up and downstream end
// of down; what names the operation in errors.
func (s *Session) connect(up, down starlark.Value, pos dags.Pos, what string) error {
	b, err := s.edgeBuilder(what)
	if err != nil {
		return err
	}
	upLabel, _ := up.(*EdgeLabel)
	downLabel, _ := down.(*EdgeLabel)
	switch {
	case upLabel != nil && downLabel != nil:
		return fmt.Errorf("%s: a label goes between two tasks, not next to another label", what)
	case upLabel != nil:
		downs, err := b.ends(down, false, what)
		if err != nil {
			return err
		}
		return upLabel.addDowns(b, downs, pos, what)
	case downLabel != nil:
		ups, err := b.ends(up, true, what)
		if err != nil {
			return err
		}
		return downLabel.addUps(b, ups, pos, what)
	}
	ups, err := b.ends(up, true, what)
	if err != nil {
		return err
	}
	downs, err := b.ends(down, false, what)
	if err != nil {
		return err
	}
	for _, u := range ups {
		for _, d := range downs {
			b.dag.Connect(u.ID, d.ID, pos)
		}
	}
	return nil
}

// edgeBuilder returns the DAG being built, for an edge operation.
func (s *Session) edgeBuilder(what string) (*dagBuilder, error) {
	if s.finished || s.current == nil {
		return nil, fmt.Errorf("%s: dependencies must be set inside the DAG's build function", what)
	}
	return s.current, nil
}

// ends returns the tasks v stands for on one side of an edge: a task
// itself, a group's leaves (upstream side) or roots (downstream side), or
// those of each element of a list or tuple.
func (b *dagBuilder) ends(v starlark.Value, upstream bool, what string) ([]*dags.Task, error) {
	switch v := v.(type) {
	case *Task:
		if v.builder != b {
			return nil, fmt.Errorf("%s: task %q belongs to DAG %q, not to DAG %q being built", what, v.task.ID, v.builder.dag.ID, b.dag.ID)
		}
		return []*dags.Task{v.task}, nil
	case *Group:
		if v.builder != b {
			return nil, fmt.Errorf("%s: group %q belongs to DAG %q, not to DAG %q being built", what, v.id, v.builder.dag.ID, b.dag.ID)
		}
		if upstream {
			return v.leaves(), nil
		}
		return v.roots(), nil
	case *starlark.List, starlark.Tuple:
		var out []*dags.Task
		it := v.(starlark.Iterable).Iterate()
		defer it.Done()
		var x starlark.Value
		for it.Next(&x) {
			if _, isSeq := x.(starlark.Sequence); isSeq {
				return nil, fmt.Errorf("%s: got a nested %s; use a flat list of tasks and groups", what, x.Type())
			}
			ts, err := b.ends(x, upstream, what)
			if err != nil {
				return nil, err
			}
			out = append(out, ts...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: got %s, want a task, a group or a list of them", what, v.Type())
}

// chainFn implements chain(*tasks_or_lists): each argument upstream of the
// next; two adjacent lists must have the same length and are joined
// element by element, as Airflow's chain does.
func chainFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("chain: unexpected keyword argument %s", kwargs[0][0])
	}
	s := SessionOf(thread)
	if s == nil {
		return nil, fmt.Errorf("chain: dependencies can only be set while a DAG file is parsed")
	}
	pos := callerPos(thread)
	for i := 0; i+1 < len(args); i++ {
		x, y := args[i], args[i+1]
		xs, xList := asList(x)
		ys, yList := asList(y)
		if xList && yList {
			if len(xs) != len(ys) {
				return nil, fmt.Errorf("chain: adjacent lists must have the same length, got %d and %d (arguments %d and %d)", len(xs), len(ys), i+1, i+2)
			}
			for j := range xs {
				if err := s.connect(xs[j], ys[j], pos, "chain"); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err := s.connect(x, y, pos, "chain"); err != nil {
			return nil, err
		}
	}
	if len(args) == 1 {
		// Still check the single argument, so chain(3) is an error.
		b, err := s.edgeBuilder("chain")
		if err != nil {
			return nil, err
		}
		if _, err := b.ends(args[0], true, "chain"); err != nil {
			return nil, err
		}
	}
	return starlark.None, nil
}

// crossDownstreamFn implements cross_downstream(from_list, to_list): every
// task of from_list upstream of every task of to_list.
func crossDownstreamFn(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var fromV, toV starlark.Value
	if err := unpack(fn.Name(), args, kwargs, 2, "from_list", &fromV, "to_list", &toV); err != nil {
		return nil, err
	}
	from, ok1 := asList(fromV)
	to, ok2 := asList(toV)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("cross_downstream: want two lists of tasks, got %s and %s", fromV.Type(), toV.Type())
	}
	s := SessionOf(thread)
	if s == nil {
		return nil, fmt.Errorf("cross_downstream: dependencies can only be set while a DAG file is parsed")
	}
	pos := callerPos(thread)
	for _, f := range from {
		for _, t := range to {
			if err := s.connect(f, t, pos, "cross_downstream"); err != nil {
				return nil, err
			}
		}
	}
	return starlark.None, nil
}

// asList returns the elements of a list or tuple.
func asList(v starlark.Value) ([]starlark.Value, bool) {
	switch v := v.(type) {
	case *starlark.List:
		out := make([]starlark.Value, v.Len())
		for i := range out {
			out[i] = v.Index(i)
		}
		return out, true
	case starlark.Tuple:
		return v, true
	}
	return nil, false
}
