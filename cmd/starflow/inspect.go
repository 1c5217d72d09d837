package main

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// Airflow's daily inspection commands: dags details|next-execution|state|
// report, tasks list|state.

// dagFromStore returns a DAG the metadata database knows, or an error of
// one line (exit 1) naming the closest DAG id.
func dagFromStore(c *cli.Context, s store.Store, id string) (*store.DAG, error) {
	d, err := s.DAGGet(c.Context, id)
	if errors.Is(err, store.ErrNotFound) {
		var ids []string
		if all, lerr := s.DAGList(c.Context, &store.DAGListParams{}); lerr == nil {
			for _, x := range all {
				ids = append(ids, x.DagID)
			}
		}
		return nil, failedError("no DAG %q in the metadata database%s (a running scheduler or `starflow dags reserialize` records the DAG folder's DAGs)", id, didYouMean(id, ids))
	}
	return d, err
}

func dagsDetailsCommand() *cli.Command {
	return &cli.Command{
		Name:      "details",
		Usage:     "show a DAG's record in the metadata database: file, schedule, paused, next run, tags",
		ArgsUsage: "DAG_ID",
		UsageText: "starflow dags details etl\n   starflow dags details etl -o json",
		Flags:     []cli.Flag{databaseURLFlag(), outputFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("dags details takes one DAG id, got %d arguments", c.NArg())
			}
			return withPrinterStore(c, func(out *printer, s store.Store) error {
				d, err := dagFromStore(c, s, c.Args().First())
				if err != nil {
					return err
				}
				if out.json {
					return out.print(d, nil, nil)
				}
				rows := [][]string{
					{"dag_id", d.DagID}, {"file", d.File}, {"schedule", d.Schedule}, {"description", d.Description},
					{"is_paused", fmt.Sprint(d.IsPaused)}, {"is_active", fmt.Sprint(d.IsActive)},
					{"tags", strings.Join(d.Tags, ",")}, {"max_active_runs", fmt.Sprint(d.MaxActiveRuns)},
					{"max_active_tasks", fmt.Sprint(d.MaxActiveTasks)}, {"next_logical_date", fmtTime(d.Next.LogicalDate)},
					{"next_create_after", fmtTime(d.Next.CreateAfter)}, {"last_parsed_at", fmtTime(d.LastParsedAt)},
					{"source_hash", d.SourceHash},
				}
				return out.print(d, []string{"PROPERTY", "VALUE"}, rows)
			})
		},
	}
}

func dagsNextExecutionCommand() *cli.Command {
	return &cli.Command{
		Name:      "next-execution",
		Usage:     "print the logical date of the DAG's next scheduled run (None when there is none)",
		ArgsUsage: "DAG_ID",
		UsageText: "starflow dags next-execution etl",
		Flags:     []cli.Flag{databaseURLFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("dags next-execution takes one DAG id, got %d arguments", c.NArg())
			}
			return withStore(c, func(s store.Store) error {
				d, err := dagFromStore(c, s, c.Args().First())
				if err != nil {
					return err
				}
				if d.IsPaused {
					fmt.Fprintln(c.App.ErrWriter, "starflow: this DAG is paused: the scheduler creates no run until it is unpaused")
				}
				if d.Next.LogicalDate.IsZero() {
					fmt.Fprintln(c.App.Writer, "None")
					return nil
				}
				fmt.Fprintln(c.App.Writer, fmtTime(d.Next.LogicalDate))
				return nil
			})
		},
	}
}

// findRun returns a DAG's run by run id, or by logical date.
func findRun(c *cli.Context, s store.Store, dagID, runOrDate string) (*store.DagRun, error) {
	if _, err := dagFromStore(c, s, dagID); err != nil {
		return nil, err
	}
	r, err := s.RunGet(c.Context, dagID, runOrDate)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return r, err
	}
	date, derr := dags.ParseDate(runOrDate, time.UTC)
	if derr != nil {
		return nil, failedError("DAG %s has no run %q", dagID, runOrDate)
	}
	// Only the runs at that date (logical dates are stored to the
	// microsecond), not every run of the DAG.
	runs, err := s.RunList(c.Context, &store.RunListParams{DagID: dagID, LogicalDateFrom: date, LogicalDateTo: date.Add(time.Microsecond)})
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		if r.LogicalDate.Equal(date) {
			return r, nil
		}
	}
	return nil, failedError("DAG %s has no run with logical date %s", dagID, fmtTime(date))
}

func dagsStateCommand() *cli.Command {
	return &cli.Command{
		Name:      "state",
		Usage:     "print the state of a DAG run, named by its run id or its logical date",
		ArgsUsage: "DAG_ID RUN_ID|LOGICAL_DATE",
		UsageText: "starflow dags state etl 2024-01-15\n   starflow dags state etl manual__2024-01-15T00:00:00+00:00",
		Flags:     []cli.Flag{databaseURLFlag()},
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usageError("dags state takes a DAG id and a run id or logical date, got %d arguments", c.NArg())
			}
			return withStore(c, func(s store.Store) error {
				r, err := findRun(c, s, c.Args().Get(0), c.Args().Get(1))
				if err != nil {
					return err
				}
				fmt.Fprintln(c.App.Writer, r.State)
				return nil
			})
		},
	}
}

func tasksStateCommand() *cli.Command {
	return &cli.Command{
		Name:      "state",
		Usage:     "print the state of a task instance, its run named by run id or logical date",
		ArgsUsage: "DAG_ID TASK_ID RUN_ID|LOGICAL_DATE",
		UsageText: "starflow tasks state etl extract 2024-01-15\n   starflow tasks state etl load manual__2024-01-15T00:00:00+00:00 --map-index 2",
		Flags:     []cli.Flag{databaseURLFlag(), &cli.IntFlag{Name: "map-index", Value: store.NoMapIndex, Usage: "the map index of a mapped task's instance"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 3 {
				return usageError("tasks state takes a DAG id, a task id and a run id or logical date, got %d arguments", c.NArg())
			}
			return withStore(c, func(s store.Store) error {
				r, err := findRun(c, s, c.Args().Get(0), c.Args().Get(2))
				if err != nil {
					return err
				}
				ti, err := s.TaskInstanceGet(c.Context, store.TaskInstanceKey{DagID: r.DagID, RunID: r.RunID, TaskID: c.Args().Get(1), MapIndex: c.Int("map-index")})
				if errors.Is(err, store.ErrNotFound) {
					return failedError("run %s of %s has no task instance %q (map index %d)", r.RunID, r.DagID, c.Args().Get(1), c.Int("map-index"))
				}
				if err != nil {
					return err
				}
				state := string(ti.State)
				if state == "" {
					state = "None"
				}
				fmt.Fprintln(c.App.Writer, state)
				return nil
			})
		},
	}
}

func tasksListCommand() *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "list a DAG's tasks in dependency order (--tree: as a tree of downstream tasks)",
		ArgsUsage: "DAG_ID|FILE",
		UsageText: "starflow tasks list etl\n   starflow tasks list etl --tree\n   starflow tasks list dags/etl.star -o json",
		Flags:     []cli.Flag{dagsFolderFlag(), outputFlag(), &cli.BoolFlag{Name: "tree", Usage: "draw the tasks as a tree from the roots"}, &cli.StringFlag{Name: "dag", Usage: "the DAG id, when the file defines several"}},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("tasks list takes one DAG id or file, got %d arguments", c.NArg())
			}
			out, err := newPrinter(c)
			if err != nil {
				return err
			}
			path, dagID, err := dagFileArg(c, c.Args().First())
			if err != nil {
				return err
			}
			l := newLoader(newLogger(c))
			defer l.Close()
			f, err := loadDAGFile(c.Context, l, c.String("dags"), path)
			if err != nil {
				return err
			}
			d, err := pickDAG(f, dagID)
			if err != nil {
				return err
			}
			type taskView struct {
				TaskID      string   `json:"task_id"`
				DisplayName string   `json:"task_display_name"`
				Operator    string   `json:"operator"`
				Upstream    []string `json:"upstream"`
				Downstream  []string `json:"downstream"`
			}
			views := []taskView{}
			rows := [][]string{}
			for _, t := range d.Tasks() {
				views = append(views, taskView{t.ID, t.Label(), t.Operator, append([]string{}, t.Upstream...), append([]string{}, t.Downstream...)})
				rows = append(rows, []string{t.ID, t.Operator, strings.Join(t.Upstream, ","), t.Label()})
			}
			if c.Bool("tree") && !out.json {
				for _, t := range d.Tasks() {
					if len(t.Upstream) == 0 {
						printTree(out, d, t.ID, 0, map[string]bool{})
					}
				}
				return nil
			}
			return out.print(views, []string{"TASK_ID", "OPERATOR", "UPSTREAM", "DISPLAY_NAME"}, rows)
		},
	}
}

func printTree(out *printer, d *dags.DAG, id string, depth int, seen map[string]bool) {
	t := d.Task(id)
	mark := ""
	if seen[id] {
		mark = " (above)"
	}
	fmt.Fprintf(out.w, "%s%s <%s>%s\n", strings.Repeat("    ", depth), id, t.Operator, mark)
	if seen[id] {
		return
	}
	seen[id] = true
	for _, down := range t.Downstream {
		printTree(out, d, down, depth+1, seen)
	}
}

func dagsReportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "parse every file of the DAG folder and show how long each took, slowest first",
		UsageText: "starflow dags report\n   starflow dags report -o json",
		Flags:     []cli.Flag{dagsFolderFlag(), outputFlag()},
		Action: func(c *cli.Context) error {
			out, err := newPrinter(c)
			if err != nil {
				return err
			}
			dir := c.String("dags")
			var files []string
			err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !e.IsDir() && filepath.Ext(p) == ".star" {
					files = append(files, p)
				}
				return nil
			})
			if err != nil {
				return usageError("DAG folder %s: %v (set --dags or STARFLOW_DAGS_FOLDER)", dir, err)
			}
			type fileReport struct {
				File     string   `json:"file"`
				Duration float64  `json:"duration_seconds"`
				DagNum   int      `json:"dag_num"`
				TaskNum  int      `json:"task_num"`
				DAGs     []string `json:"dags"`
				Errors   int      `json:"errors"`
			}
			l := newLoader(newLogger(c))
			defer l.Close()
			reports := []fileReport{}
			for _, p := range files {
				start := time.Now()
				f := l.LoadPath(c.Context, dir, p)
				r := fileReport{File: p, Duration: time.Since(start).Seconds(), DagNum: len(f.DAGs), Errors: len(f.Errors), DAGs: []string{}}
				for _, d := range f.DAGs {
					r.TaskNum += d.Len()
					r.DAGs = append(r.DAGs, d.ID)
				}
				if len(f.DAGs) == 0 && len(f.Errors) == 0 {
					continue // a module others load()
				}
				reports = append(reports, r)
			}
			sort.SliceStable(reports, func(i, j int) bool { return reports[i].Duration > reports[j].Duration })
			rows := make([][]string, len(reports))
			for i, r := range reports {
				rows[i] = []string{r.File, roundDuration(time.Duration(r.Duration * float64(time.Second))).String(), fmt.Sprint(r.DagNum), fmt.Sprint(r.TaskNum), strings.Join(r.DAGs, ","), fmt.Sprint(r.Errors)}
			}
			return out.print(reports, []string{"FILE", "DURATION", "DAG_NUM", "TASK_NUM", "DAGS", "ERRORS"}, rows)
		},
	}
}
