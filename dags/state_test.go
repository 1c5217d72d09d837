package dags

import (
	"strings"
	"testing"
)

func TestTaskState(t *testing.T) {
	t.Parallel()
	finished := map[TaskState]bool{
		TaskStateSuccess: true, TaskStateFailed: true, TaskStateSkipped: true,
		TaskStateUpstreamFailed: true, TaskStateRemoved: true,
	}
	if len(AllTaskStates) != 13 {
		t.Errorf("AllTaskStates has %d states, want 13", len(AllTaskStates))
	}
	for _, s := range AllTaskStates {
		if !s.Valid() {
			t.Errorf("%s not Valid", s)
		}
		if s.Finished() != finished[s] {
			t.Errorf("%s.Finished() = %v", s, s.Finished())
		}
	}
	for _, s := range []TaskState{"", "SUCCESS", "done"} {
		if s.Valid() || s.Finished() {
			t.Errorf("%q reported valid or finished", s)
		}
	}
}

func TestDagRunState(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s               DagRunState
		valid, finished bool
	}{
		{DagRunStateQueued, true, false}, {DagRunStateRunning, true, false},
		{DagRunStateSuccess, true, true}, {DagRunStateFailed, true, true},
		{"", false, false}, {"skipped", false, false},
	} {
		if tt.s.Valid() != tt.valid || tt.s.Finished() != tt.finished {
			t.Errorf("%q: Valid %v Finished %v", tt.s, tt.s.Valid(), tt.s.Finished())
		}
	}
}

func TestParseTriggerRule(t *testing.T) {
	t.Parallel()
	if len(AllTriggerRules) != 13 {
		t.Errorf("AllTriggerRules has %d rules, want 13", len(AllTriggerRules))
	}
	for _, r := range AllTriggerRules {
		if got, err := ParseTriggerRule(string(r)); err != nil || got != r {
			t.Errorf("ParseTriggerRule(%q) = %q, %v", r, got, err)
		}
	}
	_, err := ParseTriggerRule("all_sucess")
	if err == nil || !strings.Contains(err.Error(), `unknown trigger_rule "all_sucess" (known: all_done, all_done_min_one_success, all_done_setup_success, all_failed, all_skipped, all_success, always,`) {
		t.Errorf("ParseTriggerRule(all_sucess) error = %v, want the sorted known rules", err)
	}
	if _, err := ParseTriggerRule("ALL_SUCCESS"); err == nil {
		t.Error("trigger rules are case-sensitive, as in Airflow")
	}
}

func TestParseWeightRule(t *testing.T) {
	t.Parallel()
	for _, r := range []WeightRule{WeightDownstream, WeightUpstream, WeightAbsolute} {
		if got, err := ParseWeightRule(string(r)); err != nil || got != r {
			t.Errorf("ParseWeightRule(%q) = %q, %v", r, got, err)
		}
	}
	if _, err := ParseWeightRule("total"); err == nil || !strings.Contains(err.Error(), `unknown weight_rule "total" (known: absolute, downstream, upstream)`) {
		t.Errorf("ParseWeightRule(total) error = %v", err)
	}
}
