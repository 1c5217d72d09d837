package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// Grid sizes: how many runs the grid shows by default and at most.
const (
	DefaultGridRuns = 25
	MaxGridRuns     = 365
)

// gridPage is a DAG's grid: runs as columns (oldest left), tasks as rows
// in topological order.
type gridPage struct {
	DAG     *store.DAG
	Runs    []*store.DagRun
	Rows    []*gridRow
	NumRuns int
	// RunChoices are the run counts the page offers.
	RunChoices []int
	// Live is set while a shown run is queued or running: the grid polls.
	Live bool
	// TableURL is the grid fragment's URL with the same run count.
	TableURL string
	// Notice explains a degraded view (the DAG version could not be
	// loaded, so tasks come unordered from the store).
	Notice string
	// Filter is the run state and run type the runs are narrowed to.
	Filter gridFilter
	// Bars are the run columns' headers (bar heights, dates), one per run.
	Bars []runBar
	// Selected is the run whose details the panel shows (?run_id=);
	// nil when none is chosen.
	Selected *runPanel
	// Flash is the message shown after a trigger (?triggered=run id).
	Flash string
}

// gridFilter narrows the grid's runs as Airflow's grid filters do: by run
// state and by run type; empty means all.
type gridFilter struct {
	State   dags.DagRunState
	RunType dags.RunType
}

// gridRunStates and gridRunTypes are the choices of the grid's filters.
var (
	gridRunStates = []dags.DagRunState{dags.DagRunStateQueued, dags.DagRunStateRunning, dags.DagRunStateSuccess, dags.DagRunStateFailed}
	gridRunTypes  = []dags.RunType{dags.RunTypeManual, dags.RunTypeScheduled, dags.RunTypeBackfill, dags.RunTypeDatasetTriggered}
)

// RunStates are the run states the state filter offers.
func (p *gridPage) RunStates() []dags.DagRunState { return gridRunStates }

// RunTypes are the run types the type filter offers.
func (p *gridPage) RunTypes() []dags.RunType { return gridRunTypes }

// States are the task states the legend explains.
func (p *gridPage) States() []dags.TaskState { return legendStates }

// legendStates are the states of the grid's and graph's legends, in
// Airflow's order.
var legendStates = []dags.TaskState{dags.TaskStateQueued, dags.TaskStateScheduled, dags.TaskStateRunning, dags.TaskStateSuccess,
	dags.TaskStateFailed, dags.TaskStateUpForRetry, dags.TaskStateUpForReschedule, dags.TaskStateUpstreamFailed,
	dags.TaskStateSkipped, dags.TaskStateDeferred, dags.TaskStateRemoved, dags.TaskStateRestarting, dags.TaskStateNone}

// runBar is the header of one run's column: a bar whose height shows the
// run's duration relative to the longest run shown (as Airflow's grid),
// and the run's date under it.
type runBar struct {
	Run *store.DagRun
	// Height is the bar's height in pixels, from minBar to maxBar.
	Height int
	// Duration is the run's duration so far (to now while it runs).
	Duration time.Duration
	// Date is the run's logical date, short ("01-02 15:04"); Day is set
	// on the first column of each day, where the date is printed.
	Date string
	Day  bool
	// URL opens the run's details in the grid.
	URL string
}

// Bar heights in pixels.
const (
	minBar = 6
	maxBar = 60
)

// runDuration is how long a run took, or has taken so far at now; zero
// before it starts.
func runDuration(r *store.DagRun, now time.Time) time.Duration {
	if r.StartDate.IsZero() {
		return 0
	}
	end := r.EndDate
	if end.IsZero() || !r.State.Finished() {
		end = now
	}
	return max(end.Sub(r.StartDate), 0)
}

// runBars sizes the bars of runs: the longest run gets maxBar.
func runBars(runs []*store.DagRun, now time.Time, link func(*store.DagRun) string) []runBar {
	bars := make([]runBar, len(runs))
	var longest time.Duration
	for i, r := range runs {
		bars[i] = runBar{Run: r, Duration: runDuration(r, now), URL: link(r)}
		longest = max(longest, bars[i].Duration)
	}
	prevDay := ""
	for i := range bars {
		b := &bars[i]
		b.Height = minBar
		if longest > 0 {
			b.Height = minBar + int(float64(maxBar-minBar)*float64(b.Duration)/float64(longest))
		}
		when := b.Run.LogicalDate
		if when.IsZero() {
			when = b.Run.CreatedAt
		}
		when = when.UTC()
		b.Date = when.Format("01-02 15:04")
		if day := when.Format("2006-01-02"); day != prevDay {
			b.Day, prevDay = true, day
		}
	}
	return bars
}

func (p *gridPage) title() string { return p.DAG.DagID + " · Grid" }

// gridRow is one task across the shown runs.
type gridRow struct {
	TaskID string
	// Name is the task's task_display_name, shown instead of the id; ""
	// when it has none.
	Name     string
	Operator string
	// Depth is the task's task-group nesting, for indentation.
	Depth int
	// Mapped is set for a mapped task (marked "[ ]" as Airflow does).
	Mapped bool
	Cells  []gridCell
}

// gridCell is one task instance, or the map indexes of an expanded mapped
// task; an empty State means the run has no instance of the task (it was
// added to the DAG later).
type gridCell struct {
	State dags.TaskState
	// Class is the cell's CSS class, computed once here rather than by a
	// template call per cell.
	Class string
	// Count is the number of map indexes of a mapped task (0 otherwise);
	// State is then their aggregate and Title their states.
	Count int
	Title string
}

func (h *handler) grid(w http.ResponseWriter, r *http.Request) {
	p, err := h.loadGrid(r.Context(), r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	if runID := q.Get("run_id"); runID != "" {
		if p.Selected, err = h.loadRunPanel(r.Context(), p.DAG.DagID, runID); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if runID := q.Get("triggered"); runID != "" {
		p.Flash = fmt.Sprintf("Triggered %s with new run %s: it should start any moment now.", p.DAG.DagID, runID)
	}
	h.render(w, r, http.StatusOK, "grid", p)
}

func (h *handler) gridTable(w http.ResponseWriter, r *http.Request) {
	p, err := h.loadGrid(r.Context(), r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.fragment(w, r, "grid", "grid-table", p)
}

// runCountParam reads ?runs=N (default DefaultGridRuns).
func runCountParam(r *http.Request) (int, error) {
	v := r.URL.Query().Get("runs")
	if v == "" {
		return DefaultGridRuns, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxGridRuns {
		return 0, errorf(http.StatusBadRequest, "runs must be a number from 1 to %d, not %q", MaxGridRuns, v)
	}
	return n, nil
}

// gridFilterParam reads ?state= and ?run_type=, each empty for all.
func gridFilterParam(r *http.Request) (gridFilter, error) {
	q := r.URL.Query()
	f := gridFilter{State: dags.DagRunState(q.Get("state")), RunType: dags.RunType(q.Get("run_type"))}
	if f.State != "" && !slices.Contains(gridRunStates, f.State) {
		return f, errorf(http.StatusBadRequest, "state must be one of queued, running, success, failed, not %q", f.State)
	}
	if f.RunType != "" && !slices.Contains(gridRunTypes, f.RunType) {
		return f, errorf(http.StatusBadRequest, "run_type must be one of manual, scheduled, backfill, dataset_triggered, not %q", f.RunType)
	}
	return f, nil
}

// gridQuery is the grid's query string for a run count and filter,
// leaving empty filters out.
func gridQuery(n int, f gridFilter) url.Values {
	q := url.Values{"runs": {strconv.Itoa(n)}}
	if f.State != "" {
		q.Set("state", string(f.State))
	}
	if f.RunType != "" {
		q.Set("run_type", string(f.RunType))
	}
	return q
}

// gridRunURL is the grid with one run's details open, keeping the grid's
// run count and filters q.
func gridRunURL(dagID, runID string, q url.Values) string {
	v := url.Values{}
	for k, vs := range q {
		v[k] = vs
	}
	v.Set("run_id", runID)
	return dagURL(dagID, "grid") + "?" + v.Encode()
}

// loadGrid reads the DAG, its last runs and their task instances: one
// query for the runs and one per run shown.
func (h *handler) loadGrid(ctx context.Context, r *http.Request) (*gridPage, error) {
	n, err := runCountParam(r)
	if err != nil {
		return nil, err
	}
	f, err := gridFilterParam(r)
	if err != nil {
		return nil, err
	}
	dagID := r.PathValue("dag")
	dag, err := h.Store.DAGGet(ctx, dagID)
	if err != nil {
		return nil, err
	}
	lp := &store.RunListParams{DagID: dagID, Limit: n}
	if f.State != "" {
		lp.States = []dags.DagRunState{f.State}
	}
	if f.RunType != "" {
		lp.RunTypes = []dags.RunType{f.RunType}
	}
	runs, err := h.Store.RunList(ctx, lp)
	if err != nil {
		return nil, fmt.Errorf("list runs of %s: %w", dagID, err)
	}
	slices.Reverse(runs) // newest on the right
	q := gridQuery(n, f)
	p := &gridPage{DAG: dag, Runs: runs, NumRuns: n, RunChoices: runChoices(n), Filter: f, TableURL: dagURL(dagID, "grid", "_table") + "?" + q.Encode()}
	p.Bars = runBars(runs, h.Now(), func(run *store.DagRun) string { return gridRunURL(dagID, run.RunID, q) })
	tis := make([][]*store.TaskInstance, len(runs))
	for i, run := range runs {
		if !run.State.Finished() {
			p.Live = true
		}
		if tis[i], err = h.Store.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: dagID, RunID: run.RunID}); err != nil {
			return nil, fmt.Errorf("list task instances of %s/%s: %w", dagID, run.RunID, err)
		}
	}
	var order []*dags.Task
	if d, err := h.DAGs.DAG(ctx, dagID, dag.SourceHash); err == nil {
		order = d.Tasks()
	} else if !errors.Is(err, context.Canceled) {
		h.Logger.Warn("ui: grid without the DAG's version", "dag_id", dagID, "err", err)
		p.Notice = "The DAG's current version could not be loaded, so tasks are listed by id: " + err.Error()
	}
	p.Rows = gridRows(order, tis)
	return p, nil
}

// gridRows lays task instances out as rows: the tasks of order first, in
// that order, then tasks that only older runs have, by id.
func gridRows(order []*dags.Task, tis [][]*store.TaskInstance) []*gridRow {
	index := make(map[string]int, len(order))
	rows := make([]*gridRow, 0, len(order))
	for _, t := range order {
		index[t.ID] = len(rows)
		rows = append(rows, &gridRow{TaskID: t.ID, Name: t.DisplayName, Operator: t.Operator, Depth: depth(t.Group), Mapped: t.IsMapped(), Cells: emptyCells(len(tis))})
	}
	var extra []*gridRow
	rowOf := func(ti *store.TaskInstance) *gridRow {
		i, ok := index[ti.TaskID]
		if !ok {
			i = len(rows)
			index[ti.TaskID] = i
			row := &gridRow{TaskID: ti.TaskID, Operator: ti.Operator, Cells: emptyCells(len(tis))}
			rows = append(rows, row)
			extra = append(extra, row)
		}
		return rows[i]
	}
	for col, list := range tis {
		mapped, plain := mappedByTask(list)
		for _, ti := range list {
			if p, ok := plain[ti.TaskID]; ok && p == ti {
				rowOf(ti).Cells[col] = gridCell{State: ti.State, Class: "c " + stateClass(ti.State)}
			} else if m := mapped[ti.TaskID]; ti.MapIndex >= 0 && m[0] == ti {
				sum := summarize(m)
				row := rowOf(ti)
				row.Mapped = true
				row.Cells[col] = gridCell{State: sum.State, Class: "c mapped " + stateClass(sum.State), Count: sum.Count, Title: sum.Title()}
			}
		}
	}
	if len(extra) > 1 {
		sort.Slice(rows[len(order):], func(a, b int) bool { return rows[len(order)+a].TaskID < rows[len(order)+b].TaskID })
	}
	return rows
}

// emptyCells are the cells of runs without an instance of the task.
func emptyCells(n int) []gridCell {
	cells := make([]gridCell, n)
	for i := range cells {
		cells[i].Class = "c missing"
	}
	return cells
}

func depth(group string) int {
	if group == "" {
		return 0
	}
	return strings.Count(group, ".") + 1
}

// detailsPanel is the panel of one grid cell: the task instance, its run
// and the actions on it. For an expanded mapped task it is either one map
// index (TI set, MapIndex >= 0) or the task's summary (TI nil): Mapped and
// Summary hold every map index either way.
type detailsPanel struct {
	DAG    *store.DAG
	Run    *store.DagRun
	TaskID string
	// MapIndex is the shown task instance's map index; -1 for a task that
	// is not mapped and for a mapped task's summary.
	MapIndex int
	// TI is the shown task instance; nil for a mapped task's summary.
	TI *store.TaskInstance
	// Mapped lists an expanded mapped task's map indexes in order, and
	// Summary aggregates them; both empty for other tasks.
	Mapped  []*store.TaskInstance
	Summary *mappedSummary
	Task    *dags.Task
	// Return is where the action forms send the user back to.
	Return string
}

// mapNavWidth is how many map indexes on each side of the shown one the
// task-instance page links to; a task with more shows "…" for the rest.
const mapNavWidth = 10

// MapNav returns the map indexes the task-instance page links to: those
// within mapNavWidth of the shown one, so that a task with 1,000 map
// indexes does not render 1,000 links; the first and last are always in.
// Gaps are nil entries, drawn as "…".
func (p *detailsPanel) MapNav() []*store.TaskInstance {
	var out []*store.TaskInstance
	last := len(p.Mapped) - 1
	for i, ti := range p.Mapped {
		near := ti.MapIndex >= p.MapIndex-mapNavWidth && ti.MapIndex <= p.MapIndex+mapNavWidth
		if near || i == 0 || i == last {
			out = append(out, ti)
		} else if len(out) > 0 && out[len(out)-1] != nil {
			out = append(out, nil)
		}
	}
	return out
}

// Label names the shown task instance: "task", "task [i]" for one map
// index, "task [n]" (n map indexes) for a mapped task's summary.
func (p *detailsPanel) Label() string {
	switch {
	case p.TI != nil && p.MapIndex >= 0:
		return fmt.Sprintf("%s [%d]", p.TaskID, p.MapIndex)
	case p.TI == nil && p.Summary != nil:
		return fmt.Sprintf("%s [%d]", p.TaskID, p.Summary.Count)
	}
	return p.TaskID
}

// MapURL is the page of map index i of the shown task.
func (p *detailsPanel) MapURL(i int) string { return mapTIURL(p.DAG.DagID, p.Run.RunID, p.TaskID, i) }

func (h *handler) gridDetails(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	dagID := r.PathValue("dag")
	runID, taskID := r.URL.Query().Get("run_id"), r.URL.Query().Get("task_id")
	if runID == "" || taskID == "" {
		h.fail(w, r, errorf(http.StatusBadRequest, "run_id and task_id are required"))
		return
	}
	mapIndex, err := mapIndexParam(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p, err := h.loadDetails(ctx, dagID, runID, taskID, mapIndex)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Return = dagURL(dagID, "grid")
	h.fragment(w, r, "grid", "details", p)
}

// loadDetails reads one task instance of a run with its DAG, run and
// task. Map index -1 of an expanded mapped task is its summary.
func (h *handler) loadDetails(ctx context.Context, dagID, runID, taskID string, mapIndex int) (*detailsPanel, error) {
	dag, err := h.Store.DAGGet(ctx, dagID)
	if err != nil {
		return nil, err
	}
	run, err := h.Store.RunGet(ctx, dagID, runID)
	if err != nil {
		return nil, err
	}
	list, err := h.Store.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: dagID, RunID: runID, TaskID: taskID})
	if err != nil {
		return nil, fmt.Errorf("list task instances of %s in %s/%s: %w", taskID, dagID, runID, err)
	}
	key := store.TaskInstanceKey{DagID: dagID, RunID: runID, TaskID: taskID, MapIndex: mapIndex}
	mapped, plain := mappedByTask(list)
	p := &detailsPanel{DAG: dag, Run: run, TaskID: taskID, MapIndex: mapIndex, Mapped: mapped[taskID]}
	if len(p.Mapped) > 0 {
		p.Summary = summarize(p.Mapped)
	}
	switch {
	case mapIndex == store.NoMapIndex && plain[taskID] != nil:
		p.TI = plain[taskID]
	case mapIndex == store.NoMapIndex && p.Summary != nil:
		// the summary of a mapped task
	case mapIndex == store.NoMapIndex:
		return nil, fmt.Errorf("task instance %s: %w", key, store.ErrNotFound)
	default:
		for _, ti := range p.Mapped {
			if ti.MapIndex == mapIndex {
				p.TI = ti
			}
		}
		if p.TI == nil {
			if p.Summary != nil {
				return nil, fmt.Errorf("task instance %s: %w (the task has map indexes 0 to %d)", key, store.ErrNotFound, p.Mapped[len(p.Mapped)-1].MapIndex)
			}
			return nil, fmt.Errorf("task instance %s: %w (the task has no map indexes in this run)", key, store.ErrNotFound)
		}
	}
	if d, err := h.DAGs.DAG(ctx, dagID, run.SourceHash); err == nil {
		p.Task = d.Task(taskID)
	}
	return p, nil
}

// runChoices are the usual run counts, with n among them.
func runChoices(n int) []int {
	out := []int{DefaultGridRuns, 50, 100, MaxGridRuns}
	if !slices.Contains(out, n) {
		out = append(out, n)
		slices.Sort(out)
	}
	return out
}
