// Package lint checks Starflow DAG files and reports findings as data: a
// position, a stable rule id, a severity and a message for a person.
//
// The linter does not evaluate Starlark. It takes what the loader produced
// for one file (its source, the DAGs it defined and the import and
// validation errors found while loading) as a plain File, so that the CLI
// can glue the two together and tests can build inputs by hand.
//
// # Severities
//
// A finding of severity "error" means the file cannot be used as it is: the
// loader rejected it (a syntax error, a failing load(), a runtime error) or
// a DAG failed validation (a cycle, a duplicate task id, an unknown trigger
// rule, ...). Such a DAG is an import error for the scheduler too. Errors
// pass through with the loader's own rule id and cannot be suppressed.
//
// A finding of severity "warning" means the file loads but probably does
// not do what its author meant: a task connected to nothing, a catchup that
// would create thousands of runs, a retry without a stated delay, a load()
// whose symbol is never used. Warnings can be disabled for a run with
// Options.Disabled, or in the file with a comment:
//
//	x = bash(task_id = "x", bash_command = "true")  # starflow: disable=unconnected-task
//
//	# starflow: disable=unconnected-task,retries-without-retry-delay
//	y = bash(task_id = "y", bash_command = "true", retries = 2)
//
// A "# starflow: disable=rule[,rule]" comment at the end of a line covers
// findings on that line; on a line of its own, it covers the line below.
// "# starflow: disable-file=rule[,rule]", written at the top of the file by
// convention, covers the whole file.
//
// # Exit codes
//
// The CLI ("starflow lint") applies one contract, which ExitCode computes:
// 0 when there are no findings, 1 when there is any finding of severity
// error or warning, and 2 for a usage error (a bad flag, an unknown format,
// an unknown rule in --disable; see Options.Validate), which the CLI
// reports itself.
//
// # Output
//
// WriteText, WriteJSON and WriteGitHub print findings in the three formats
// of "starflow lint --format"; docs/lint.md documents each format and every
// rule, with a bad and a good example, and a test keeps it complete.
package lint
