package state

import (
	"slices"
	"time"

	"github.com/starflow-dev/starflow/dags"
)

// TI is what the evaluator needs to know of one task instance of a run.
type TI struct {
	// State is the task instance's state; "" counts as none.
	State dags.TaskState
	// TryNumber is the number of tries made so far. The evaluator does not
	// use it: the caller increments it when it records a move to scheduled
	// from none or up_for_retry (not from up_for_reschedule), as Airflow does.
	TryNumber int
	// NextRetryAt is when an up_for_retry (or up_for_reschedule) task
	// instance may be scheduled again; zero means at once.
	NextRetryAt time.Time
	// Mapped holds the task instances of an expanded mapped task, by map
	// index; State is then not used. It is nil for an unmapped task and
	// for a mapped task not expanded yet (its one task instance, map index
	// -1, is described by State).
	Mapped []TI
}

// Expanded reports whether ti stands for the task instances of an expanded
// mapped task.
func (ti TI) Expanded() bool { return ti.Mapped != nil }

// Change is one state change decided by the evaluator, for the caller to
// record (with a compare-and-set on From in a shared store).
type Change struct {
	TaskID string
	// MapIndex is the changed task instance's map index: -1 for an
	// unmapped task or a mapped one not expanded yet. A mapped task not
	// expanded yet that the rule lets run is returned as a change to
	// scheduled with map index -1: the caller expands it instead.
	MapIndex int
	From, To dags.TaskState
}

// stateOf returns the state of task id in tis; a missing task instance or
// an empty state counts as none.
func stateOf(tis map[string]TI, id string) dags.TaskState {
	if s := tis[id].State; s != "" {
		return s
	}
	return dags.TaskStateNone
}

// Evaluate is one mini-scheduling step over one DAG run. It visits the
// candidate tasks (nil means every task of d; an empty non-nil slice, none)
// in topological order and decides, from the states of their direct
// upstream task instances, with EvaluateTriggerRule:
//
//   - none → scheduled (the rule says run), skipped or upstream_failed;
//   - up_for_retry and up_for_reschedule → scheduled once NextRetryAt <= now
//     and the rule says run (or skipped/upstream_failed if the rule says so).
//
// Decisions cascade within the call: a task set skipped, upstream_failed or
// removed makes its direct downstream tasks candidates too, visited later in
// the same call, so one call reaches a fixed point. Evaluate does not mutate
// tis; it returns the changes in topological order. A task missing from tis
// counts as none; unknown candidate ids are ignored.
//
// With candidates, the cost grows with the candidates and the tasks the
// cascade reaches (and their direct upstream), not with the size of d: after
// a task finishes, pass its direct downstream tasks (a leaf's Downstream is
// nil, which would mean every task: skip the call), and after ApplySkip
// those of the tasks it skipped.
func Evaluate(d *dags.DAG, tis map[string]TI, now time.Time, candidates []string) []Change {
	e := evaluator{dag: d, tis: tis, now: now}
	if candidates == nil {
		for _, t := range d.Tasks() {
			e.visit(t)
		}
		return e.changes
	}
	var buf [16]int
	h := indexHeap(buf[:0])
	for _, id := range candidates {
		if i := d.TaskIndex(id); i >= 0 {
			h = h.push(i)
		}
	}
	tasks := d.Tasks()
	last := -1
	for len(h) > 0 {
		var i int
		i, h = h.pop()
		if i == last {
			continue // pushed twice; indexes pop in order, so duplicates are adjacent
		}
		last = i
		t := tasks[i]
		if e.visit(t) {
			for _, down := range t.Downstream {
				if j := d.TaskIndex(down); j >= 0 {
					h = h.push(j)
				}
			}
		}
	}
	return e.changes
}

// evaluator holds the state of one Evaluate call.
type evaluator struct {
	dag     *dags.DAG
	tis     map[string]TI
	now     time.Time
	changes []Change
	// finished holds the task instances this call moved to a finished
	// state. Moves to scheduled need no entry: none and scheduled count
	// the same for the downstream trigger rules, and every task is visited
	// at most once.
	finished map[string]dags.TaskState
	// finishedIdx holds, per expanded mapped task, the map indexes this
	// call moved to a finished state.
	finishedIdx map[string]map[int]dags.TaskState
}

// mappedState returns the current state of map index i of the expanded
// mapped task id, with this call's changes.
func (e *evaluator) mappedState(id string, i int) dags.TaskState {
	if s, ok := e.finishedIdx[id][i]; ok {
		return s
	}
	if s := e.tis[id].Mapped[i].State; s != "" {
		return s
	}
	return dags.TaskStateNone
}

// countUpstream counts the states of the direct upstream task instances of
// t's task instance with map index i (-1 for one not expanded); every task
// instance of an expanded mapped task counts, as in Airflow, except the
// map indexes removed when the task expanded again to a shorter length:
// they are no longer part of it.
//
// In a mapped task group, an upstream task of the same group counts only
// with its task instance of the same map index (Airflow's
// get_relevant_upstream_map_indexes). Before t is expanded, such an
// upstream that is expanded does not count: the group's length is known,
// so t may expand, and each of its map indexes then waits for its own.
func (e *evaluator) countUpstream(t *dags.Task, i int) UpstreamCounts {
	if t.MapGroup == nil {
		return e.count(t.Upstream)
	}
	var c UpstreamCounts
	for _, u := range t.Upstream {
		ut := e.dag.Task(u)
		if m := e.tis[u].Mapped; m != nil && dags.SameMapGroup(t, ut) {
			if i < 0 || i >= len(m) {
				continue
			}
			add := c.add
			if ut.IsSetup {
				add = c.addSetup
			}
			if s := e.mappedState(u, i); s != dags.TaskStateRemoved {
				add(s)
			}
			continue
		}
		e.countOne(&c, u)
	}
	return c
}

// count counts the states of the task instances of the tasks ids, noting
// which are setups.
func (e *evaluator) count(ids []string) UpstreamCounts {
	var c UpstreamCounts
	for _, u := range ids {
		e.countOne(&c, u)
	}
	return c
}

// countOne adds the states of the task instances of task u to c.
func (e *evaluator) countOne(c *UpstreamCounts, u string) {
	add := c.add
	if ut := e.dag.Task(u); ut != nil && ut.IsSetup {
		add = c.addSetup
	}
	if m := e.tis[u].Mapped; m != nil {
		for i := range m {
			if s := e.mappedState(u, i); s != dags.TaskStateRemoved {
				add(s)
			}
		}
		return
	}
	add(e.state(u))
}

// setupConstraint applies Airflow's implicit all_success constraint of a
// non-teardown task on its indirect setups (dags.DAG.IndirectSetups): a
// failed or upstream_failed one makes it upstream_failed, a skipped one
// skipped, at once; it may run only once all of them succeeded. ok is
// false when there is no constraint or it passes.
func (e *evaluator) setupConstraint(t *dags.Task) (d Decision, ok bool) {
	if t.IsTeardown {
		return "", false
	}
	setups := e.dag.IndirectSetups(t.ID)
	if len(setups) == 0 {
		return "", false
	}
	c := e.count(setups)
	switch {
	case c.Failed > 0 || c.UpstreamFailed > 0:
		return DecisionUpstreamFailed, true
	case c.Skipped > 0:
		return DecisionSkip, true
	case c.Total-c.Success > 0:
		return DecisionWait, true
	}
	return "", false
}

// state returns the current state of task id, with this call's changes.
func (e *evaluator) state(id string) dags.TaskState {
	if s, ok := e.finished[id]; ok {
		return s
	}
	return stateOf(e.tis, id)
}

// visit decides task t and records changes; it reports whether a task
// instance of t moved to a finished state, which may decide its downstream
// tasks too.
func (e *evaluator) visit(t *dags.Task) bool {
	if ti := e.tis[t.ID]; ti.Expanded() {
		return e.visitMapped(t, ti)
	}
	from := e.state(t.ID)
	to, ok := e.decide(t, -1, from, e.tis[t.ID].NextRetryAt, nil)
	if !ok {
		return false
	}
	e.changes = append(e.changes, Change{TaskID: t.ID, MapIndex: -1, From: from, To: to})
	if !to.Finished() {
		return false
	}
	if e.finished == nil {
		e.finished = make(map[string]dags.TaskState)
	}
	e.finished[t.ID] = to
	return true
}

// visitMapped decides each task instance of an expanded mapped task.
func (e *evaluator) visitMapped(t *dags.Task, ti TI) bool {
	var counts *UpstreamCounts
	cache := &counts
	if t.MapGroup != nil {
		cache = nil // each map index has its own upstream task instances
	}
	finished := false
	for i, m := range ti.Mapped {
		from := e.mappedState(t.ID, i)
		to, ok := e.decide(t, i, from, m.NextRetryAt, cache)
		if !ok {
			continue
		}
		e.changes = append(e.changes, Change{TaskID: t.ID, MapIndex: i, From: from, To: to})
		if to.Finished() {
			if e.finishedIdx == nil {
				e.finishedIdx = make(map[string]map[int]dags.TaskState)
			}
			if e.finishedIdx[t.ID] == nil {
				e.finishedIdx[t.ID] = make(map[int]dags.TaskState)
			}
			e.finishedIdx[t.ID][i] = to
			finished = true
		}
	}
	return finished
}

// decide applies t's trigger rule to its task instance with map index i
// (-1 when not expanded) in state from. The upstream counts are computed
// once per task and kept in *counts when counts is not nil.
func (e *evaluator) decide(t *dags.Task, i int, from dags.TaskState, nextRetryAt time.Time, counts **UpstreamCounts) (dags.TaskState, bool) {
	retrying := from == dags.TaskStateUpForRetry || from == dags.TaskStateUpForReschedule
	if from != dags.TaskStateNone && !retrying {
		return "", false
	}
	var c UpstreamCounts
	switch {
	case counts == nil:
		c = e.countUpstream(t, i)
	case *counts == nil:
		c = e.countUpstream(t, i)
		*counts = &c
	default:
		c = **counts
	}
	decision, constrained := e.setupConstraint(t)
	if !constrained || decision == DecisionWait {
		// While it waits for its setups, the task's own rule may still
		// mark it skipped or upstream_failed, as in Airflow.
		d := EvaluateTriggerRule(t.TriggerRule, c)
		if !constrained || d != DecisionRun {
			decision = d
		}
	}
	switch decision {
	case DecisionRun:
		if retrying && e.now.Before(nextRetryAt) {
			return "", false
		}
		return dags.TaskStateScheduled, true
	case DecisionSkip:
		return dags.TaskStateSkipped, true
	case DecisionUpstreamFailed:
		return dags.TaskStateUpstreamFailed, true
	case DecisionRemoved:
		return dags.TaskStateRemoved, true
	}
	return "", false
}

// indexHeap is a min-heap of task indexes (positions in the topological
// order), so tasks pop in dependency order. Its methods return the updated
// heap rather than taking a pointer, so a small heap can live on the stack.
type indexHeap []int

func (h indexHeap) push(i int) indexHeap {
	h = append(h, i)
	for j := len(h) - 1; j > 0; {
		p := (j - 1) / 2
		if h[p] <= h[j] {
			break
		}
		h[p], h[j] = h[j], h[p]
		j = p
	}
	return h
}

func (h indexHeap) pop() (int, indexHeap) {
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for j := 0; ; {
		l, r, m := 2*j+1, 2*j+2, j
		if l < n && h[l] < h[m] {
			m = l
		}
		if r < n && h[r] < h[m] {
			m = r
		}
		if m == j {
			break
		}
		h[m], h[j] = h[j], h[m]
		j = m
	}
	return top, h
}

// ApplySkip returns the changes that mark the given tasks skipped, as a
// branch or short-circuit decision does: only task instances neither running
// nor finished change (Airflow leaves running, success and failed ones
// alone). The changes come in topological order, once per task; unknown ids
// are ignored. ApplySkip does not cascade: follow it with Evaluate over the
// skipped tasks' direct downstream tasks.
func ApplySkip(d *dags.DAG, tis map[string]TI, skip []string) []Change {
	idx := make([]int, 0, len(skip))
	for _, id := range skip {
		if i := d.TaskIndex(id); i >= 0 {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	tasks := d.Tasks()
	var out []Change
	skip1 := func(id string, mapIndex int, from dags.TaskState) {
		if from == "" {
			from = dags.TaskStateNone
		}
		if from == dags.TaskStateRunning || from.Finished() {
			return
		}
		out = append(out, Change{TaskID: id, MapIndex: mapIndex, From: from, To: dags.TaskStateSkipped})
	}
	for _, i := range idx {
		id := tasks[i].ID
		if m := tis[id].Mapped; m != nil {
			for j, ti := range m {
				skip1(id, j, ti.State)
			}
			continue
		}
		skip1(id, -1, stateOf(tis, id))
	}
	return out
}
