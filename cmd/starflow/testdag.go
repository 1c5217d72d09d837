package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/operators"
	sqlop "github.com/starflow-dev/starflow/operators/sql"
	"github.com/starflow-dev/starflow/runtime/envsecrets"
	"github.com/starflow-dev/starflow/runtime/localrun"
	"github.com/starflow-dev/starflow/runtime/store"
	"github.com/starflow-dev/starflow/runtime/store/secrets"
	"github.com/starflow-dev/starflow/runtime/tasklog"
	"github.com/starflow-dev/starflow/starlark/call"
	"github.com/starflow-dev/starflow/starlark/loader"
)

func testDAGCommand() *cli.Command { return testDAGCommandNamed("test-dag") }

// testDAGCommandNamed is test-dag under another name (`dags test`, as
// Airflow's).
func testDAGCommandNamed(name string) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     "run one whole DAG run in-process, with no database, queue or server",
		ArgsUsage: "DAG_ID|FILE",
		UsageText: "starflow dags test etl                     # a DAG of the DAG folder, by id\n" +
			"   starflow test-dag dags/etl.star --date 2024-01-15 --conf '{\"target\": \"lake\"}'\n" +
			"   starflow dags test etl --keep      # keep the task logs of a run that succeeds",
		Description: "Runs every task of one DAG run to its end in this process, showing each state change as it\n" +
			"happens, then a summary. Task logs go to a folder it names. Exit 0 when the run succeeds, 1 when it fails.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dag", Usage: "the DAG id, when the file defines several"},
			&cli.StringFlag{Name: "date", Usage: "the logical date (2024-01-01 or RFC 3339); default today at 00:00 UTC"},
			&cli.StringFlag{Name: "conf", Usage: "the run's conf as a JSON object"},
			&cli.BoolFlag{Name: "json", Usage: "print only the result as one JSON object"},
			&cli.StringFlag{Name: "log-dir", Usage: "where task logs go (default: a temporary folder, removed after a run that succeeds unless --keep)"},
			&cli.BoolFlag{Name: "keep", Usage: "keep the temporary folder of task logs and the run's record after a successful run"},
			&cli.StringFlag{Name: "record-to", Usage: "the metadata database the run is recorded in (default: sqlite:///LOG_DIR/starflow.db)"},
			dagsFolderFlag(),
		},
		Action: runTestDAG,
	}
}

// testDAGResult is the JSON object of `test-dag --json`, as the design fixes it.
// dataset_events and triggered_runs are additions to it, present only
// when the run updated datasets or triggered other DAGs.
type testDAGResult struct {
	DAGID         string                  `json:"dag_id"`
	RunID         string                  `json:"run_id"`
	LogicalDate   string                  `json:"logical_date"`
	State         dags.DagRunState        `json:"state"`
	Tasks         []testDAGTask           `json:"tasks"`
	DatasetEvents []localrun.DatasetEvent `json:"dataset_events,omitempty"`
	// TriggeredRuns are the runs trigger_dag tasks started, run here too.
	TriggeredRuns []testDAGResult `json:"triggered_runs,omitempty"`
}

type testDAGTask struct {
	TaskID     string         `json:"task_id"`
	MapIndex   int            `json:"map_index"`
	State      dags.TaskState `json:"state"`
	TryNumber  int            `json:"try_number"`
	DurationMS int64          `json:"duration_ms"`
	// RenderedMapIndex is the label of a mapped task instance's
	// map_index_template, when it has one.
	RenderedMapIndex string `json:"rendered_map_index,omitempty"`
}

func runTestDAG(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageError("%s takes one DAG id or file, got %d arguments", c.Command.FullName(), c.NArg())
	}
	logger := newLogger(c)
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()

	path, dagID, err := dagFileArg(c, c.Args().First())
	if err != nil {
		return err
	}
	dagsFolder := testDAGFolder(c, path)
	l := newLoader(logger)
	defer l.Close()
	f, err := loadDAGFile(ctx, l, dagsFolder, path)
	if err != nil {
		return err
	}
	d, err := pickDAG(f, dagID)
	if err != nil {
		return err
	}
	info, err := manualRun(d, c.String("date"), c.String("conf"))
	if err != nil {
		return err
	}
	logDir := c.String("log-dir")
	temporary := logDir == ""
	if temporary {
		if logDir, err = os.MkdirTemp("", "starflow-test-dag-"); err != nil {
			return internalError(fmt.Errorf("create the task log folder: %w", err))
		}
	}
	if abs, err := filepath.Abs(logDir); err == nil {
		logDir = abs
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return internalError(fmt.Errorf("create the task log folder: %w", err))
	}

	dbURL := c.String("record-to")
	// The recorded logs: in the log folder itself when the record database
	// is test-dag's own, else copied into the log folder the daemons of
	// that database use by default.
	logs := logDir
	if dbURL == "" {
		dbURL = "sqlite://" + filepath.Join(logDir, "starflow.db")
	} else {
		logs = logFolder(c, dbURL)
	}
	st, err := openStore(ctx, dbURL)
	if err != nil {
		return storeError(err)
	}
	closeStore := sync.OnceValue(st.Close)
	defer closeStore()
	rec, err := localrun.NewRecorder(ctx, st, d, localrun.RecordSource{EntryFile: f.Path, Files: f.Sources}, info)
	if err != nil {
		return storeError(err)
	}
	folder := tasklog.New(st, logs, hostname())
	rec.Logs = folder

	opts, closePools := localOptions(logger, f)
	defer closePools()
	opts.LogDir = logDir
	out := c.App.Writer
	var printer *runPrinter
	if !c.Bool("json") {
		printer = newRunPrinter(out, d)
		fmt.Fprintf(out, "running %s (%d tasks), run %s\n\n", d.ID, d.Len(), info.RunID)
	}
	// Runs that trigger_dag tasks start run here too, from the same DAG
	// folder; their tasks show in the progress under their DAG's id.
	childOpts := opts
	if printer != nil {
		childOpts.OnChange = printer.event
	}
	find, fileOf := folderDAGs(l, f, dagsFolder, path)
	triggered := localrun.NewTriggered(ctx, find, childOpts)
	triggered.OnRun = childRecorder(ctx, st, folder, fileOf, logger)
	opts.DagRuns = triggered
	opts.OnChange = func(e localrun.Event) {
		rec.Event(e)
		if printer != nil {
			printer.event(e)
		}
	}
	res, runErr := localrun.Run(ctx, d, info, opts)
	children, childErr := triggered.Wait()
	runErr = errors.Join(runErr, childErr)
	ok := res != nil && runErr == nil && res.State == dags.DagRunStateSuccess
	// A temporary folder is removed after a run that succeeded: its record
	// (the XComs, the logs' index) is not worth writing first.
	discard := temporary && ok && !c.Bool("keep")
	if discard {
		rec.Discard()
	} else if err := rec.Close(context.WithoutCancel(ctx), res); err != nil {
		logger.Warn("the run was not fully recorded", "database", store.RedactURL(dbURL), "err", err)
	}
	if res == nil {
		return internalError(runErr)
	}
	if c.Bool("json") {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		j := jsonResult(res)
		for _, ch := range children {
			j.TriggeredRuns = append(j.TriggeredRuns, jsonResult(ch))
		}
		if err := enc.Encode(j); err != nil {
			return internalError(err)
		}
	} else {
		for _, ch := range children {
			printer.childSummary(ch)
		}
		printer.failedLogs(res, failedLogLines)
	}
	removed := false
	if discard {
		_ = closeStore()
		if err := os.RemoveAll(logDir); err != nil {
			logger.Warn("could not remove the temporary folder", "folder", logDir, "err", err)
		} else {
			removed = true
		}
	}
	if !c.Bool("json") {
		if removed {
			printer.summary(res, "")
			fmt.Fprintln(out, "task logs and the run's record: removed (--keep or --log-dir keeps them)")
		} else {
			printer.summary(res, logDir)
			fmt.Fprintf(out, "recorded in: %s\n", store.RedactURL(dbURL))
		}
	}
	if runErr != nil {
		return failedError("%v", runErr)
	}
	if res.State != dags.DagRunStateSuccess {
		return cli.Exit("", exitFailed)
	}
	return nil
}

// failedLogLines is how many last lines of a failed task's log test-dag
// shows inline.
const failedLogLines = 10

// manualRun describes the run test-dag makes: a manual run whose logical
// date is --date (default today at midnight UTC), with the data interval
// the DAG's schedule gives that date.
func manualRun(d *dags.DAG, date, conf string) (operators.RunInfo, error) {
	logical := time.Now().UTC().Truncate(24 * time.Hour)
	if date != "" {
		t, err := dags.ParseDate(date, d.Timezone)
		if err != nil {
			return operators.RunInfo{}, usageError("--date: %v", err)
		}
		logical = t.UTC()
	}
	confMap, err := parseConf(conf)
	if err != nil {
		return operators.RunInfo{}, err
	}
	// The same check as a trigger's (dags.DAG.ResolveParams).
	if _, err := d.ResolveParams(confMap); err != nil {
		return operators.RunInfo{}, usageError("--conf: %v", err)
	}
	start, end := d.Schedule.DataInterval(logical, d.Timezone)
	return operators.RunInfo{
		DAGID:             d.ID,
		RunID:             string(dags.RunTypeManual) + "__" + logical.Format("2006-01-02T15:04:05-07:00"),
		RunType:           dags.RunTypeManual,
		LogicalDate:       logical,
		DataIntervalStart: start,
		DataIntervalEnd:   end,
		Conf:              confMap,
	}, nil
}

func jsonResult(res *localrun.Result) testDAGResult {
	out := testDAGResult{
		DAGID:       res.DAGID,
		RunID:       res.RunID,
		LogicalDate: res.LogicalDate.Format(time.RFC3339),
		State:       res.State,
		Tasks:       make([]testDAGTask, len(res.Tasks)),
	}
	for i, t := range res.Tasks {
		out.Tasks[i] = testDAGTask{TaskID: t.TaskID, MapIndex: t.MapIndex, State: t.State, TryNumber: t.TryNumber, DurationMS: t.Duration.Milliseconds(),
			RenderedMapIndex: t.RenderedMapIndex}
	}
	out.DatasetEvents = res.DatasetEvents
	return out
}

// childRecorder records each run a trigger_dag task starts in st, beside
// the run that triggered it, so that `dags list-runs` and `tasks
// states-for-dag-run` show it too. A run that cannot be recorded (a
// reset_dag_run runs a run id again) is logged and runs all the same.
func childRecorder(ctx context.Context, st store.Store, logs *tasklog.Folder, fileOf func(dagID string) *loader.File, logger *slog.Logger) func(*dags.DAG, operators.RunInfo) (func(localrun.Event), func(*localrun.Result)) {
	return func(d *dags.DAG, info operators.RunInfo) (func(localrun.Event), func(*localrun.Result)) {
		f := fileOf(d.ID)
		if f == nil {
			return nil, nil
		}
		rec, err := localrun.NewRecorder(ctx, st, d, localrun.RecordSource{EntryFile: f.Path, Files: f.Sources}, info)
		if err != nil {
			logger.Warn("the triggered run is not recorded", "dag", d.ID, "run", info.RunID, "err", err)
			return nil, nil
		}
		rec.Logs = logs
		return rec.Event, func(res *localrun.Result) {
			if err := rec.Close(context.WithoutCancel(ctx), res); err != nil {
				logger.Warn("the triggered run was not fully recorded", "dag", d.ID, "run", info.RunID, "err", err)
			}
		}
	}
}

// folderDAGs finds the DAGs trigger_dag names: first among those of f,
// then in the DAG folder (parsed once, on first need), or in f's own
// folder when there is no DAG folder. fileOf returns the file a DAG found
// so far came from.
func folderDAGs(l *loader.Loader, f *loader.File, dagsFolder, path string) (find localrun.DAGFinder, fileOf func(dagID string) *loader.File) {
	var (
		mu    sync.Mutex
		bag   *loader.Bag
		err   error
		files = map[string]*loader.File{}
	)
	fileOf = func(id string) *loader.File {
		mu.Lock()
		defer mu.Unlock()
		return files[id]
	}
	return func(ctx context.Context, id string) (*dags.DAG, operators.FunctionRunner, error) {
		if d := f.DAG(id); d != nil {
			mu.Lock()
			files[id] = f
			mu.Unlock()
			return d, call.New(f), nil
		}
		mu.Lock()
		defer mu.Unlock()
		if bag == nil && err == nil {
			dir := dagsFolder
			if st, serr := os.Stat(dir); serr != nil || !st.IsDir() {
				dir = filepath.Dir(path)
			}
			bag = loader.NewBag(l, loader.DirSource(dir))
			if _, err = bag.Refresh(ctx); err != nil {
				err = fmt.Errorf("read the DAG folder %s: %w", dir, err)
			}
		}
		if err != nil {
			return nil, nil, err
		}
		d, file, ok := bag.DAG(id)
		if !ok {
			return nil, nil, fmt.Errorf("DAG %q: %w", id, localrun.ErrNoDAG)
		}
		files[id] = file
		return d, call.New(file), nil
	}, fileOf
}

// localOptions are the options of an in-process run of f's DAGs (test-dag,
// tasks test): task functions of f, variables and connections from the
// environment (their secrets masked in task logs), and a pool of sql connections the run's tasks share, which
// the returned function closes.
func localOptions(logger *slog.Logger, f *loader.File) (localrun.Options, func()) {
	pools := sqlop.NewPools(0)
	runner := call.New(f)
	runner.SQL = pools
	masker := secrets.NewMasker()
	tasks := newTaskIsolator(logger, 1)
	if tasks != nil {
		runner.Isolator = tasks
	}
	return localrun.Options{
			Runner:      newTryRunner(logger, pools),
			Functions:   runner,
			Variables:   envsecrets.Variables{Masker: masker},
			Connections: envsecrets.Connections{Masker: masker},
			Masker:      masker,
		}, func() {
			pools.Close()
			if tasks != nil {
				_ = tasks.Close()
			}
		}
}

// testDAGFolder is the DAG folder of a test-dag run: --dags (or its
// variable or configuration key) when given, else the default folder when
// the file lies inside it, else the file's own folder, so that a file's
// trigger_dag targets and load("//…") paths are found beside it.
func testDAGFolder(c *cli.Context, path string) string {
	dir := c.String("dags")
	if c.IsSet("dags") {
		return dir
	}
	absDir, err1 := filepath.Abs(dir)
	absPath, err2 := filepath.Abs(path)
	if err1 == nil && err2 == nil {
		if rel, err := filepath.Rel(absDir, absPath); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return dir
		}
	}
	return filepath.Dir(path)
}
