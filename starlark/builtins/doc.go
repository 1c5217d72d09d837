// Package builtins implements the authoring API that every DAG file sees:
// dag(), the operator builtins (bash, task, branch, short_circuit, empty),
// group, chain, cross_downstream and timedelta, together with the task,
// group and XCom-reference values they return.
//
// Builtins keep no state of their own. A Session attached to the Starlark
// thread that evaluates a file collects the DAGs it defines; the loader
// (starlark/loader) creates the session, runs the file and calls
// Session.Finish to obtain validated dags.DAG values, the findings and the
// Starlark callables the DAGs refer to by key. Every error a builtin
// returns is reported by Starlark at the position of the user's call, and
// every task, edge and DAG remembers where it was defined.
//
// The package also converts between Starlark values and the plain Go
// values of the model (ToGo, FromGo) for the loader and starlark/call.
// starlark.Value never leaves the starlark/ packages.
package builtins
