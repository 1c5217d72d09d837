package dags

import (
	"fmt"
	"sort"
)

// This file holds what setup and teardown tasks mean for the graph, as in
// Airflow (task-sdk's abstractoperator.py and DAG.partial_subset,
// DagRun._tis_for_dagrun_state): which setups a task needs, which tasks
// decide a run's state, and what clearing a task also clears.

// setupInfo is what Finalize derives from the setup and teardown tasks of a
// DAG that has any.
type setupInfo struct {
	// indirect holds, per non-teardown task, its relevant upstream setups
	// that are not direct upstream tasks, in topological order.
	indirect map[string][]string
	// leaves are the tasks that decide a run's state.
	leaves []*Task
}

// HasSetupTeardown reports whether any task of d is a setup or a teardown.
func (d *DAG) HasSetupTeardown() bool {
	for _, t := range d.order {
		if t.IsSetup || t.IsTeardown {
			return true
		}
	}
	return false
}

// computeSetup derives the setup information; nil when d has no setup or
// teardown task.
func (d *DAG) computeSetup() *setupInfo {
	if !d.HasSetupTeardown() {
		return nil
	}
	info := &setupInfo{indirect: map[string][]string{}, leaves: d.runStateLeaves()}
	for _, t := range d.order {
		if t.IsTeardown {
			continue // a teardown has no indirect setups
		}
		var ids []string
		for _, s := range d.relevantSetups(t) {
			if !containsString(t.Upstream, s) {
				ids = append(ids, s)
			}
		}
		if len(ids) > 0 {
			info.indirect[t.ID] = ids
		}
	}
	return info
}

// setupInfo returns the derived information: Finalize's when it ran, else
// computed now.
func (d *DAG) setupInfo() *setupInfo {
	if d.finalized && d.sorted {
		return d.setup
	}
	return d.computeSetup()
}

// IndirectSetups returns the setups task id needs although they are not its
// direct upstream tasks, as Airflow's get_upstreams_only_setups minus the
// direct ones: every upstream setup (at any depth) that has no teardown, or
// one of whose teardowns is downstream of the task. As in Airflow, a task
// waits until all of them succeeded and is marked upstream_failed or
// skipped as soon as one failed or was skipped. A teardown has none.
func (d *DAG) IndirectSetups(id string) []string {
	info := d.setupInfo()
	if info == nil {
		return nil
	}
	return info.indirect[id]
}

// relevantSetups returns t's relevant upstream setups, direct ones
// included, in topological order.
func (d *DAG) relevantSetups(t *Task) []string {
	downTeardowns := map[string]bool{}
	for _, id := range d.Descendants(t.ID) {
		if d.tasks[id].IsTeardown {
			downTeardowns[id] = true
		}
	}
	var out []string
	for _, id := range d.Ancestors(t.ID) {
		s := d.tasks[id]
		if !s.IsSetup {
			continue
		}
		hasTeardown, teardownBelow := false, false
		for _, down := range s.Downstream {
			if d.tasks[down].IsTeardown {
				hasTeardown = true
				if downTeardowns[down] {
					teardownBelow = true
				}
			}
		}
		if !hasTeardown || teardownBelow {
			out = append(out, id)
		}
	}
	return out
}

// setupsAndTeardowns returns t's relevant upstream setups and, for each,
// its teardowns other than t (Airflow's
// get_upstreams_only_setups_and_teardowns): what clearing t also clears.
func (d *DAG) setupsAndTeardowns(t *Task) []string {
	var out []string
	for _, s := range d.relevantSetups(t) {
		out = append(out, s)
		for _, down := range d.tasks[s].Downstream {
			if d.tasks[down].IsTeardown && down != t.ID {
				out = append(out, down)
			}
		}
	}
	return out
}

// RunStateLeaves returns the tasks whose states decide a run's final state,
// as Airflow's DagRun._tis_for_dagrun_state: a teardown does not count
// unless it has OnFailureFailDagrun, and a task whose downstream tasks are
// all such teardowns counts as a leaf. Without setups and teardowns these
// are the Leaves; a DAG of teardowns alone falls back to them too.
func (d *DAG) RunStateLeaves() []*Task {
	if info := d.setupInfo(); info != nil {
		return info.leaves
	}
	return d.Leaves()
}

// runStateLeaves computes RunStateLeaves.
func (d *DAG) runStateLeaves() []*Task {
	ignorable := func(t *Task) bool { return t.IsTeardown && !t.OnFailureFailDagrun }
	var out []*Task
	for _, t := range d.order {
		if ignorable(t) {
			continue
		}
		leaf := true
		for _, down := range t.Downstream {
			if !ignorable(d.tasks[down]) {
				leaf = false
				break
			}
		}
		if leaf {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return d.Leaves()
	}
	return out
}

// ClearSelection returns the ids of the tasks to clear when the tasks ids
// are cleared, with their downstream and/or upstream tasks, as Airflow's
// DAG.partial_subset selects them: clearing a task also clears the setups
// it needs and their teardowns; with upstream, each upstream setup brings
// its teardowns; a setup cleared without its downstream brings its
// teardowns. Unknown ids are ignored. The result is in the order of Tasks.
func (d *DAG) ClearSelection(ids []string, downstream, upstream bool) []string {
	selected := map[string]bool{}
	matched := map[string]bool{}
	for _, id := range ids {
		if d.tasks[id] != nil {
			matched[id] = true
			selected[id] = true
		}
	}
	if d.setupInfo() == nil {
		var extra []string
		if downstream {
			extra = append(extra, d.Descendants(ids...)...)
		}
		if upstream {
			extra = append(extra, d.Ancestors(ids...)...)
		}
		for _, id := range extra {
			selected[id] = true
		}
		return d.sortedIDs(selected)
	}
	for id := range matched {
		t := d.tasks[id]
		if downstream {
			for _, rel := range d.Descendants(id) {
				selected[rel] = true
				r := d.tasks[rel]
				if !matched[rel] && !r.IsSetup && !r.IsTeardown {
					for _, x := range d.setupsAndTeardowns(r) {
						selected[x] = true
					}
				}
			}
		}
		if upstream {
			for _, up := range d.Ancestors(id) {
				selected[up] = true
				if u := d.tasks[up]; u.IsSetup {
					for _, down := range u.Downstream {
						if d.tasks[down].IsTeardown && down != id {
							selected[down] = true
						}
					}
				}
			}
		} else if !t.IsSetup && !t.IsTeardown {
			for _, x := range d.setupsAndTeardowns(t) {
				selected[x] = true
			}
		}
		if t.IsSetup && !downstream {
			for _, down := range t.Downstream {
				if d.tasks[down].IsTeardown {
					selected[down] = true
				}
			}
		}
	}
	return d.sortedIDs(selected)
}

// sortedIDs returns the ids of set in the order of Tasks.
func (d *DAG) sortedIDs(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return d.index[out[i]] < d.index[out[j]] })
	return out
}

// checkSetupTeardown returns the findings of Airflow's setup and teardown
// rules: a task is not both; only a teardown has OnFailureFailDagrun; a
// non-teardown task directly downstream of a setup has the rule
// all_success ("Setup tasks must be followed with trigger rule
// ALL_SUCCESS").
func (d *DAG) checkSetupTeardown() []Finding {
	var out []Finding
	add := func(t *Task, format string, args ...any) {
		out = append(out, Finding{Pos: t.Pos, Rule: RuleSetupTeardown, Message: fmt.Sprintf("task %q: ", t.ID) + fmt.Sprintf(format, args...)})
	}
	for _, t := range d.order {
		switch {
		case t.IsSetup && t.IsTeardown:
			add(t, "a task cannot be both a setup and a teardown")
		case t.OnFailureFailDagrun && !t.IsTeardown:
			add(t, "on_failure_fail_dagrun is only for teardown tasks (as_teardown(on_failure_fail_dagrun = True))")
		}
		if !t.IsSetup {
			continue
		}
		for _, id := range t.Downstream {
			down := d.tasks[id]
			if !down.IsTeardown && down.TriggerRule != TriggerAllSuccess {
				add(down, "setup tasks must be followed with trigger rule all_success: it follows setup %q and has %s", t.ID, down.TriggerRule)
			}
		}
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
