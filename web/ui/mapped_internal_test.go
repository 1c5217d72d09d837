package ui

import (
	"fmt"
	"strings"
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

func TestMapNavLinksOnlyNearbyIndexes(t *testing.T) {
	t.Parallel()
	var mapped []*store.TaskInstance
	for i := range 1000 {
		mapped = append(mapped, &store.TaskInstance{TaskInstanceKey: store.TaskInstanceKey{TaskID: "m", MapIndex: i}})
	}
	nav := func(cur int) string {
		p := &detailsPanel{MapIndex: cur, Mapped: mapped}
		var out []string
		for _, ti := range p.MapNav() {
			if ti == nil {
				out = append(out, "…")
			} else {
				out = append(out, fmt.Sprint(ti.MapIndex))
			}
		}
		return strings.Join(out, " ")
	}
	if got, want := nav(500), "0 … 490 491 492 493 494 495 496 497 498 499 500 501 502 503 504 505 506 507 508 509 510 … 999"; got != want {
		t.Errorf("nav around 500:\n got  %s\n want %s", got, want)
	}
	if got, want := nav(0), "0 1 2 3 4 5 6 7 8 9 10 … 999"; got != want {
		t.Errorf("nav at 0:\n got  %s\n want %s", got, want)
	}
	p := &detailsPanel{MapIndex: 1, Mapped: mapped[:3]}
	if got := len(p.MapNav()); got != 3 {
		t.Errorf("a small task links all %d indexes, want 3", got)
	}
}
