package ui

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

// statePriority orders the states a mapped task's map indexes can be in;
// the task's aggregate state is the first of them that any map index is
// in. It is Airflow's order (state_priority in its grid and graph views):
// a failure shows first, as it is what needs a look, then what is still
// to happen or happening, then the finished states, the quietest last.
// So a task with one failed and two running map indexes is failed, one
// with two success and one running is running.
var statePriority = []dags.TaskState{
	dags.TaskStateFailed,
	dags.TaskStateUpstreamFailed,
	dags.TaskStateUpForRetry,
	dags.TaskStateUpForReschedule,
	dags.TaskStateQueued,
	dags.TaskStateScheduled,
	dags.TaskStateDeferred,
	dags.TaskStateRunning,
	dags.TaskStateRestarting,
	dags.TaskStateNone,
	dags.TaskStateSuccess,
	dags.TaskStateSkipped,
	dags.TaskStateRemoved,
}

// mappedSummary is the task instances of one mapped task in one run, as
// one grid cell or graph node shows them.
type mappedSummary struct {
	// State is the aggregate state (see statePriority).
	State dags.TaskState
	// Count is how many map indexes the task has.
	Count int
	// Counts are the states the map indexes are in, in statePriority
	// order, each with how many are in it.
	Counts []mapStateCount
}

// mapStateCount is how many map indexes are in one state.
type mapStateCount struct {
	State dags.TaskState
	N     int
}

// summarize aggregates the task instances of one mapped task (map indexes
// 0 and up, any order).
func summarize(tis []*store.TaskInstance) *mappedSummary {
	n := map[dags.TaskState]int{}
	for _, ti := range tis {
		s := ti.State
		if s == "" {
			s = dags.TaskStateNone
		}
		n[s]++
	}
	sum := &mappedSummary{Count: len(tis)}
	for _, s := range statePriority {
		if n[s] > 0 {
			sum.Counts = append(sum.Counts, mapStateCount{s, n[s]})
			delete(n, s)
		}
	}
	// States outside the list (none today) come last, by name.
	var rest []dags.TaskState
	for s := range n {
		rest = append(rest, s)
	}
	slices.Sort(rest)
	for _, s := range rest {
		sum.Counts = append(sum.Counts, mapStateCount{s, n[s]})
	}
	if len(sum.Counts) > 0 {
		sum.State = sum.Counts[0].State
	}
	return sum
}

// Title says what the summary holds, e.g. "3 mapped task instances:
// 2 success, 1 failed" (finished states first, as people read them).
func (s *mappedSummary) Title() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d mapped task instance", s.Count)
	if s.Count != 1 {
		b.WriteByte('s')
	}
	parts := make([]string, 0, len(s.Counts))
	for i := len(s.Counts) - 1; i >= 0; i-- {
		parts = append(parts, strconv.Itoa(s.Counts[i].N)+" "+string(s.Counts[i].State))
	}
	if len(parts) > 0 {
		b.WriteString(": ")
		b.WriteString(strings.Join(parts, ", "))
	}
	return b.String()
}

// mappedByTask splits a run's task instances: the map indexes of each
// expanded mapped task, in map-index order, and the others by task id.
func mappedByTask(tis []*store.TaskInstance) (mapped map[string][]*store.TaskInstance, plain map[string]*store.TaskInstance) {
	mapped = map[string][]*store.TaskInstance{}
	plain = map[string]*store.TaskInstance{}
	for _, ti := range tis {
		if ti.MapIndex == store.NoMapIndex {
			plain[ti.TaskID] = ti
		} else {
			mapped[ti.TaskID] = append(mapped[ti.TaskID], ti)
		}
	}
	for id, list := range mapped {
		slices.SortFunc(list, func(a, b *store.TaskInstance) int { return a.MapIndex - b.MapIndex })
		delete(plain, id) // an expanded task has no -1 row; ignore a stray one
	}
	return mapped, plain
}

// mapIndexParam reads ?map_index=N: -1 (the default) names a task that is
// not mapped, or a mapped one not yet expanded; 0 and up a map index.
func mapIndexParam(r *http.Request) (int, error) {
	v := r.URL.Query().Get("map_index")
	if v == "" {
		v = r.PostFormValue("map_index")
	}
	if v == "" {
		return store.NoMapIndex, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < store.NoMapIndex {
		return 0, errorf(http.StatusBadRequest, "map_index must be -1 (a task that is not mapped) or a map index from 0, not %q", v)
	}
	return n, nil
}

// mapIndexQuery is the query string that selects a map index ("" for -1).
func mapIndexQuery(i int) string {
	if i == store.NoMapIndex {
		return ""
	}
	return "?map_index=" + strconv.Itoa(i)
}

// mapTIURL is the page of one task instance (one map index of a mapped
// task when i >= 0).
func mapTIURL(dagID, runID, taskID string, i int) string {
	return tiURL(dagID, runID, taskID) + mapIndexQuery(i)
}
