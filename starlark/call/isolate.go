package call

import (
	"context"
	"fmt"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// Isolator runs task functions in supervised processes of their own
// (starlark/sandbox), so that a function that exhausts memory kills that
// process, not the worker, and its try fails with the position it reached
// and "memory limit" in the message.
type Isolator interface {
	// CallFunction calls the function req.Key of req.File in another
	// process with arguments already resolved (no dags.XComRef left), and
	// answers the function's requests (XComs, variables, connections,
	// log lines) from c. ran is false when no process could run it: the
	// runner then calls it in-process.
	CallFunction(ctx context.Context, c *operators.Call, req IsolatedCall) (result any, ran bool, err error)
}

// IsolatedCall is one call of a task function for an Isolator.
type IsolatedCall struct {
	File   *loader.File
	Key    string
	Args   []any
	Kwargs map[string]any
	// Name and DefinedAt name the function in messages of a process that
	// died before it reported a position.
	Name      string
	DefinedAt dags.Pos
}

// callIsolated resolves the arguments' XComs here, where the stores are,
// and runs the call in the isolator.
func (r *Runner) callIsolated(ctx context.Context, c *operators.Call, file *loader.File, key, name string, at dags.Pos, args []any, kwargs map[string]any) (any, bool, error) {
	req := IsolatedCall{File: file, Key: key, Name: name, DefinedAt: at, Args: make([]any, len(args))}
	for i, a := range args {
		v, err := operators.ResolveXComs(ctx, c, a)
		if err != nil {
			return nil, true, fmt.Errorf("function %q: argument %d: %w", key, i+1, err)
		}
		req.Args[i] = v
	}
	if len(kwargs) > 0 {
		req.Kwargs = make(map[string]any, len(kwargs))
		for k, a := range kwargs {
			v, err := operators.ResolveXComs(ctx, c, a)
			if err != nil {
				return nil, true, fmt.Errorf("function %q: argument %s: %w", key, k, err)
			}
			req.Kwargs[k] = v
		}
	}
	return r.Isolator.CallFunction(ctx, c, req)
}
