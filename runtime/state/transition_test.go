package state

import (
	"testing"

	"github.com/starflow-dev/starflow/dags"
)

func TestCanTransition(t *testing.T) {
	t.Parallel()
	const (
		none        = dags.TaskStateNone
		scheduled   = dags.TaskStateScheduled
		queued      = dags.TaskStateQueued
		running     = dags.TaskStateRunning
		success     = dags.TaskStateSuccess
		failed      = dags.TaskStateFailed
		skipped     = dags.TaskStateSkipped
		upFailed    = dags.TaskStateUpstreamFailed
		retry       = dags.TaskStateUpForRetry
		reschedule  = dags.TaskStateUpForReschedule
		removed     = dags.TaskStateRemoved
		restarting  = dags.TaskStateRestarting
		deferred    = dags.TaskStateDeferred
		legal, nope = true, false
	)
	for _, tc := range []struct {
		from, to dags.TaskState
		want     bool
	}{
		// the scheduler
		{none, scheduled, legal}, {retry, scheduled, legal}, {reschedule, scheduled, legal},
		{none, success, legal}, // empty tasks never reach a worker
		{none, skipped, legal}, {none, upFailed, legal},
		{retry, upFailed, legal}, {reschedule, skipped, legal},
		{scheduled, queued, legal}, {deferred, scheduled, legal},
		{none, queued, nope}, {none, running, nope}, {none, failed, nope},
		{scheduled, running, nope}, {scheduled, upFailed, nope}, {scheduled, success, nope},
		{retry, running, nope}, {retry, queued, nope},
		// the worker
		{queued, running, legal}, {restarting, running, legal},
		{running, success, legal}, {running, failed, legal}, {running, skipped, legal},
		{running, retry, legal}, {running, reschedule, legal}, {running, deferred, legal},
		{running, upFailed, nope}, {running, scheduled, nope}, {running, queued, nope},
		{queued, success, nope}, {deferred, running, nope}, {deferred, success, nope},
		// stuck in the queue, cleared while running
		{queued, failed, legal}, {queued, retry, legal},
		{running, restarting, legal}, {restarting, retry, legal},
		{restarting, success, nope}, {queued, restarting, nope},
		// branch and short-circuit skips, run timeout
		{scheduled, skipped, legal}, {queued, skipped, legal}, {retry, skipped, legal},
		{deferred, skipped, legal}, {restarting, skipped, legal},
		{success, skipped, nope}, {failed, skipped, nope}, {upFailed, skipped, nope}, {removed, skipped, nope},
		// clearing
		{success, none, legal}, {failed, none, legal}, {skipped, none, legal}, {upFailed, none, legal},
		{queued, none, legal}, {scheduled, none, legal}, {retry, none, legal}, {deferred, none, legal},
		{restarting, none, legal}, {removed, none, legal},
		{running, none, nope},
		// the task left the DAG
		{running, removed, legal}, {success, removed, legal}, {none, removed, legal},
		// finished is final, except for clearing and removal
		{success, failed, nope}, {failed, success, nope}, {skipped, scheduled, nope},
		{upFailed, scheduled, nope}, {failed, retry, nope}, {removed, scheduled, nope},
		// no self-transitions, no unknown states
		{running, running, nope}, {none, none, nope}, {success, success, nope},
		{"", scheduled, nope}, {none, "", nope}, {"paused", none, nope}, {none, "done", nope},
	} {
		if got := CanTransition(tc.from, tc.to); got != tc.want {
			t.Errorf("CanTransition(%q, %q): got %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
}

func TestCanTransitionCoversEvaluatorChanges(t *testing.T) {
	t.Parallel()
	// Every change the evaluator can make is a legal transition.
	for _, from := range []dags.TaskState{dags.TaskStateNone, dags.TaskStateUpForRetry, dags.TaskStateUpForReschedule} {
		for _, to := range []dags.TaskState{dags.TaskStateScheduled, dags.TaskStateSkipped, dags.TaskStateUpstreamFailed, dags.TaskStateRemoved} {
			if !CanTransition(from, to) {
				t.Errorf("the evaluator may move %s to %s, which CanTransition forbids", from, to)
			}
		}
	}
}
