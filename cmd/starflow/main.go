// Command starflow is Starflow's single binary: the DAG tools (lint,
// test-dag, dags, tasks), the metadata-store tools and the daemons.
//
// This package only wires libraries together; every behaviour lives in a
// package under dags/, starlark/, operators/ or runtime/.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
)

// Exit codes, as in the design: 0 ok, 1 findings or a failed run, 2 usage,
// 3 internal error.
const (
	exitOK       = 0
	exitFailed   = 1
	exitUsage    = 2
	exitInternal = 3
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run executes the CLI with the given arguments and returns the exit code.
// A panic is a bug: it is reported in one line with exit code 3 instead of
// a stack trace (STARFLOW_DEBUG=1 keeps the trace).
func run(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if p := recover(); p != nil {
			if os.Getenv("STARFLOW_DEBUG") != "" {
				panic(p)
			}
			fmt.Fprintf(stderr, "starflow: internal error: %v (this is a bug; please report it with the command you ran)\n", p)
			code = exitInternal
		}
	}()
	if len(args) > 1 && args[1] == parseChildCommand {
		return runParseChild(os.Stdin, stdout, stderr)
	}
	app := newApp(stdout, stderr)
	if msg := unknownCommand(app, args); msg != "" {
		fmt.Fprintln(stderr, "starflow: "+msg)
		return exitUsage
	}
	cs, err := loadConfigState(args)
	if err != nil {
		fmt.Fprintln(stderr, "starflow: "+err.Error())
		return exitUsage
	}
	app.Metadata = map[string]any{configStateKey: cs}
	err = app.Run(interspersed(app, args))
	if err == nil {
		return exitOK
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(stderr, "starflow: "+msg)
		}
		return ec.ExitCode()
	}
	// Errors urfave/cli returns itself are about usage: bad flags, missing
	// arguments, unknown commands.
	fmt.Fprintln(stderr, "starflow: "+err.Error())
	return exitUsage
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:                 "starflow",
		Usage:                "workflow orchestration with DAGs written in Starlark",
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		HideHelpCommand:      true,
		Version:              buildVersion().Starflow,
		Flags: []cli.Flag{&cli.StringFlag{Name: "config", Usage: "the configuration file (default: $STARFLOW_CONFIG, else ./starflow.yaml if it exists)",
			TakesFile: true}},
		UsageText: "starflow COMMAND [options] [arguments]\n\n" +
			"   starflow config init --dags dags   # write starflow.yaml: every command here uses it\n" +
			"   starflow lint                      # check the DAG folder\n" +
			"   starflow dags test etl             # run one DAG run in-process\n" +
			"   starflow standalone                # scheduler, workers and web UI in one process",
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return cli.Exit(err.Error(), exitUsage)
		},
		ExitErrHandler: func(*cli.Context, error) {}, // run() prints and exits
		Commands: []*cli.Command{
			lintCommand(),
			lspCommand(),
			withCPUProfile(testDAGCommand()),
			dagsCommand(),
			datasetsCommand(),
			tasksCommand(),
			dbCommand(),
			variablesCommand(),
			connectionsCommand(),
			withCPUProfile(standaloneCommand()),
			withCPUProfile(schedulerCommand()),
			withCPUProfile(workerCommand()),
			workersCommand(),
			jobsCommand(),
			healthCommand(),
			webserverCommand(),
			usersCommand(),
			tokensCommand(),
			configCommand(),
			poolsCommand(),
			versionCommand(),
			infoCommand(),
			completionCommand(),
		},
	}
	wireCommands(app.Commands, "")
	return app
}

// usageError is an exit error with code 2.
func usageError(format string, args ...any) error {
	return cli.Exit(fmt.Sprintf(format, args...), exitUsage)
}

// failedError is an exit error with code 1 (findings, a failed run).
func failedError(format string, args ...any) error {
	return cli.Exit(fmt.Sprintf(format, args...), exitFailed)
}

// internalError is an exit error with code 3.
func internalError(err error) error {
	return cli.Exit(err.Error(), exitInternal)
}
