package loader

import (
	"log/slog"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/starflow-dev/starflow/operators"
)

// Defaults of Options.
const (
	// DefaultMaxSteps bounds the Starlark steps of one file evaluation,
	// modules included: a few tenths of a second of pure computation,
	// orders of magnitude more than a DAG file of thousands of tasks needs.
	DefaultMaxSteps = 10_000_000
	// DefaultTimeout bounds the wall-clock time of one file evaluation:
	// Airflow's dagbag_import_timeout (30 s). Pure computation is bounded
	// far sooner by DefaultMaxSteps; the wall clock is for waiting, which
	// on a loaded machine (a parse process starting under -race beside
	// dozens of others) took more than the 5 s it once was.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxFileSize bounds each DAG file and module.
	DefaultMaxFileSize = 4 << 20
	// DefaultMaxStringSize bounds each string built with + or * at parse time.
	DefaultMaxStringSize = 4 << 20
	// DefaultMaxListLen bounds each list or tuple built with + or *.
	DefaultMaxListLen = 1 << 20
	// DefaultMaxAlloc bounds the total size of the large strings and
	// lists (64 KiB and more) one evaluation builds with + and *.
	DefaultMaxAlloc = 256 << 20
)

// Options configure a Loader. Zero fields take the defaults above.
type Options struct {
	MaxSteps      uint64
	Timeout       time.Duration
	MaxFileSize   int64
	MaxStringSize int
	MaxListLen    int
	MaxAlloc      int64
	// Logger receives print() output of DAG files; slog.Default() when nil.
	Logger *slog.Logger
	// Predeclared adds names to every file's environment (tests use it
	// for an assert module). They must be frozen.
	Predeclared starlark.StringDict
	// Operators are the specs of the operators whose builtins DAG files
	// may call (http, sql, ...), typically operators.Registry.Specs of
	// the registry that runs the tasks. Each becomes a builtin named after
	// its kind.
	Operators []operators.Spec
	// RuntimeModules are modules for task functions at run time, such as
	// starlark/call's http and sql. A module named like an operator
	// becomes that builtin's attributes (http(...) creates a task,
	// http.get(...) makes a request when a task runs); the others are
	// predeclared as they are. Their values must be frozen.
	RuntimeModules map[string]starlark.StringDict
	// Isolator, when set, evaluates each file of a folder or a bundle in a
	// supervised process first (starlark/sandbox): a file that kills that
	// process is an import error, and only a file that did not is
	// evaluated in-process.
	Isolator Isolator
	// OnPosition, when set, is told the caller's position before each
	// size-checked operation (+, *, %, replace, join, format, extend, str,
	// repr, range) runs: the isolated process reports the last one when
	// it dies.
	OnPosition func(syntax.Position)
}

func (o Options) withDefaults() Options {
	if o.MaxSteps == 0 {
		o.MaxSteps = DefaultMaxSteps
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = DefaultMaxFileSize
	}
	if o.MaxStringSize <= 0 {
		o.MaxStringSize = DefaultMaxStringSize
	}
	if o.MaxListLen <= 0 {
		o.MaxListLen = DefaultMaxListLen
	}
	if o.MaxAlloc <= 0 {
		o.MaxAlloc = DefaultMaxAlloc
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
