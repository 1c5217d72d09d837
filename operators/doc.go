// Package operators defines what an operator is to Starflow: something
// that executes one try of a task instance, given a Call, and returns a
// Result. Each operator family lives in its own sub-package (bash,
// function, branch, empty, ...) and is added to a Registry value by the
// program that wires Starflow together; there is no global registry.
//
// Operators that call a Starlark function (task, branch, short_circuit,
// callbacks) do so through the FunctionRunner in their Call, so no operator
// imports go.starlark.net.
package operators
