package dags

import (
	"slices"
	"strings"
	"testing"
)

// markSetup marks the setups and teardowns of d before Finalize.
func markSetup(d *DAG, setups, teardowns []string) *DAG {
	for _, id := range setups {
		d.Task(id).IsSetup = true
	}
	for _, id := range teardowns {
		d.Task(id).IsTeardown = true
		d.Task(id).TriggerRule = TriggerAllDoneSetupSuccess
	}
	return d
}

func TestClearSelectionWithSetupsAndTeardowns(t *testing.T) {
	t.Parallel()
	// The scope example of Airflow's "Setup and Teardown" guide:
	// s1 >> w1 >> w2 >> t1.as_teardown(setups=s1) >> w3; w2 >> w4.
	d := mustFinalize(t, markSetup(build([]string{"s1", "w1", "w2", "t1", "w3", "w4"},
		"s1 >> w1", "w1 >> w2", "w2 >> t1", "t1 >> w3", "w2 >> w4", "s1 >> t1"), []string{"s1"}, []string{"t1"}))
	for _, tc := range []struct {
		ids                  []string
		downstream, upstream bool
		want                 string
	}{
		{[]string{"w1"}, false, false, "s1 w1 t1"}, // in scope: its setup and teardown too
		{[]string{"w2"}, false, false, "s1 w2 t1"},
		{[]string{"w3"}, false, false, "w3"}, // out of scope
		{[]string{"w4"}, false, false, "w4"},
		{[]string{"s1"}, false, false, "s1 t1"}, // a setup brings its teardown
		{[]string{"t1"}, false, false, "t1"},
		{[]string{"w2"}, true, false, "s1 w2 t1 w3 w4"},
		{[]string{"w3"}, false, true, "s1 w1 w2 t1 w3"},
	} {
		got := strings.Join(d.ClearSelection(tc.ids, tc.downstream, tc.upstream), " ")
		if got != tc.want {
			t.Errorf("ClearSelection(%v, downstream=%v, upstream=%v) = %q, want %q", tc.ids, tc.downstream, tc.upstream, got, tc.want)
		}
	}
	// A setup without a teardown is needed by everything below it.
	d2 := mustFinalize(t, markSetup(build([]string{"create", "query", "other"}, "create >> query", "query >> other"), []string{"create"}, nil))
	if got := d2.ClearSelection([]string{"other"}, false, false); !slices.Equal(got, []string{"create", "other"}) {
		t.Errorf("setup without teardown: ClearSelection(other) = %v, want [create other]", got)
	}
	// Without setups, a selection is just the tasks.
	d3 := mustFinalize(t, build([]string{"a", "b"}, "a >> b"))
	if got := d3.ClearSelection([]string{"b", "nope"}, false, false); !slices.Equal(got, []string{"b"}) {
		t.Errorf("no setups: ClearSelection(b) = %v, want [b]", got)
	}
}

func TestRunStateLeaves(t *testing.T) {
	t.Parallel()
	d := mustFinalize(t, markSetup(build([]string{"create", "query", "delete"}, "create >> query", "query >> delete", "create >> delete"),
		[]string{"create"}, []string{"delete"}))
	if got := ids(d.RunStateLeaves()); !slices.Equal(got, []string{"query"}) {
		t.Errorf("RunStateLeaves = %v, want [query] (the teardown is ignored)", got)
	}
	d2 := build([]string{"create", "query", "delete"}, "create >> query", "query >> delete", "create >> delete")
	markSetup(d2, []string{"create"}, []string{"delete"}).Task("delete").OnFailureFailDagrun = true
	mustFinalize(t, d2)
	if got := ids(d2.RunStateLeaves()); !slices.Equal(got, []string{"delete"}) {
		t.Errorf("with on_failure_fail_dagrun: RunStateLeaves = %v, want [delete]", got)
	}
	d3 := mustFinalize(t, build([]string{"a", "b", "c"}, "a >> b", "a >> c"))
	if got := ids(d3.RunStateLeaves()); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("no teardowns: RunStateLeaves = %v, want the leaves [b c]", got)
	}
}

func TestSetupTeardownFindings(t *testing.T) {
	t.Parallel()
	d := markSetup(build([]string{"s", "w", "t"}, "s >> w", "w >> t", "s >> t"), []string{"s"}, []string{"t"})
	d.Task("w").TriggerRule = TriggerAllDone
	f := d.Finalize()
	if len(f) != 1 || f[0].Rule != RuleSetupTeardown || !strings.Contains(f[0].Message, "all_success") || f[0].Pos.Line != 3 {
		t.Errorf("a non-all_success task after a setup: got %v, want one %s finding at line 3", f, RuleSetupTeardown)
	}
	d2 := build([]string{"a", "b"}, "a >> b")
	d2.Task("b").OnFailureFailDagrun = true
	if f := d2.Finalize(); len(f) != 1 || !strings.Contains(f[0].Message, "only for teardown") {
		t.Errorf("on_failure_fail_dagrun without teardown: got %v", f)
	}
}
