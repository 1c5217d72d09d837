package function

import (
	"context"
	"errors"
	"fmt"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
)

// Kind is the operator kind of task tasks.
const Kind = dags.OperatorTask

// Operator calls a task's Starlark function. The zero value is ready to
// use.
type Operator struct{}

var _ operators.Operator = (*Operator)(nil)

// New returns a task operator.
func New() *Operator { return &Operator{} }

// Register adds a task operator to r under Kind.
func Register(r *operators.Registry) { r.Register(Kind, New()) }

// Execute calls the task's function and succeeds with its result.
func (*Operator) Execute(ctx context.Context, c *operators.Call) (*operators.Result, error) {
	v, err := Call(ctx, c)
	if err != nil {
		return nil, err
	}
	return operators.Success(v), nil
}

// Call renders the task's args (Config["args"], a list) and kwargs
// (Config["kwargs"], a dict) and calls c.Task.Function with them through
// c.Functions, returning the function's result. A malformed task is a
// final failure; an error of the function is returned wrapped, so that
// operators.IsFinal still sees a Fail inside it.
func Call(ctx context.Context, c *operators.Call) (any, error) {
	if c.Task == nil {
		return nil, operators.Fail(errors.New("the call has no task"))
	}
	kind := c.Task.Operator
	if c.Task.Function == "" {
		return nil, operators.Fail(fmt.Errorf("%s %q has no function", kind, c.Task.ID))
	}
	if c.Functions == nil {
		return nil, operators.Fail(fmt.Errorf("%s %q: no function runner is configured", kind, c.Task.ID))
	}
	var args []any
	switch v := c.Task.Config["args"].(type) {
	case nil:
	case []any:
		args = v
	default:
		return nil, operators.Fail(fmt.Errorf("%s %q: args must be a list, got %T", kind, c.Task.ID, v))
	}
	var kwargs map[string]any
	switch v := c.Task.Config["kwargs"].(type) {
	case nil:
	case map[string]any:
		kwargs = v
	default:
		return nil, operators.Fail(fmt.Errorf("%s %q: kwargs must be a dict, got %T", kind, c.Task.ID, v))
	}
	rargs, err := operators.RenderValue(ctx, c, args)
	if err != nil {
		return nil, fmt.Errorf("%s %q: args: %w", kind, c.Task.ID, err)
	}
	rkwargs := map[string]any(nil)
	if kwargs != nil {
		rkwargs = make(map[string]any, len(kwargs))
		for k, v := range kwargs {
			if c.Mapped[k] {
				rkwargs[k] = v // values mapped over XComs are not templated, as in Airflow
				continue
			}
			r, err := operators.RenderValue(ctx, c, v)
			if err != nil {
				return nil, fmt.Errorf("%s %q: kwargs: [%q]: %w", kind, c.Task.ID, k, err)
			}
			rkwargs[k] = r
		}
	}
	var a []any
	if rargs != nil {
		a = rargs.([]any)
	}
	v, err := c.Functions.CallFunction(ctx, c, c.Task.Function, a, rkwargs)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", kind, c.Task.ID, err)
	}
	return v, nil
}
