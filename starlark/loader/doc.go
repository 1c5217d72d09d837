// Package loader evaluates DAG files (*.star) into validated dags.DAG
// values and findings, hermetically: explicit syntax.FileOptions (top-level
// if/for allowed; while, recursion and global reassignment off), a step
// limit, a wall-clock limit, caps on file and value sizes, print to a
// slog.Logger, and load("//path.star", ...) of modules relative to the DAG
// folder root with a per-evaluation cache and cycle detection. Parsing
// reads no clock, file, network or randomness: time.now() fails until the
// same function runs as a task (see starlark/call).
//
// Load evaluates one file from a Source (a directory, or the source bundle
// a worker got from the store; both behave the same) into a File: its
// DAGs, its import errors as findings with file:line:col, its content hash
// and source texts, and the frozen callables its tasks name by key. A Bag
// loads a whole DAG folder in parallel, caches files by content, and keeps
// going past broken files.
package loader
