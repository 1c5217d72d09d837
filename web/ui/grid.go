package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

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
}

func (p *gridPage) title() string { return p.DAG.DagID + " · Grid" }

// gridRow is one task across the shown runs.
type gridRow struct {
	TaskID   string
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

// loadGrid reads the DAG, its last runs and their task instances: one
// query for the runs and one per run shown.
func (h *handler) loadGrid(ctx context.Context, r *http.Request) (*gridPage, error) {
	n, err := runCountParam(r)
	if err != nil {
		return nil, err
	}
	dagID := r.PathValue("dag")
	dag, err := h.Store.DAGGet(ctx, dagID)
	if err != nil {
		return nil, err
	}
	runs, err := h.Store.RunList(ctx, &store.RunListParams{DagID: dagID, Limit: n})
	if err != nil {
		return nil, fmt.Errorf("list runs of %s: %w", dagID, err)
	}
	slices.Reverse(runs) // newest on the right
	p := &gridPage{DAG: dag, Runs: runs, NumRuns: n, RunChoices: runChoices(n), TableURL: dagURL(dagID, "grid", "_table") + "?runs=" + strconv.Itoa(n)}
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
		rows = append(rows, &gridRow{TaskID: t.ID, Operator: t.Operator, Depth: depth(t.Group), Mapped: t.IsMapped(), Cells: emptyCells(len(tis))})
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
