package main

import (
	"context"
	"log/slog"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	sqlop "github.com/starflow-dev/starflow/operators/sql"
	"github.com/starflow-dev/starflow/operators/stdlib"
	"github.com/starflow-dev/starflow/runtime/executor"
	"github.com/starflow-dev/starflow/runtime/templates"
	"github.com/starflow-dev/starflow/starlark/call"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// dagsFolderFlag is the DAG folder: load("//…") paths start there.
func dagsFolderFlag() *cli.StringFlag {
	return &cli.StringFlag{
		Name:    "dags",
		Usage:   "the DAG folder; load(\"//…\") paths start there when a file lies inside it",
		EnvVars: []string{"STARFLOW_DAGS_FOLDER"},
		Value:   "dags",
	}
}

// newLogger returns the logger of commands: text to stderr, warnings and
// up unless STARFLOW_LOG_LEVEL says otherwise.
func newLogger(c *cli.Context) *slog.Logger { return newLeveledLogger(c, slog.LevelWarn) }

// newLeveledLogger logs text to stderr from the given level, or from the
// level STARFLOW_LOG_LEVEL names (debug, info, warn, error).
func newLeveledLogger(c *cli.Context, level slog.Level) *slog.Logger {
	if v := os.Getenv("STARFLOW_LOG_LEVEL"); v != "" {
		_ = level.UnmarshalText([]byte(v))
	}
	return slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level}))
}

// newRegistry returns the operators Starflow ships.
func newRegistry() *operators.Registry { return newPooledRegistry(nil) }

// newPooledRegistry returns the operators Starflow ships, the sql operator
// taking its connections from pools (nil: a connection per try).
func newPooledRegistry(pools *sqlop.Pools) *operators.Registry {
	r := operators.NewRegistry()
	stdlib.Register(r, pools)
	return r
}

// newTryRunner wires the operators and the template engine; the sql
// operator uses pools (nil: a connection per try), which the caller owns.
func newTryRunner(logger *slog.Logger, pools *sqlop.Pools) *executor.TryRunner {
	engine := templates.NewEngine()
	return &executor.TryRunner{
		Registry:    newPooledRegistry(pools),
		NewRenderer: func(c *operators.Call) operators.Renderer { return engine.Renderer(c) },
		Logger:      logger,
	}
}

// newLoader returns a loader whose print() goes to logger, with a builtin
// for each operator of the registry that has a spec (http, sql) and the
// run-time modules of task functions.
// Each DAG file is evaluated first in a parse process (newIsolator).
func newLoader(logger *slog.Logger) *loader.Loader {
	opts := loaderOptions(logger)
	opts.Isolator = newIsolator(logger)
	return loader.New(opts)
}

// loaderOptions are the options of newLoader without its isolation: the
// parse processes' own.
func loaderOptions(logger *slog.Logger) loader.Options {
	return loader.Options{
		Logger:         logger,
		Operators:      newRegistry().Specs(),
		RuntimeModules: call.Modules(),
		Timeout:        parseTimeout(logger),
	}
}

// loadDAGFile evaluates one DAG file. Import errors are returned as one
// error of one line per finding, exit code 1.
func loadDAGFile(ctx context.Context, l *loader.Loader, dagsFolder, path string) (*loader.File, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, usageError("%v", err)
	}
	f := l.LoadPath(ctx, dagsFolder, path)
	if len(f.Errors) > 0 {
		lines := make([]string, len(f.Errors))
		for i, e := range f.Errors {
			lines[i] = e.Error()
		}
		return f, failedError("%s has errors:\n%s", path, strings.Join(lines, "\n"))
	}
	return f, nil
}

// pickDAG returns the DAG of f with the given id, or its only DAG.
func pickDAG(f *loader.File, id string) (*dags.DAG, error) {
	if id != "" {
		if d := f.DAG(id); d != nil {
			return d, nil
		}
		return nil, usageError("%s defines no DAG %q (it defines: %s)", f.Name, id, dagIDs(f))
	}
	switch len(f.DAGs) {
	case 0:
		return nil, failedError("%s defines no DAG", f.Name)
	case 1:
		return f.DAGs[0], nil
	}
	return nil, usageError("%s defines several DAGs (%s): choose one with --dag", f.Name, dagIDs(f))
}

func dagIDs(f *loader.File) string {
	ids := make([]string, len(f.DAGs))
	for i, d := range f.DAGs {
		ids[i] = d.ID
	}
	return strings.Join(ids, ", ")
}

// dagFileArg resolves a command's DAG argument: a DAG file, or the id of
// a DAG of the DAG folder. It returns the file and the DAG id to pick
// ("" when the argument is a file: --dag or the file's only DAG).
func dagFileArg(c *cli.Context, arg string) (path, dagID string, err error) {
	if fi, err := os.Stat(arg); err == nil && !fi.IsDir() {
		return arg, c.String("dag"), nil
	}
	if strings.HasSuffix(arg, ".star") || strings.ContainsRune(arg, os.PathSeparator) {
		return "", "", usageError("%s: no such DAG file", arg)
	}
	bag, err := loadFolder(c)
	if err != nil {
		return "", "", err
	}
	var ids []string
	for _, d := range bag.DAGs() {
		if d.ID == arg {
			return d.File, d.ID, nil
		}
		ids = append(ids, d.ID)
	}
	return "", "", failedError("no DAG %q in the DAG folder %s%s (see starflow dags list)", arg, c.String("dags"), didYouMean(arg, ids))
}
