// Package pylib gives DAG files and task functions the Python builtins
// and modules Airflow users write without thinking: sum, round,
// isinstance, divmod, pow, and the json, math, re and datetime modules,
// with Python's names, arguments and results wherever Starlark can follow
// them. Universe returns them for a loader's predeclared environment.
//
// Parsing stays hermetic: the functions that read the clock
// (datetime.datetime.now and its kin) fail while a DAG file is parsed and
// work inside a running task (a thread marked with builtins.SetRuntime).
package pylib
