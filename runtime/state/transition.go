package state

import "github.com/starflow-dev/starflow/dags"

// CanTransition reports whether a task instance may move from one state to
// another, following Airflow's state machine:
//
//   - none, up_for_retry, up_for_reschedule → scheduled (dependencies met);
//     deferred → scheduled (its trigger fired or timed out);
//   - none → success (an empty task the scheduler finishes itself);
//   - none, up_for_retry, up_for_reschedule → skipped or upstream_failed
//     (trigger rule);
//   - scheduled → queued; queued, restarting → running;
//   - running → success, failed, skipped, up_for_retry, up_for_reschedule,
//     deferred, restarting (restarting: cleared while running);
//   - queued → failed or up_for_retry (stuck in the queue too long);
//     restarting → up_for_retry (the killed try always counts as retryable);
//   - any state neither running nor finished → skipped (branch or
//     short-circuit skip, run timeout);
//   - any state but running → none (cleared; removed → none when the task
//     reappears in the DAG);
//   - any state → removed (the task vanished from the DAG).
//
// A state never transitions to itself (callers treat a repeat as
// idempotent), and unknown states never transition. Marking a task
// instance success or failed by hand is an administrative override outside
// this table.
func CanTransition(from, to dags.TaskState) bool {
	if !from.Valid() || !to.Valid() || from == to {
		return false
	}
	switch to {
	case dags.TaskStateRemoved:
		return true
	case dags.TaskStateNone:
		return from != dags.TaskStateRunning
	case dags.TaskStateSkipped:
		if from != dags.TaskStateRunning && !from.Finished() {
			return true
		}
	}
	switch from {
	case dags.TaskStateNone:
		return to == dags.TaskStateScheduled || to == dags.TaskStateSuccess ||
			to == dags.TaskStateUpstreamFailed
	case dags.TaskStateUpForRetry, dags.TaskStateUpForReschedule:
		return to == dags.TaskStateScheduled || to == dags.TaskStateUpstreamFailed
	case dags.TaskStateDeferred:
		return to == dags.TaskStateScheduled
	case dags.TaskStateScheduled:
		return to == dags.TaskStateQueued
	case dags.TaskStateQueued:
		return to == dags.TaskStateRunning || to == dags.TaskStateFailed || to == dags.TaskStateUpForRetry
	case dags.TaskStateRestarting:
		return to == dags.TaskStateRunning || to == dags.TaskStateUpForRetry
	case dags.TaskStateRunning:
		switch to {
		case dags.TaskStateSuccess, dags.TaskStateFailed, dags.TaskStateSkipped,
			dags.TaskStateUpForRetry, dags.TaskStateUpForReschedule,
			dags.TaskStateDeferred, dags.TaskStateRestarting:
			return true
		}
	}
	return false
}
