package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/localrun"
	"github.com/starflow-dev/starflow/starlark/loader"
)

func tasksCommand() *cli.Command {
	return &cli.Command{
		Name:  "tasks",
		Usage: "run and inspect single tasks",
		Subcommands: []*cli.Command{
			tasksListCommand(),
			tasksStateCommand(),
			{
				Name:      "test",
				Usage:     "run one task alone, ignoring its dependencies, and show its log",
				ArgsUsage: "DAG_ID|FILE TASK_ID",
				Description: "DAG_ID is looked up in the DAG folder; a path to a .star file is loaded directly.\n" +
					"Nothing is recorded. Exit 0 when the task succeeds or skips, 1 when it fails.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "date", Usage: "the logical date (2024-01-01 or RFC 3339); default today at 00:00 UTC"},
					&cli.StringFlag{Name: "conf", Usage: "the run's conf as a JSON object"},
					&cli.IntFlag{Name: "map-index", Value: -1, Usage: "the task instance of a mapped task to run (its mapped values must be literal)"},
					dagsFolderFlag(),
				},
				Action: runTasksTest,
			},
			tasksStatesForDagRunCommand(),
			tasksClearCommand(),
			tasksMarkCommand(dags.TaskStateSuccess),
			tasksMarkCommand(dags.TaskStateFailed),
		},
	}
}

func runTasksTest(c *cli.Context) error {
	if c.NArg() != 2 {
		return usageError("tasks test takes a DAG id (or file) and a task id, got %d arguments", c.NArg())
	}
	logger := newLogger(c)
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	l := newLoader(logger)
	defer l.Close()
	f, d, err := findDAG(c, l, c.Args().Get(0))
	if err != nil {
		return err
	}
	taskID := c.Args().Get(1)
	if d.Task(taskID) == nil {
		return usageError("DAG %s has no task %q (tasks: %s)", d.ID, taskID, strings.Join(d.TaskIDs(), ", "))
	}
	info, err := manualRun(d, c.String("date"), c.String("conf"))
	if err != nil {
		return err
	}
	opts, closePools := localOptions(logger, f)
	defer closePools()
	// A trigger_dag task runs its target DAG here too, from the same DAG
	// folder, without echoing that run's task logs.
	find, _ := folderDAGs(l, f, c.String("dags"), c.Args().Get(0))
	triggered := localrun.NewTriggered(ctx, find, opts)
	opts.DagRuns = triggered
	opts.Echo = c.App.Writer
	res, err := localrun.RunTask(ctx, d, taskID, c.Int("map-index"), info, opts)
	if errors.Is(err, localrun.ErrBadMapIndex) {
		return usageError("%v", err)
	}
	children, childErr := triggered.Wait()
	for _, ch := range children {
		fmt.Fprintf(c.App.Writer, "triggered run %s of %s: %s\n", ch.RunID, ch.DAGID, ch.State)
	}
	if err = errors.Join(err, childErr); err != nil {
		return internalError(err)
	}
	fmt.Fprintf(c.App.Writer, "\ntask %s of %s: %s in %s\n", taskID, d.ID, res.State, res.Duration.Round(time.Millisecond))
	if res.State == dags.TaskStateFailed {
		return failedError("%s", res.Err)
	}
	return nil
}

// findDAG loads the DAG named by arg: a .star file that exists, or a DAG
// id of the DAG folder.
func findDAG(c *cli.Context, l *loader.Loader, arg string) (*loader.File, *dags.DAG, error) {
	if strings.HasSuffix(arg, ".star") {
		f, err := loadDAGFile(c.Context, l, c.String("dags"), arg)
		if err != nil {
			return nil, nil, err
		}
		d, err := pickDAG(f, "")
		return f, d, err
	}
	bag, err := loadFolder(c)
	if err != nil {
		return nil, nil, err
	}
	d, f, ok := bag.DAG(arg)
	if !ok {
		ids := make([]string, 0)
		for _, d := range bag.DAGs() {
			ids = append(ids, d.ID)
		}
		return nil, nil, usageError("no DAG %q in %s (DAGs: %s)", arg, c.String("dags"), strings.Join(ids, ", "))
	}
	return f, d, nil
}
