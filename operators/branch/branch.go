package branch

import (
	"context"
	"fmt"
	"strings"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/operators/function"
)

// Operator kinds of this package.
const (
	KindBranch       = dags.OperatorBranch
	KindShortCircuit = dags.OperatorShortCircuit
)

// Branch runs a branch task. The zero value is ready to use.
type Branch struct{}

// ShortCircuit runs a short_circuit task. The zero value is ready to use.
type ShortCircuit struct{}

var (
	_ operators.Operator = (*Branch)(nil)
	_ operators.Operator = (*ShortCircuit)(nil)
)

// NewBranch returns a branch operator.
func NewBranch() *Branch { return &Branch{} }

// NewShortCircuit returns a short_circuit operator.
func NewShortCircuit() *ShortCircuit { return &ShortCircuit{} }

// Register adds the operators of this package to r under KindBranch,
// KindShortCircuit, KindLatestOnly and KindDayOfWeek.
func Register(r *operators.Registry) {
	r.Register(KindBranch, NewBranch())
	r.Register(KindShortCircuit, NewShortCircuit())
	r.Register(KindLatestOnly, &LatestOnly{})
	r.Register(KindDayOfWeek, &DayOfWeek{})
	r.Register(KindDateTime, &DateTime{})
}

// Execute calls the branch function, which returns a task or group id, a
// list of them, or None, and skips the direct downstream tasks that are
// not followed (dags.DAG.BranchSkips); an id that names no task or group
// fails the task for good. The function's result is the return value, and
// the Result's Message states the decision (the executor logs it).
func (*Branch) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	v, err := function.Call(ctx, c)
	if err != nil {
		return nil, err
	}
	chosen, err := branchIDs(v)
	if err != nil {
		return nil, operators.Fail(fmt.Errorf("branch %q: %w", c.Task.ID, err))
	}
	if c.DAG == nil {
		return nil, operators.Fail(fmt.Errorf("branch %q: the call has no DAG", c.Task.ID))
	}
	skip, err := c.DAG.BranchSkips(c.Task.ID, chosen)
	if err != nil {
		return nil, operators.Fail(err)
	}
	res := operators.Success(v)
	res.Skip = skip
	switch {
	case len(chosen) == 0:
		res.Message = fmt.Sprintf("branch returned no task: skipping every direct downstream task (%s)", list(skip))
	default:
		res.Message = fmt.Sprintf("following %s; skipping %s", list(chosen), list(skip))
	}
	return res, nil
}

// branchIDs reads a branch function's result: a string, a list of
// strings, or nil.
func branchIDs(v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{x}, nil
	case []string:
		return x, nil
	case []any:
		ids := make([]string, 0, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("the function returned a list whose item %d is %s, not a task id", i, describe(e))
			}
			ids = append(ids, s)
		}
		return ids, nil
	}
	return nil, fmt.Errorf("the function must return a task id, a list of task ids or None, got %s", describe(v))
}

// Execute calls the condition function. A truthy result lets the
// downstream tasks run and is the return value; a falsy one skips them:
// all transitive downstream tasks when ignore_downstream_trigger_rules is
// true (the default), only the direct ones otherwise
// (dags.DAG.ShortCircuitSkips). The Result's Message states the decision
// (the executor logs it).
func (*ShortCircuit) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	if c.Task == nil {
		return nil, operators.Fail(fmt.Errorf("short_circuit: the call has no task"))
	}
	ignore := true
	switch v := c.Task.Config["ignore_downstream_trigger_rules"].(type) {
	case nil:
	case bool:
		ignore = v
	default:
		return nil, operators.Fail(fmt.Errorf("short_circuit %q: ignore_downstream_trigger_rules must be a bool, got %s", c.Task.ID, describe(v)))
	}
	v, err := function.Call(ctx, c)
	if err != nil {
		return nil, err
	}
	if operators.Truthy(v) {
		res := operators.Success(v)
		res.Message = fmt.Sprintf("condition is %s: proceeding with downstream tasks", describe(v))
		return res, nil
	}
	if c.DAG == nil {
		return nil, operators.Fail(fmt.Errorf("short_circuit %q: the call has no DAG", c.Task.ID))
	}
	res := operators.Success(nil)
	res.Skip = c.DAG.ShortCircuitSkips(c.Task.ID, ignore)
	scope := "all downstream tasks"
	if !ignore {
		scope = "the direct downstream tasks"
	}
	res.Message = fmt.Sprintf("condition is %s: skipping %s (%s)", describe(v), scope, list(res.Skip))
	return res, nil
}

// describe prints a function result for a message, Python-style.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprintf("%v", v)
}

// list formats ids for a message.
func list(ids []string) string {
	if len(ids) == 0 {
		return "nothing"
	}
	return strings.Join(ids, ", ")
}
