package ui

import (
	"testing"

	"github.com/starflow-dev/starflow/dags"
	"github.com/starflow-dev/starflow/runtime/store"
)

func TestSummarize(t *testing.T) {
	t.Parallel()
	tis := func(states ...dags.TaskState) []*store.TaskInstance {
		out := make([]*store.TaskInstance, len(states))
		for i, s := range states {
			out[i] = &store.TaskInstance{TaskInstanceKey: store.TaskInstanceKey{MapIndex: i}, State: s}
		}
		return out
	}
	tests := []struct {
		name   string
		states []dags.TaskState
		want   dags.TaskState
		title  string
	}{
		{"a failure shows before what still runs", []dags.TaskState{dags.TaskStateRunning, dags.TaskStateFailed, dags.TaskStateSuccess}, dags.TaskStateFailed,
			"3 mapped task instances: 1 success, 1 running, 1 failed"},
		{"upstream_failed shows before a retry", []dags.TaskState{dags.TaskStateUpForRetry, dags.TaskStateUpstreamFailed}, dags.TaskStateUpstreamFailed,
			"2 mapped task instances: 1 up_for_retry, 1 upstream_failed"},
		{"what is still to run shows before success", []dags.TaskState{dags.TaskStateSuccess, dags.TaskStateSuccess, dags.TaskStateQueued}, dags.TaskStateQueued,
			"3 mapped task instances: 2 success, 1 queued"},
		{"not started shows before success", []dags.TaskState{dags.TaskStateSuccess, dags.TaskStateNone}, dags.TaskStateNone,
			"2 mapped task instances: 1 success, 1 none"},
		{"success shows before skipped", []dags.TaskState{dags.TaskStateSkipped, dags.TaskStateSuccess}, dags.TaskStateSuccess,
			"2 mapped task instances: 1 skipped, 1 success"},
		{"one map index", []dags.TaskState{dags.TaskStateSkipped}, dags.TaskStateSkipped, "1 mapped task instance: 1 skipped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := summarize(tis(tc.states...))
			if s.State != tc.want || s.Count != len(tc.states) || s.Title() != tc.title {
				t.Errorf("got %s, %d, %q; want %s, %d, %q", s.State, s.Count, s.Title(), tc.want, len(tc.states), tc.title)
			}
		})
	}
	if len(statePriority) != len(dags.AllTaskStates) {
		t.Errorf("statePriority has %d states, dags.AllTaskStates %d: rank every state", len(statePriority), len(dags.AllTaskStates))
	}
}
