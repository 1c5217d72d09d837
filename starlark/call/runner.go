package call

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.starlark.net/starlark"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	sqlop "github.com/starflow-dev/starflow/operators/sql"
	"github.com/starflow-dev/starflow/starlark/builtins"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// FileFunc returns the loaded DAG file whose functions a call may use,
// typically found by c.DAG.SourceHash.
type FileFunc func(ctx context.Context, c *operators.Call) (*loader.File, error)

// Runner calls the Starlark functions of loaded DAG files. It is safe for
// concurrent use.
type Runner struct {
	files FileFunc
	// SQL, when set, gives the sql module of task functions pooled
	// connections (shared with the sql operator); set it before use.
	SQL *sqlop.Pools
	// Isolator, when set, runs each call in a supervised process
	// (starlark/sandbox) instead of this one; set it before use.
	Isolator Isolator
}

var _ operators.FunctionRunner = (*Runner)(nil)

// New returns a Runner for the functions of one loaded file.
func New(f *loader.File) *Runner {
	return &Runner{files: func(context.Context, *operators.Call) (*loader.File, error) { return f, nil }}
}

// NewWithFiles returns a Runner that asks files for the file of each call,
// for a worker that serves DAGs of many files and versions.
func NewWithFiles(files FileFunc) *Runner { return &Runner{files: files} }

var _ operators.SourceFiles = (*Runner)(nil)

// SourceFiles returns the source files of the call's DAG version by
// root-relative path: its .star files and the files its operators read
// (operators.Spec.Files). The map must not be changed.
func (r *Runner) SourceFiles(ctx context.Context, c *operators.Call) (map[string]string, error) {
	file, err := r.files(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("find the DAG file: %w", err)
	}
	if file == nil {
		return nil, errors.New("no DAG file loaded")
	}
	return file.Sources, nil
}

// CallFunction calls the function registered under key with args and
// kwargs (plain Go values; dags.XComRef values are replaced by the XCom
// they name) and returns its result as a plain Go value. A Starlark error
// is returned as one line, "file:line:col: message"; the backtrace goes to
// the task log.
func (r *Runner) CallFunction(ctx context.Context, c *operators.Call, key string, args []any, kwargs map[string]any) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			result, err = nil, fmt.Errorf("function %q: internal error: %v", key, p)
		}
	}()
	file, err := r.files(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("function %q: find its DAG file: %w", key, err)
	}
	if file == nil {
		return nil, fmt.Errorf("function %q: no DAG file loaded", key)
	}
	fn, ok := file.Function(key)
	if !ok {
		return nil, fmt.Errorf("function %q is not defined by %s", key, file.Name)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("function %q: %w", key, err)
	}
	if r.Isolator != nil {
		if res, ran, err := r.callIsolated(ctx, c, file, key, fn.Name(), definedAt(fn), args, kwargs); ran {
			return res, err
		}
	}

	thread := &starlark.Thread{Name: key}
	builtins.SetRuntime(thread)
	loader.SetRuntimeBudget(thread, loader.RuntimeBudget())
	thread.SetLocal(runtimeKey, &taskEnv{ctx: ctx, call: c, sql: r.SQL})
	thread.Print = func(_ *starlark.Thread, msg string) { c.Logf("%s", msg) }

	tc := newTaskContext(ctx, c)
	sargs := make(starlark.Tuple, 0, len(args)+1)
	if wantsContext(fn) {
		sargs = append(sargs, tc)
	}
	for i, a := range args {
		v, err := r.argument(ctx, c, a)
		if err != nil {
			return nil, fmt.Errorf("function %q: argument %d: %w", key, i+1, err)
		}
		sargs = append(sargs, v)
	}
	var skw []starlark.Tuple
	if len(kwargs) > 0 {
		names := make([]string, 0, len(kwargs))
		for k := range kwargs {
			names = append(names, k)
		}
		sort.Strings(names)
		skw = make([]starlark.Tuple, 0, len(names))
		for _, k := range names {
			v, err := r.argument(ctx, c, kwargs[k])
			if err != nil {
				return nil, fmt.Errorf("function %q: argument %s: %w", key, k, err)
			}
			skw = append(skw, starlark.Tuple{starlark.String(k), v})
		}
	}

	if wanted := contextWanted(fn, len(sargs)); wanted != nil {
		if skw, err = contextKwargs(tc, skw, wanted); err != nil {
			return nil, fmt.Errorf("function %q: context: %w", key, err)
		}
	}

	stop := context.AfterFunc(ctx, func() { thread.Cancel(context.Cause(ctx).Error()) })
	res, err := starlark.Call(thread, fn, sargs, skw)
	stop()
	if err != nil {
		return nil, runtimeError(ctx, c, fn, err)
	}
	if err := tc.outlets.flush(ctx); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", definedAt(fn), fn.Name(), err)
	}
	out, err := builtins.ToGo(res)
	if err != nil {
		return nil, fmt.Errorf("%s: %s returned a value that cannot be stored as an XCom: %v", definedAt(fn), fn.Name(), err)
	}
	return out, nil
}

// wantsContext reports whether fn's first parameter is named ctx.
func wantsContext(fn starlark.Callable) bool {
	f, ok := fn.(*starlark.Function)
	if !ok || f.NumParams() == 0 {
		return false
	}
	name, _ := f.Param(0)
	return name == "ctx"
}

// contextWanted returns which context values fn takes as keyword
// arguments, as Airflow's PythonOperator decides: a function with
// **kwargs and no ctx (def f(**context)) takes all of them, any other
// function without ctx those its named parameters ask for beyond the
// positional arguments given (def f(ds, ti)). Nil means none.
func contextWanted(fn starlark.Callable, positional int) func(name string) bool {
	f, ok := fn.(*starlark.Function)
	if !ok || wantsContext(fn) {
		return nil
	}
	if f.HasKwargs() {
		return func(string) bool { return true }
	}
	names := map[string]bool{}
	for i := positional; i < f.NumParams(); i++ {
		name, _ := f.Param(i)
		if isContextName(name) {
			names[name] = true
		}
	}
	if len(names) == 0 {
		return nil
	}
	return func(name string) bool { return names[name] }
}

// isContextName reports whether name is a value of the task context.
func isContextName(name string) bool {
	return name == "ti" || name == "task_instance" || slices.Contains(contextAttrs, name)
}

// contextKwargs adds the context values wanted to kw as Airflow's context
// dict holds them: each attribute of ctx (ds, params, dag_run, ...), and
// ti and task_instance for ctx itself (its xcom_pull and xcom_push are the
// task instance's). Keywords the task passes itself win.
func contextKwargs(tc *taskContext, kw []starlark.Tuple, wanted func(name string) bool) ([]starlark.Tuple, error) {
	given := make(map[string]bool, len(kw))
	for _, p := range kw {
		given[string(p[0].(starlark.String))] = true
	}
	add := func(name string, v starlark.Value) {
		if !given[name] && wanted(name) {
			kw = append(kw, starlark.Tuple{starlark.String(name), v})
		}
	}
	for _, name := range contextAttrs {
		if given[name] || !wanted(name) {
			continue
		}
		v, err := tc.Attr(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if v != nil {
			add(name, v)
		}
	}
	add("ti", tc)
	add("task_instance", tc)
	return kw, nil
}

// argument converts one argument, pulling the XComs it refers to.
func (r *Runner) argument(ctx context.Context, c *operators.Call, a any) (starlark.Value, error) {
	resolved, err := operators.ResolveXComs(ctx, c, a)
	if err != nil {
		return nil, err
	}
	return builtins.FromGo(resolved)
}

// runtimeError turns a Starlark error into a one-line Go error at the
// innermost user frame, and writes the backtrace to the task log. When
// ctx ended, the error wraps ctx's cause so callers can tell a timeout.
func runtimeError(ctx context.Context, c *operators.Call, fn starlark.Callable, err error) error {
	var ee *starlark.EvalError
	if !errors.As(err, &ee) {
		return fmt.Errorf("%s: %w", definedAt(fn), err)
	}
	pos := definedAt(fn)
	for i := len(ee.CallStack) - 1; i >= 0; i-- {
		if p := ee.CallStack[i].Pos; p.IsValid() && p.Filename() != "<builtin>" {
			pos = builtins.ToPos(p)
			break
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %s was stopped: %w", pos, fn.Name(), context.Cause(ctx))
	}
	c.Logf("%s", backtrace(ee))
	return fmt.Errorf("%s: %s", pos, ee.Msg)
}

// backtrace formats the Starlark call stack of an error, innermost call
// last, without the loader's internal operator frames.
func backtrace(ee *starlark.EvalError) string {
	var b strings.Builder
	b.WriteString("Traceback (most recent call last):\n")
	for _, fr := range ee.CallStack {
		if strings.HasPrefix(fr.Name, "$") {
			continue
		}
		fmt.Fprintf(&b, "  %s: in %s\n", fr.Pos, fr.Name)
	}
	fmt.Fprintf(&b, "Error: %s", ee.Msg)
	return b.String()
}

// definedAt returns where fn is defined, for errors without a frame.
func definedAt(fn starlark.Callable) dags.Pos {
	if f, ok := fn.(*starlark.Function); ok {
		return builtins.ToPos(f.Position())
	}
	return dags.Pos{File: "<builtin>"}
}
