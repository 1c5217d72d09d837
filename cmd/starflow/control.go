package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/internal/dagfolder"
	"github.com/starflow-dev/starflow/runtime/dagprocessor"
	"github.com/starflow-dev/starflow/runtime/executor"
	"github.com/starflow-dev/starflow/runtime/queue"
	"github.com/starflow-dev/starflow/runtime/queue/memqueue"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/starlark/call"
	"github.com/starflow-dev/starflow/starlark/loader"
)

// controlScheduler returns a scheduler for the commands that change runs
// and task instances in the store (trigger, clear, mark): DAG versions come
// from the store, DAG callbacks run here, and nothing is ever dispatched
// from this process, so its queue is closed (the daemons queue the work).
// The caller closes l when done.
func controlScheduler(st store.Store, l *loader.Loader, logger *slog.Logger, dagsDir string) (*scheduler.Scheduler, *call.Versions) {
	versions := storeVersions(st, l, dagsDir)
	q := memqueue.New()
	_ = q.Close()
	s := scheduler.New(st, q, versions, logger, scheduler.Config{})
	s.Callbacks = &executor.RunCallbacks{Store: st, DAGs: versions, Runner: newTryRunner(logger, nil), Logger: logger, DagRuns: s.DagRuns()}
	return s, versions
}

// storeVersions builds DAG versions with l from the sources the store
// keeps, each parsed once.
func storeVersions(st store.Store, l *loader.Loader, dagsDir string) *call.Versions {
	return call.NewVersions(l, func(ctx context.Context, hash string) (call.Bundle, error) {
		v, err := st.DAGVersionGet(ctx, hash)
		if err != nil {
			return call.Bundle{}, err
		}
		return call.Bundle{Dir: dagsDir, EntryFile: v.EntryFile, Files: v.Files}, nil
	}, versionCacheSize)
}

// notInStore explains a DAG the store does not know.
func notInStore(dagID string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return failedError("DAG %q is not in the metadata database: run `starflow dags reserialize --dags DIR` (or a scheduler) first", dagID)
	}
	return err
}

// parseConf reads a --conf JSON object. Integers stay ints (5, not 5.0),
// as Python's json gives them to an Airflow DAG's dag_run.conf.
func parseConf(s string) (map[string]any, error) {
	if s == "" {
		return nil, nil
	}
	var conf map[string]any
	if err := json.Unmarshal([]byte(s), &conf); err != nil {
		return nil, usageError("--conf is not a JSON object: %v", err)
	}
	if conf == nil {
		return nil, nil
	}
	v, err := store.DecodeJSON("--conf", s)
	if err != nil {
		return nil, usageError("--conf: %v", err)
	}
	return v.(map[string]any), nil
}

// parseDateFlag reads a date flag (2024-01-01 or RFC 3339) in loc; empty
// gives the zero time.
func parseDateFlag(c *cli.Context, name string, loc *time.Location) (time.Time, error) {
	s := c.String(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := dags.ParseDate(s, loc)
	if err != nil {
		return time.Time{}, usageError("--%s: %v", name, err)
	}
	return t.UTC(), nil
}

// dagsTriggerCommand is `starflow dags trigger DAG_ID`.
func dagsTriggerCommand() *cli.Command {
	return &cli.Command{
		Name:      "trigger",
		Usage:     "create a manual run of a DAG; the scheduler runs it (a paused DAG's run waits, queued)",
		ArgsUsage: "DAG_ID",
		Flags: []cli.Flag{
			databaseURLFlag(),
			&cli.StringFlag{Name: "conf", Aliases: []string{"c"}, Usage: "the run's conf as a JSON object"},
			&cli.StringFlag{Name: "logical-date", Aliases: []string{"l"}, Usage: "the logical date (2024-01-01 or RFC 3339); default now"},
			&cli.StringFlag{Name: "run-id", Aliases: []string{"r"}, Usage: "the run id; default manual__<logical date>"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("dags trigger takes one DAG id, got %d arguments", c.NArg())
			}
			dagID := c.Args().First()
			conf, err := parseConf(c.String("conf"))
			if err != nil {
				return err
			}
			logical, err := parseDateFlag(c, "logical-date", time.UTC)
			if err != nil {
				return err
			}
			runID := c.String("run-id")
			if runID != "" {
				if err := dags.CheckRunID(runID); err != nil {
					return usageError("--run-id: %v", err)
				}
			}
			return withStore(c, func(st store.Store) error {
				logger := newLogger(c)
				l := newLoader(logger)
				defer l.Close()
				sched, _ := controlScheduler(st, l, logger, "dags")
				dag, err := st.DAGGet(c.Context, dagID)
				if err != nil {
					return notInStore(dagID, err)
				}
				run, err := sched.Trigger(c.Context, scheduler.TriggerParams{DAGID: dagID, LogicalDate: logical, RunID: runID, Conf: conf}, time.Now())
				if err != nil {
					return err
				}
				cliAudit(c, st, store.AuditEntry{Event: store.AuditTrigger, DagID: dagID, RunID: run.RunID, Extra: store.AuditConf(conf)})
				fmt.Fprintln(c.App.Writer, run.RunID)
				if dag.IsPaused {
					fmt.Fprintf(c.App.ErrWriter, "DAG %s is paused: the run stays queued until `starflow dags unpause %s`\n", dagID, dagID)
				}
				return nil
			})
		},
	}
}

// dagsPauseCommand is `starflow dags pause|unpause DAG_ID`.
func dagsPauseCommand(pause bool) *cli.Command {
	name, usage := "unpause", "let the scheduler create and start the DAG's runs again"
	if pause {
		name, usage = "pause", "stop the scheduler from creating and starting the DAG's runs; running tasks finish"
	}
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		ArgsUsage: "DAG_ID",
		Flags:     []cli.Flag{databaseURLFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("dags %s takes one DAG id, got %d arguments", name, c.NArg())
			}
			dagID := c.Args().First()
			return withStore(c, func(st store.Store) error {
				if err := st.DAGSetPaused(c.Context, dagID, pause); err != nil {
					return notInStore(dagID, err)
				}
				event := store.AuditUnpause
				if pause {
					event = store.AuditPause
				}
				cliAudit(c, st, store.AuditEntry{Event: event, DagID: dagID})
				fmt.Fprintf(c.App.Writer, "DAG %s %sd\n", dagID, name)
				return nil
			})
		},
	}
}

// dagsReserializeCommand is `starflow dags reserialize`.
func dagsReserializeCommand() *cli.Command {
	return &cli.Command{
		Name:  "reserialize",
		Usage: "parse the DAG folder once and record its DAGs (versions, import errors) in the metadata database",
		Flags: []cli.Flag{dagsFolderFlag(), databaseURLFlag()},
		Action: func(c *cli.Context) error {
			dir := c.String("dags")
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				return usageError("DAG folder %s is not a folder (set --dags or STARFLOW_DAGS_FOLDER)", dir)
			}
			return withStore(c, func(st store.Store) error {
				stats, err := syncFolder(c.Context, st, newLogger(c), dir)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "%d files, %d DAGs, %d files with import errors (%d changed)\n", stats.Files, stats.DAGs, stats.ImportErrors, stats.Changed)
				if stats.ImportErrors > 0 {
					fmt.Fprintln(c.App.ErrWriter, "see starflow dags list-import-errors")
				}
				return nil
			})
		},
	}
}

// syncFolder runs one DAG-processor pass over dir into the store.
func syncFolder(ctx context.Context, st store.Store, logger *slog.Logger, dir string) (dagprocessor.SyncStats, error) {
	l := newLoader(logger)
	defer l.Close()
	_, versions := controlScheduler(st, l, logger, dir)
	p := &dagprocessor.Processor{Store: st, Parser: dagfolder.New(l, filepath.Clean(dir), versions),
		Folder: filepath.Clean(dir), Logger: logger}
	return p.Sync(ctx)
}

// tasksClearCommand is `starflow tasks clear DAG_ID`.
func tasksClearCommand() *cli.Command {
	return &cli.Command{
		Name:      "clear",
		Usage:     "reset task instances so they run again with a full retry budget",
		ArgsUsage: "DAG_ID",
		Description: "Lists what would be cleared and asks for confirmation; --yes clears without asking (needed\n" +
			"when not on a terminal). Finished runs go back to queued and the scheduler runs them again.",
		Flags: []cli.Flag{
			databaseURLFlag(),
			&cli.StringFlag{Name: "task-regex", Aliases: []string{"t"}, Usage: "only tasks whose id matches this regular expression"},
			&cli.StringFlag{Name: "start-date", Aliases: []string{"s"}, Usage: "only runs with a logical date at or after this"},
			&cli.StringFlag{Name: "end-date", Aliases: []string{"e"}, Usage: "only runs with a logical date at or before this"},
			&cli.StringFlag{Name: "run-id", Aliases: []string{"r"}, Usage: "only this run"},
			&cli.BoolFlag{Name: "only-failed", Aliases: []string{"f"}, Usage: "only failed and upstream_failed task instances"},
			&cli.BoolFlag{Name: "downstream", Aliases: []string{"d"}, Usage: "also the tasks downstream of the selected ones, and through external_task_marker tasks those in other DAGs"},
			&cli.BoolFlag{Name: "upstream", Aliases: []string{"u"}, Usage: "also the tasks upstream of the selected ones"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"},
		},
		Action: runTasksClear,
	}
}

func runTasksClear(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageError("tasks clear takes one DAG id, got %d arguments", c.NArg())
	}
	p := scheduler.ClearParams{DAGID: c.Args().First(), TaskRegex: c.String("task-regex"), RunID: c.String("run-id"),
		OnlyFailed: c.Bool("only-failed"), Downstream: c.Bool("downstream"), Upstream: c.Bool("upstream")}
	var err error
	if p.StartDate, err = parseDateFlag(c, "start-date", time.UTC); err != nil {
		return err
	}
	if p.EndDate, err = parseDateFlag(c, "end-date", time.UTC); err != nil {
		return err
	}
	return withStore(c, func(st store.Store) error {
		logger := newLogger(c)
		l := newLoader(logger)
		defer l.Close()
		sched, _ := controlScheduler(st, l, logger, "dags")
		dry := p
		dry.DryRun = true
		keys, err := sched.Clear(c.Context, dry)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			fmt.Fprintln(c.App.Writer, "no task instances to clear")
			return nil
		}
		fmt.Fprintf(c.App.Writer, "task instances to clear (%d):\n", len(keys))
		for _, k := range keys {
			fmt.Fprintf(c.App.Writer, "  %s\n", k)
		}
		if !c.Bool("yes") {
			ok, err := confirm(c, "clear them? [y/N] ")
			if err != nil {
				return err
			}
			if !ok {
				return failedError("nothing cleared")
			}
		}
		cleared, err := sched.Clear(c.Context, p)
		if err != nil {
			return err
		}
		cliAudit(c, st, store.AuditEntry{Event: store.AuditClear, DagID: p.DAGID, RunID: p.RunID,
			Extra: fmt.Sprintf("task_regex=%q only_failed=%v downstream=%v upstream=%v cleared=%d", p.TaskRegex, p.OnlyFailed, p.Downstream, p.Upstream, len(cleared))})
		fmt.Fprintf(c.App.Writer, "cleared %d task instances\n", len(cleared))
		return nil
	})
}

// confirm asks a yes/no question on a terminal; without one it refuses,
// asking for --yes.
func confirm(c *cli.Context, question string) (bool, error) {
	in, ok := c.App.Reader.(*os.File)
	if c.App.Reader == nil {
		in, ok = os.Stdin, true
	}
	if !ok || !isTerminal(in) {
		return false, failedError("not a terminal, so not going ahead without confirmation: pass --yes")
	}
	fmt.Fprint(c.App.ErrWriter, question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, internalError(err)
	}
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes", nil
}

// tasksMarkCommand is `starflow tasks mark-success|mark-failed`.
func tasksMarkCommand(state dags.TaskState) *cli.Command {
	name := "mark-" + string(state)
	return &cli.Command{
		Name:      name,
		Usage:     fmt.Sprintf("set a task instance to %s (a running one stops); the run goes on from there", state),
		ArgsUsage: "DAG_ID RUN_ID TASK_ID",
		Flags: []cli.Flag{
			databaseURLFlag(),
			&cli.BoolFlag{Name: "downstream", Aliases: []string{"d"}, Usage: "also every task downstream of it"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 3 {
				return usageError("tasks %s takes a DAG id, a run id and a task id, got %d arguments", name, c.NArg())
			}
			p := scheduler.MarkParams{DAGID: c.Args().Get(0), RunID: c.Args().Get(1), TaskID: c.Args().Get(2), State: state, Downstream: c.Bool("downstream")}
			return withStore(c, func(st store.Store) error {
				logger := newLogger(c)
				l := newLoader(logger)
				defer l.Close()
				sched, _ := controlScheduler(st, l, logger, "dags")
				keys, err := sched.MarkState(c.Context, p)
				if err != nil {
					return err
				}
				ids := make([]string, len(keys))
				for i, k := range keys {
					ids[i] = k.TaskID
				}
				if len(keys) == 0 {
					fmt.Fprintf(c.App.Writer, "nothing to mark: already %s\n", state)
					return nil
				}
				event := store.AuditMarkSuccess
				if state == dags.TaskStateFailed {
					event = store.AuditMarkFailed
				}
				cliAudit(c, st, store.AuditEntry{Event: event, DagID: p.DAGID, RunID: p.RunID, TaskID: p.TaskID,
					Extra: fmt.Sprintf("downstream=%v marked=%d", p.Downstream, len(keys))})
				fmt.Fprintf(c.App.Writer, "marked %s: %s\n", state, strings.Join(ids, ", "))
				if run, err := st.RunGet(c.Context, p.DAGID, p.RunID); err == nil {
					fmt.Fprintf(c.App.Writer, "run %s is %s\n", run.RunID, run.State)
				}
				return nil
			})
		},
	}
}

// dagsBackfillCommand is `starflow dags backfill DAG_ID`.
func dagsBackfillCommand() *cli.Command {
	return &cli.Command{
		Name:      "backfill",
		Usage:     "run a DAG over past dates: one run per schedule interval in [--start-date, --end-date]",
		ArgsUsage: "DAG_ID",
		Description: "Parses the DAG folder once, creates the missing runs (run type backfill) and runs them in\n" +
			"this process, at most --max-active-runs at a time, oldest first, with a progress bar. Existing\n" +
			"runs are kept (--reset-dagruns or --rerun-failed-tasks run them again). Ctrl-C stops starting\n" +
			"runs and lets running tasks finish (up to --grace); the same command again resumes.\n" +
			"Exit 0 when every run succeeded, 1 when some failed or on interruption.",
		Flags: []cli.Flag{
			dagsFolderFlag(),
			databaseURLFlag(),
			&cli.StringFlag{Name: "start-date", Aliases: []string{"s"}, Usage: "the first logical date (2024-01-01 or RFC 3339), included", Required: true},
			&cli.StringFlag{Name: "end-date", Aliases: []string{"e"}, Usage: "the last logical date, included", Required: true},
			&cli.BoolFlag{Name: "reset-dagruns", Usage: "run the existing finished runs in the range again, every task"},
			&cli.BoolFlag{Name: "rerun-failed-tasks", Usage: "run the failed tasks of the existing failed runs in the range again"},
			&cli.IntFlag{Name: "max-active-runs", Aliases: []string{"m"}, Usage: "runs at once (default: the DAG's max_active_runs)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the logical dates, one per line, and change nothing"},
			&cli.StringFlag{Name: "conf", Aliases: []string{"c"}, Usage: "the conf of the new runs, as a JSON object"},
			&cli.IntFlag{Name: "concurrency", Usage: "tasks run at once", EnvVars: []string{"STARFLOW_WORKER_CONCURRENCY"}, Value: executor.DefaultConcurrency},
			&cli.DurationFlag{Name: "grace", Usage: "on Ctrl-C, how long running tasks may finish before they are stopped and marked for retry", EnvVars: []string{"STARFLOW_DRAIN_GRACE"}, Value: executor.DefaultDrainGrace},
			logFolderFlag(),
		},
		Action: runDagsBackfill,
	}
}

func runDagsBackfill(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageError("dags backfill takes one DAG id, got %d arguments", c.NArg())
	}
	dagID := c.Args().First()
	if c.Int("max-active-runs") < 0 {
		return usageError("--max-active-runs must not be negative")
	}
	conf, err := parseConf(c.String("conf"))
	if err != nil {
		return err
	}
	if c.Bool("dry-run") {
		return backfillDryRun(c, dagID)
	}
	dir := c.String("dags")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return usageError("DAG folder %s is not a folder (set --dags or STARFLOW_DAGS_FOLDER)", dir)
	}
	logger := newLogger(c)
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C stops at once
	}()
	e, err := newEngine(ctx, engineConfig{databaseURL: c.String("database-url"), dagsDir: dir, parse: true, work: true,
		concurrency: c.Int("concurrency"), hostname: hostname(), drainGrace: c.Duration("grace"), logDir: logFolder(c, c.String("database-url"))}, logger)
	if err != nil {
		return storeError(err)
	}
	defer e.close()

	stats, err := e.processor.Sync(ctx)
	if err != nil {
		return storeError(err)
	}
	if stats.ImportErrors > 0 {
		fmt.Fprintf(c.App.ErrWriter, "%d files with import errors: see starflow dags list-import-errors\n", stats.ImportErrors)
	}
	dag, err := e.store.DAGGet(ctx, dagID)
	if errors.Is(err, store.ErrNotFound) {
		return usageError("no DAG %q in %s (see starflow dags list and starflow dags list-import-errors)", dagID, dir)
	}
	if err != nil {
		return storeError(err)
	}
	d, err := e.versions.DAG(ctx, dagID, dag.SourceHash)
	if err != nil {
		return failedError("DAG %s: %v", dagID, err)
	}
	start, err := parseDateFlag(c, "start-date", d.Timezone)
	if err != nil {
		return err
	}
	end, err := parseDateFlag(c, "end-date", d.Timezone)
	if err != nil {
		return err
	}

	// The worker serves every queue the DAG's tasks name, and after a try
	// queues only this DAG's tasks: its in-process queue ends with it.
	queues := []string{queue.DefaultQueue}
	for _, t := range d.Tasks() {
		queues = append(queues, t.Queue)
	}
	queues = queue.QueueNames(queues)
	e.worker.Queues = queues
	e.worker.AfterTry = func(wctx context.Context, key store.TaskInstanceKey) {
		now := time.Now()
		var st scheduler.TickStats
		if err := e.sched.AdvanceTasks(wctx, key.DagID, key.RunID, []string{key.TaskID}, nil, now, &st); err != nil {
			logger.Warn("advance failed; the backfill retries", "run", key.RunID, "err", err)
		}
		if ctx.Err() == nil && key.DagID == d.ID { // nothing new once interrupted
			if _, err := e.sched.DispatchDAG(wctx, key.DagID, now); err != nil {
				logger.Warn("dispatch failed; the backfill retries", "err", err)
			}
		}
	}
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(c.Context))
	defer stopWork()
	workDone := make(chan error, 1)
	go func() { workDone <- e.worker.Run(workCtx) }()

	ui := newBackfillUI(c.App.ErrWriter, dagID)
	res, err := e.sched.Backfill(ctx, scheduler.BackfillParams{DAGID: dagID, Start: start, End: end, ResetRuns: c.Bool("reset-dagruns"),
		RerunFailedTasks: c.Bool("rerun-failed-tasks"), MaxActiveRuns: c.Int("max-active-runs"), Conf: conf}, ui.report)
	ui.finish()
	if ctx.Err() != nil {
		fmt.Fprintf(c.App.ErrWriter, "stopping: no new runs; running tasks may finish (up to %s)\n", c.Duration("grace"))
	}
	stopWork()
	werr := <-workDone
	unclaimed := unclaimLeftovers(context.WithoutCancel(c.Context), e, queues)
	if unclaimed > 0 {
		logger.Info("tasks queued in this process went back to scheduled", "count", unclaimed)
	}
	switch {
	case res != nil && errors.Is(err, context.Canceled):
		return failedError("interrupted: %d of %d runs done; run the same command again to resume", finishedRuns(e.store, res), len(res.Dates))
	case err != nil:
		return storeError(err)
	case werr != nil:
		return internalError(werr)
	}
	if len(res.Dates) == 0 {
		fmt.Fprintf(c.App.Writer, "no runs of %s between %s and %s\n", dagID, fmtTime(start), fmtTime(end))
		return nil
	}
	if res.Failed > 0 {
		return failedError("backfill of %s: %d of %d runs failed", dagID, res.Failed, len(res.Dates))
	}
	fmt.Fprintf(c.App.Writer, "backfill of %s: %d runs succeeded (%d created)\n", dagID, len(res.Dates), res.Created)
	return nil
}

// finishedRuns counts the backfill's runs finished now, after the worker
// drained (the result counted them before).
func finishedRuns(st store.Store, res *scheduler.BackfillResult) int {
	n := 0
	for _, r := range res.Runs {
		if cur, err := st.RunGet(context.Background(), r.DagID, r.RunID); err == nil && cur.State.Finished() {
			n++
		}
	}
	return max(n, res.Done)
}

// backfillDryRun prints the logical dates of a backfill from the DAG
// folder, writing nothing anywhere.
func backfillDryRun(c *cli.Context, dagID string) error {
	bag, err := loadFolder(c)
	if err != nil {
		return err
	}
	d, _, ok := bag.DAG(dagID)
	if !ok {
		ids := make([]string, 0)
		for _, d := range bag.DAGs() {
			ids = append(ids, d.ID)
		}
		return usageError("no DAG %q in %s (DAGs: %s)", dagID, c.String("dags"), strings.Join(ids, ", "))
	}
	start, err := parseDateFlag(c, "start-date", d.Timezone)
	if err != nil {
		return err
	}
	end, err := parseDateFlag(c, "end-date", d.Timezone)
	if err != nil {
		return err
	}
	infos, err := d.DagRunsBetween(start, end, scheduler.MaxBackfillRuns)
	if err != nil {
		return usageError("%v", err)
	}
	for _, info := range infos {
		fmt.Fprintln(c.App.Writer, fmtTime(info.LogicalDate))
	}
	return nil
}

// unclaimLeftovers returns to scheduled the task instances whose messages
// are still in the in-process queue, which ends with this process.
func unclaimLeftovers(ctx context.Context, e *engine, queues []string) int {
	var msgs []queue.Message
	for {
		ds, err := e.queue.Receive(ctx, queue.ReceiveParams{Consumer: "backfill-exit", Queues: queues, Max: 100})
		if err != nil || len(ds) == 0 {
			break
		}
		for _, d := range ds {
			msgs = append(msgs, d.Message)
		}
	}
	n, err := e.sched.Unclaim(ctx, msgs)
	if err != nil {
		e.logger.Warn("could not return queued tasks to scheduled; a scheduler will", "err", err)
	}
	return n
}

// backfillUI shows a backfill's progress: a bar on a terminal, else one
// line per finished run.
type backfillUI struct {
	w     io.Writer
	dagID string
	tty   bool
	bar   *progressbar.ProgressBar
}

func newBackfillUI(w io.Writer, dagID string) *backfillUI {
	f, ok := w.(*os.File)
	return &backfillUI{w: w, dagID: dagID, tty: ok && isTerminal(f)}
}

func (u *backfillUI) report(p scheduler.BackfillProgress) {
	if !u.tty {
		if p.Finished == nil {
			fmt.Fprintf(u.w, "backfill of %s: %d runs, %d done already\n", u.dagID, p.Total, p.Done)
			return
		}
		fmt.Fprintf(u.w, "[%d/%d] %s %s (%d failed)\n", p.Done, p.Total, p.Finished.RunID, p.Finished.State, p.Failed)
		return
	}
	if u.bar == nil {
		u.bar = progressbar.NewOptions(p.Total,
			progressbar.OptionSetWriter(u.w),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetItsString("runs"),
			progressbar.OptionFullWidth(),
			progressbar.OptionThrottle(100*time.Millisecond),
		)
	}
	u.bar.Describe(fmt.Sprintf("%s: %d failed, %d running", u.dagID, p.Failed, p.Running))
	_ = u.bar.Set(p.Done)
}

// finish ends the bar's line so what follows starts on a new one.
func (u *backfillUI) finish() {
	if u.bar != nil {
		_ = u.bar.Exit()
		fmt.Fprintln(u.w)
	}
}
