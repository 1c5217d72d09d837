package state

import (
	"fmt"
	"testing"
	"time"

	"github.com/starflow-dev/starflow/dags"
)

func TestRunState(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		spec []string
		tis  []string
		want dags.DagRunState
	}{
		{"every task succeeded", []string{"a >> b >> c"},
			[]string{"a=success", "b=success", "c=success"}, dags.DagRunStateSuccess},
		{"skipped leaves still succeed", []string{"a >> b", "a >> c"},
			[]string{"a=success", "b=skipped", "c=success"}, dags.DagRunStateSuccess},
		{"a failed leaf fails the run", []string{"a >> b", "a >> c"},
			[]string{"a=success", "b=failed", "c=success"}, dags.DagRunStateFailed},
		{"an upstream_failed leaf fails the run", []string{"a >> b"},
			[]string{"a=failed", "b=upstream_failed"}, dags.DagRunStateFailed},
		{"an all_done leaf rescues a failed upstream", []string{"a >> b", "b: all_done"},
			[]string{"a=failed", "b=success"}, dags.DagRunStateSuccess},
		{"a failed leaf waits for the rest of the run", []string{"a >> b", "c"},
			[]string{"a=running", "b=none", "c=failed"}, dags.DagRunStateRunning},
		{"a running task", []string{"a >> b"},
			[]string{"a=running", "b=none"}, dags.DagRunStateRunning},
		{"a task the evaluator can schedule", []string{"a >> b"},
			[]string{"a=success", "b=none"}, dags.DagRunStateRunning},
		{"a missing task instance counts as none", []string{"a >> b"},
			[]string{"a=success"}, dags.DagRunStateRunning},
		{"a task waiting for its retry", []string{"a >> b"},
			[]string{"a=up_for_retry", "b=none"}, dags.DagRunStateRunning},
		{"a deferred task", []string{"a"}, []string{"a=deferred"}, dags.DagRunStateRunning},
		{"a removed leaf is ignored", []string{"a >> b", "a >> c"},
			[]string{"a=success", "b=removed", "c=success"}, dags.DagRunStateSuccess},
		{"deadlock: nothing can make progress", []string{"a >> b", "c"},
			[]string{"a=removed", "b=none", "c=success"}, dags.DagRunStateFailed},
		{"a task the evaluator can fail keeps the run going", []string{"a >> c", "b >> c", "c: one_success", "c >> d"},
			[]string{"a=removed", "b=removed", "c=upstream_failed", "d=none"}, dags.DagRunStateRunning},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := newDAG(t, tc.spec...)
			if got := RunState(d, tiMap(tc.tis...), t0); got != tc.want {
				t.Errorf("RunState: got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestRunStateDependsOnPastIsNeverDeadlocked(t *testing.T) {
	t.Parallel()
	d := newDAG(t, "a >> b")
	d.Task("b").DependsOnPast = true
	tis := tiMap("a=removed", "b=none")
	if got := RunState(d, tis, t0); got != dags.DagRunStateRunning {
		t.Errorf("RunState: got %s, want running", got)
	}
}

func TestRunStateDoesNotWaitForAFutureRetry(t *testing.T) {
	t.Parallel()
	// An up_for_retry task counts as progress even before its retry time.
	d := newDAG(t, "a")
	tis := map[string]TI{"a": {State: dags.TaskStateUpForRetry, NextRetryAt: t0.Add(time.Hour)}}
	if got := RunState(d, tis, t0); got != dags.DagRunStateRunning {
		t.Errorf("RunState: got %s, want running", got)
	}
}

func BenchmarkRunState(b *testing.B) {
	d := chainDAG(b, 1000)
	tis := make(map[string]TI, d.Len())
	for i, tk := range d.Tasks() {
		s := dags.TaskStateSuccess
		if i == d.Len()-1 {
			s = dags.TaskStateRunning
		}
		tis[tk.ID] = TI{State: s}
	}
	b.ReportAllocs()
	for b.Loop() {
		if got := RunState(d, tis, t0); got != dags.DagRunStateRunning {
			b.Fatal(fmt.Sprint("run state ", got))
		}
	}
}
