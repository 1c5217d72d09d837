package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"time"

	"go.starlark.net/syntax"

	"github.com/starflow-dev/starflow/starlark/loader"
	"github.com/starflow-dev/starflow/starlark/sandbox"
)

// parseChildCommand is the hidden first argument that makes the binary a
// parse process of starlark/sandbox: it evaluates the DAG files its parent
// names on standard input under a memory limit.
const parseChildCommand = "__parse-child"

// Environment variables of DAG-file isolation (docs/security.md).
const (
	// envParseMemory is the memory limit of a parse process in MiB.
	envParseMemory = "STARFLOW_PARSE_MEMORY_LIMIT_MB"
	// envParseIsolation "off" evaluates DAG files in-process only.
	envParseIsolation = "STARFLOW_PARSE_ISOLATION"
	// envParseTimeout is the time limit of one DAG file's evaluation, a
	// Go duration (Airflow's dagbag_import_timeout).
	envParseTimeout = "STARFLOW_PARSE_TIMEOUT"
	// envTaskMemory is the memory limit in MiB of a sandbox process that
	// runs task functions; envParseMemory's value when unset.
	envTaskMemory = "STARFLOW_TASK_MEMORY_LIMIT_MB"
	// envTaskIsolation "off" runs Starlark task functions in-process.
	envTaskIsolation = "STARFLOW_TASK_ISOLATION"
)

// parseTimeout is the time limit of one DAG file's evaluation: the
// loader's default unless envParseTimeout says otherwise.
func parseTimeout(logger *slog.Logger) time.Duration {
	v := os.Getenv(envParseTimeout)
	if v == "" {
		return loader.DefaultTimeout
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		logger.Warn("ignoring "+envParseTimeout+": want a positive duration such as 30s", "value", v)
		return loader.DefaultTimeout
	}
	return d
}

// runParseChild is the parse process: it serves its parent until its
// standard input ends.
func runParseChild(stdin io.Reader, stdout, stderr io.Writer) int {
	// It inherits the daemon's environment: private too (a task runs as
	// the same user). An error only leaves it readable, as before.
	_ = keepProcessPrivate()
	limit, err := parseMemoryLimit()
	if err != nil {
		fmt.Fprintln(stderr, "starflow: "+err.Error())
		return exitUsage
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil)) // the parent evaluates the file again and logs its print()
	newLoader := func(onPos func(syntax.Position)) *loader.Loader {
		opts := loaderOptions(quiet)
		opts.OnPosition = onPos
		return loader.New(opts)
	}
	if err := sandbox.Serve(context.Background(), newLoader, stdin, stdout, sandbox.Limits{Memory: limit}); err != nil {
		fmt.Fprintln(stderr, "starflow: parse process: "+err.Error())
		return exitInternal
	}
	return exitOK
}

// parseMemoryLimit is the limit of parse processes in bytes.
func parseMemoryLimit() (int64, error) { return memoryLimitOf(envParseMemory) }

// memoryLimitOf reads a memory limit in MiB from the environment
// variable name.
func memoryLimitOf(name string) (int64, error) {
	v := os.Getenv(name)
	if v == "" {
		return sandbox.DefaultMemoryLimit, nil
	}
	mb, err := strconv.ParseInt(v, 10, 64)
	if err != nil || mb < 64 {
		return 0, fmt.Errorf("%s must be a number of MiB of at least 64, not %q", name, v)
	}
	return mb << 20, nil
}

// newTaskIsolator returns the pool of sandbox processes that run Starlark
// task functions (the same hidden subcommand as parse processes, under
// envTaskMemory), up to concurrency at once, or nil when task isolation is off or
// the binary cannot find itself: functions then run in-process.
func newTaskIsolator(logger *slog.Logger, concurrency int) *sandbox.Pool {
	if os.Getenv(envTaskIsolation) == "off" {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		logger.Warn("task functions run in-process: cannot find the starflow binary", "err", err)
		return nil
	}
	limit, err := parseMemoryLimit()
	if err == nil && os.Getenv(envTaskMemory) != "" {
		limit, err = memoryLimitOf(envTaskMemory)
	}
	if err != nil {
		logger.Warn("task functions run in-process", "err", err)
		return nil
	}
	argv0 := os.Args[0]
	return &sandbox.Pool{
		Command: func() *exec.Cmd {
			cmd := exec.Command(exe, parseChildCommand)
			cmd.Args[0] = argv0
			cmd.Env = append(os.Environ(), envParseMemory+"="+strconv.FormatInt(limit>>20, 10))
			return cmd
		},
		Max:         max(concurrency, runtime.GOMAXPROCS(0)),
		MemoryLimit: limit,
		Logger:      logger,
		MinIdle:     1, // one warm for the next task function; the others end after DefaultIdleTimeout idle
	}
}

// newIsolator returns the pool of parse processes that evaluate each DAG
// file before the loader does, or nil when isolation is off or the binary
// cannot find itself.
func newIsolator(logger *slog.Logger) loader.Isolator {
	if os.Getenv(envParseIsolation) == "off" {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		logger.Warn("DAG files are evaluated in-process only: cannot find the starflow binary", "err", err)
		return nil
	}
	limit, err := parseMemoryLimit()
	if err != nil {
		logger.Warn("DAG files are evaluated in-process only", "err", err)
		return nil
	}
	argv0 := os.Args[0] // the name the binary was run by (testscript runs it as "starflow")
	return &sandbox.Pool{
		Command: func() *exec.Cmd {
			cmd := exec.Command(exe, parseChildCommand)
			cmd.Args[0] = argv0
			return cmd
		},
		Max:         runtime.GOMAXPROCS(0),
		Timeout:     parseTimeout(logger) + sandbox.DefaultGrace,
		MemoryLimit: limit,
		Logger:      logger,
	}
}
