// Package call runs the Starlark functions of a loaded DAG file at task run
// time. Runner implements operators.FunctionRunner: it looks a callable up
// by its key (dags.Task.Function or a callback key), converts the
// arguments (dags.XComRef values become the pulled XCom values), passes a
// task context as the first argument when the function's first parameter
// is named ctx, and converts the result back to a plain Go value.
//
// Each call runs on a fresh Starlark thread marked as run time (so
// time.now() works), with print going to the task log, and is cancelled
// when its context ends. Loaded functions are frozen, so a Runner may be
// called from many goroutines at once.
package call
