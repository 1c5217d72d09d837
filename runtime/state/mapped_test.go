package state

import (
	"testing"

	"github.com/starflow-dev/starflow/dags"
)

func TestEvaluateSchedulesEveryMapIndexWhoseUpstreamIsDone(t *testing.T) {
	t.Parallel()
	d := newDAG(t, "a >> m >> r")
	tis := tiMap("a=success", "m=[none,none,success]", "r=none")
	checkChanges(t, Evaluate(d, tis, t0, nil), "m[0] none scheduled", "m[1] none scheduled")
}

func TestEvaluateAskedToExpandAMappedTaskNotYetExpanded(t *testing.T) {
	t.Parallel()
	// Before expansion a mapped task is one task instance (map index -1):
	// the change to scheduled tells the caller to expand it.
	d := newDAG(t, "a >> m")
	checkChanges(t, Evaluate(d, tiMap("a=success", "m=none"), t0, nil), "m none scheduled")
}

func TestEveryMappedTaskInstanceCountsAsAnUpstream(t *testing.T) {
	t.Parallel()
	d := newDAG(t, "m >> r")
	cases := []struct {
		mapped string
		want   []string
	}{
		{"[success,success,success]", []string{"r none scheduled"}},
		{"[success,running,success]", nil},
		{"[success,failed,success]", []string{"r none upstream_failed"}},
		{"[success,skipped]", []string{"r none skipped"}},
		{"[]", []string{"r none scheduled"}},                        // expanded into nothing: no upstream instance, all_success holds
		{"[success,success,removed]", []string{"r none scheduled"}}, // a removed map index is no longer part of the task
	}
	for _, c := range cases {
		t.Run(c.mapped, func(t *testing.T) {
			t.Parallel()
			checkChanges(t, Evaluate(d, tiMap("m="+c.mapped, "r=none"), t0, []string{"r"}), c.want...)
		})
	}
}

func TestAFailedMapIndexCascadesToTheDownstreamInOneCall(t *testing.T) {
	t.Parallel()
	// a failed, so each map index is upstream_failed, and so is r.
	d := newDAG(t, "a >> m >> r")
	tis := tiMap("a=failed", "m=[none,none]", "r=none")
	checkChanges(t, Evaluate(d, tis, t0, []string{"m"}),
		"m[0] none upstream_failed", "m[1] none upstream_failed", "r none upstream_failed")
}

func TestAMappedIndexUpForRetryWaitsForItsOwnRetryTime(t *testing.T) {
	t.Parallel()
	d := newDAG(t, "m")
	tis := map[string]TI{"m": {Mapped: []TI{
		{State: dags.TaskStateUpForRetry, NextRetryAt: t0.Add(-1)},
		{State: dags.TaskStateUpForRetry, NextRetryAt: t0.Add(1)},
	}}}
	checkChanges(t, Evaluate(d, tis, t0, nil), "m[0] up_for_retry scheduled")
}

func TestRunStateOverMappedTaskInstances(t *testing.T) {
	t.Parallel()
	d := newDAG(t, "a >> m")
	cases := map[string]dags.DagRunState{
		"[success,success]": dags.DagRunStateSuccess,
		"[success,failed]":  dags.DagRunStateFailed,
		"[success,running]": dags.DagRunStateRunning,
		"[skipped,success]": dags.DagRunStateSuccess,
	}
	for mapped, want := range cases {
		if got := RunState(d, tiMap("a=success", "m="+mapped), t0); got != want {
			t.Errorf("m=%s: run state %s, want %s", mapped, got, want)
		}
	}
}

func TestApplySkipSkipsEveryUnfinishedMapIndex(t *testing.T) {
	t.Parallel()
	d := newDAG(t, "b >> m")
	tis := tiMap("b=success", "m=[none,running,success,scheduled]")
	checkChanges(t, ApplySkip(d, tis, []string{"m"}), "m[0] none skipped", "m[3] scheduled skipped")
}
