package state

import (
	"iter"
	"time"

	"github.com/starflow-dev/starflow/dags"
)

// RunState decides the state of a DAG run from its task instances, as
// Airflow's DagRun.update_state does over the run's leaves (tasks without
// downstream tasks; a removed leaf is ignored). Teardowns without
// on_failure_fail_dagrun do not count as leaves, and a task whose
// downstream tasks are all such teardowns does (dags.DAG.RunStateLeaves):
// a failed teardown does not fail its run, a failed task before it does.
//
//  1. no unfinished task instance and a leaf failed or upstream_failed →
//     failed;
//  2. no unfinished task instance (every leaf success or skipped) → success;
//     so an all_done leaf can make a run succeed although a task before it
//     failed;
//  3. unfinished task instances, but none can make progress: none is
//     scheduled, queued, running, up_for_retry, up_for_reschedule,
//     restarting or deferred, and Evaluate over the whole run changes
//     nothing → failed (deadlock). As in Airflow, a run with an unfinished
//     depends_on_past task is never called deadlocked: it may be waiting
//     on the previous run;
//  4. otherwise running.
//
// A task missing from tis counts as none. In case 4 the caller should record
// what Evaluate decides and ask again.
func RunState(d *dags.DAG, tis map[string]TI, now time.Time) dags.DagRunState {
	unfinished, progressing := false, false
	for _, t := range d.Tasks() {
		for s := range statesOf(tis, t.ID) {
			if s.Finished() {
				continue
			}
			unfinished = true
			if t.DependsOnPast {
				progressing = true
			}
			switch s {
			case dags.TaskStateScheduled, dags.TaskStateQueued, dags.TaskStateRunning,
				dags.TaskStateUpForRetry, dags.TaskStateUpForReschedule,
				dags.TaskStateRestarting, dags.TaskStateDeferred:
				progressing = true
			}
			if progressing {
				return dags.DagRunStateRunning
			}
		}
	}
	if !unfinished {
		for _, leaf := range d.RunStateLeaves() {
			for s := range statesOf(tis, leaf.ID) {
				switch s {
				case dags.TaskStateFailed, dags.TaskStateUpstreamFailed:
					return dags.DagRunStateFailed
				}
			}
		}
		return dags.DagRunStateSuccess
	}
	if len(Evaluate(d, tis, now, nil)) > 0 {
		return dags.DagRunStateRunning
	}
	return dags.DagRunStateFailed
}

// statesOf returns the states of task id's task instances: one for an
// unmapped task (none when missing), one per map index for an expanded
// mapped task.
func statesOf(tis map[string]TI, id string) iter.Seq[dags.TaskState] {
	return func(yield func(dags.TaskState) bool) {
		ti := tis[id]
		if ti.Mapped == nil {
			yield(stateOf(tis, id))
			return
		}
		for _, m := range ti.Mapped {
			s := m.State
			if s == "" {
				s = dags.TaskStateNone
			}
			if !yield(s) {
				return
			}
		}
	}
}
