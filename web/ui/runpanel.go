package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/scheduler"
	"github.com/starflow-dev/starflow/runtime/store"
)

// runPanel is the grid's panel of one DAG run, opened by clicking the
// run's bar: its dates, data interval, duration, conf and task states, a
// link to its graph, and the actions on the whole run (clear, mark).
type runPanel struct {
	DAG *store.DAG
	Run *store.DagRun
	// Duration is how long the run took, or has taken so far.
	Duration string
	// Conf is the run's conf as indented JSON; empty for {}.
	Conf string
	// Counts are the run's task instances by state, in legend order.
	Counts []taskStateCount
	// GraphURL opens the graph of this run.
	GraphURL string
	// Return is where the action forms send the user back to.
	Return string
}

// taskStateCount is how many task instances of a run are in one state.
type taskStateCount struct {
	State dags.TaskState
	N     int
}

func (h *handler) gridRun(w http.ResponseWriter, r *http.Request) {
	runID := r.URL.Query().Get("run_id")
	if runID == "" {
		h.fail(w, r, errorf(http.StatusBadRequest, "run_id is required"))
		return
	}
	p, err := h.loadRunPanel(r.Context(), r.PathValue("dag"), runID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.fragment(w, r, "grid", "run-details-fragment", p)
}

// loadRunPanel reads one run and its task instances' states.
func (h *handler) loadRunPanel(ctx context.Context, dagID, runID string) (*runPanel, error) {
	dag, err := h.Store.DAGGet(ctx, dagID)
	if err != nil {
		return nil, err
	}
	run, err := h.Store.RunGet(ctx, dagID, runID)
	if err != nil {
		return nil, err
	}
	tis, err := h.Store.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: dagID, RunID: runID})
	if err != nil {
		return nil, fmt.Errorf("list task instances of %s/%s: %w", dagID, runID, err)
	}
	p := &runPanel{DAG: dag, Run: run, Duration: fmtDur(runDuration(run, h.Now())),
		GraphURL: runGraphURL(dagID, runID), Return: gridRunURL(dagID, runID, url.Values{})}
	if len(run.Conf) > 0 {
		p.Conf = prettyJSON(run.Conf)
	}
	n := map[dags.TaskState]int{}
	for _, ti := range tis {
		s := ti.State
		if s == "" {
			s = dags.TaskStateNone
		}
		n[s]++
	}
	for _, s := range legendStates {
		if n[s] > 0 {
			p.Counts = append(p.Counts, taskStateCount{State: s, N: n[s]})
		}
	}
	return p, nil
}

// runGraphURL is the graph of one run.
func runGraphURL(dagID, runID string) string {
	return dagURL(dagID, "graph") + "?" + url.Values{"run_id": {runID}}.Encode()
}

// runClear clears every task instance of a run (form field only_failed
// keeps the failed and upstream_failed ones), as Airflow's "Clear" on a
// DAG run does; the run goes back to queued.
func (h *handler) runClear(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, permClear) || !h.canAct(w, r) {
		return
	}
	dagID, runID := r.PathValue("dag"), r.PathValue("run")
	onlyFailed, err := formBool(r, "only_failed")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	keys, err := h.Scheduler.Clear(r.Context(), scheduler.ClearParams{DAGID: dagID, RunID: runID, OnlyFailed: onlyFailed})
	if err != nil {
		h.fail(w, r, fmt.Errorf("clear run %s/%s: %w", dagID, runID, err))
		return
	}
	h.Logger.Info("ui: cleared a run", "dag_id", dagID, "run_id", runID, "only_failed", onlyFailed, "cleared", len(keys), "user", userName(r))
	h.done(w, r, dagURL(dagID, "grid"))
}

// runMark marks a whole run success or failed (form field state), as
// Airflow's "Mark run as success/failed": for success every task
// instance not already successful is marked success; for failed every
// unfinished one is marked failed (Airflow skips the unfinished ones that
// are not running; here they fail too). The run takes the state at once.
func (h *handler) runMark(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, permMark) || !h.canAct(w, r) {
		return
	}
	ctx := r.Context()
	dagID, runID := r.PathValue("dag"), r.PathValue("run")
	state := dags.TaskState(r.FormValue("state"))
	if state != dags.TaskStateSuccess && state != dags.TaskStateFailed {
		h.fail(w, r, errorf(http.StatusBadRequest, "state must be success or failed, not %q", state))
		return
	}
	tis, err := h.Store.TaskInstanceList(ctx, &store.TaskInstanceListParams{DagID: dagID, RunID: runID})
	if err != nil {
		h.fail(w, r, fmt.Errorf("list task instances of %s/%s: %w", dagID, runID, err))
		return
	}
	var tasks []string
	for _, ti := range tis {
		pick := ti.State != dags.TaskStateSuccess
		if state == dags.TaskStateFailed {
			pick = !ti.State.Finished()
		}
		if pick && !slices.Contains(tasks, ti.TaskID) {
			tasks = append(tasks, ti.TaskID)
		}
	}
	marked := 0
	for _, task := range tasks {
		keys, err := h.Scheduler.MarkState(ctx, scheduler.MarkParams{DAGID: dagID, RunID: runID, TaskID: task, State: state})
		if err != nil {
			h.fail(w, r, fmt.Errorf("mark run %s/%s %s: %w", dagID, runID, state, err))
			return
		}
		marked += len(keys)
	}
	// As Airflow, the run takes the marked state at once (failed even when
	// its tasks all succeeded).
	to := dags.DagRunState(state)
	from := []dags.DagRunState{dags.DagRunStateQueued, dags.DagRunStateRunning, dags.DagRunStateSuccess, dags.DagRunStateFailed}
	_, err = h.Store.RunSetState(ctx, &store.RunSetStateParams{DagID: dagID, RunID: runID, To: to,
		From: slices.DeleteFunc(from, func(s dags.DagRunState) bool { return s == to }), EndDate: h.Now()})
	if err != nil && !errors.Is(err, store.ErrStale) {
		h.fail(w, r, fmt.Errorf("mark run %s/%s %s: %w", dagID, runID, state, err))
		return
	}
	h.Logger.Info("ui: marked a run", "dag_id", dagID, "run_id", runID, "state", state, "marked", marked, "user", userName(r))
	h.done(w, r, dagURL(dagID, "grid"))
}
