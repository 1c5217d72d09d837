// Package sandbox evaluates DAG files in supervised child processes, the
// net under the loader's in-process memory budget: a child limits its own
// memory (RLIMIT_DATA on Linux, plus a Go memory limit and a heap
// watchdog) and is killed when an evaluation outlives the loader's time
// limit, so a file that exhausts memory or time kills a child, never the
// daemon, and becomes an import error at the last position the child
// reported, with "memory limit" or "time limit" in its message.
//
// A Pool (the parent side, a loader.Isolator) keeps up to Max children,
// each evaluating one file at a time and serving file after file until it
// dies; Serve is the child side, run by a hidden subcommand of the
// starflow binary. The child only reports whether it finished: the
// loader's result holds Starlark functions, which cannot cross a process,
// so the parent evaluates a file again when its child finished.
package sandbox
