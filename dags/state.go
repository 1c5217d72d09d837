package dags

import (
	"fmt"
	"sort"
	"strings"
)

// TaskState is the state of one task instance, with Airflow's names so that
// users, the API and the database all speak the same words.
type TaskState string

// Task-instance states. TaskStateNone is a task instance that exists but
// whose dependencies are not yet met.
const (
	TaskStateNone            TaskState = "none"
	TaskStateScheduled       TaskState = "scheduled"
	TaskStateQueued          TaskState = "queued"
	TaskStateRunning         TaskState = "running"
	TaskStateSuccess         TaskState = "success"
	TaskStateFailed          TaskState = "failed"
	TaskStateSkipped         TaskState = "skipped"
	TaskStateUpstreamFailed  TaskState = "upstream_failed"
	TaskStateUpForRetry      TaskState = "up_for_retry"
	TaskStateUpForReschedule TaskState = "up_for_reschedule"
	TaskStateRemoved         TaskState = "removed"
	TaskStateRestarting      TaskState = "restarting"
	TaskStateDeferred        TaskState = "deferred"
)

// AllTaskStates lists every task state.
var AllTaskStates = []TaskState{
	TaskStateNone, TaskStateScheduled, TaskStateQueued, TaskStateRunning,
	TaskStateSuccess, TaskStateFailed, TaskStateSkipped, TaskStateUpstreamFailed,
	TaskStateUpForRetry, TaskStateUpForReschedule, TaskStateRemoved,
	TaskStateRestarting, TaskStateDeferred,
}

// Valid reports whether s is a known task state.
func (s TaskState) Valid() bool {
	for _, k := range AllTaskStates {
		if s == k {
			return true
		}
	}
	return false
}

// Finished reports whether the state is terminal: success, failed, skipped,
// upstream_failed or removed.
func (s TaskState) Finished() bool {
	switch s {
	case TaskStateSuccess, TaskStateFailed, TaskStateSkipped, TaskStateUpstreamFailed, TaskStateRemoved:
		return true
	}
	return false
}

// DagRunState is the state of one DAG run.
type DagRunState string

// DAG-run states, as in Airflow.
const (
	DagRunStateQueued  DagRunState = "queued"
	DagRunStateRunning DagRunState = "running"
	DagRunStateSuccess DagRunState = "success"
	DagRunStateFailed  DagRunState = "failed"
)

// Finished reports whether the run has reached success or failed.
func (s DagRunState) Finished() bool {
	return s == DagRunStateSuccess || s == DagRunStateFailed
}

// Valid reports whether s is a known run state.
func (s DagRunState) Valid() bool {
	switch s {
	case DagRunStateQueued, DagRunStateRunning, DagRunStateSuccess, DagRunStateFailed:
		return true
	}
	return false
}

// RunType says how a DAG run came to be.
type RunType string

// Run types; a run id starts with its type ("scheduled__2024-01-01T00:00:00+00:00").
const (
	RunTypeManual    RunType = "manual"
	RunTypeScheduled RunType = "scheduled"
	RunTypeBackfill  RunType = "backfill"
	// RunTypeDatasetTriggered is a run created because the datasets a DAG
	// is scheduled on were updated (Airflow's asset_triggered).
	RunTypeDatasetTriggered RunType = "dataset_triggered"
)

// TriggerRule decides, from the states of a task's direct upstream tasks,
// whether the task runs, waits, or is skipped or marked upstream_failed.
type TriggerRule string

// Trigger rules, with Airflow's semantics (see runtime/state).
const (
	TriggerAllSuccess              TriggerRule = "all_success"
	TriggerAllFailed               TriggerRule = "all_failed"
	TriggerAllDone                 TriggerRule = "all_done"
	TriggerAllDoneMinOneSuccess    TriggerRule = "all_done_min_one_success"
	TriggerAllSkipped              TriggerRule = "all_skipped"
	TriggerOneSuccess              TriggerRule = "one_success"
	TriggerOneFailed               TriggerRule = "one_failed"
	TriggerOneDone                 TriggerRule = "one_done"
	TriggerNoneFailed              TriggerRule = "none_failed"
	TriggerNoneFailedMinOneSuccess TriggerRule = "none_failed_min_one_success"
	TriggerNoneSkipped             TriggerRule = "none_skipped"
	TriggerAlways                  TriggerRule = "always"
	// TriggerAllDoneSetupSuccess is the rule of teardown tasks, set by
	// as_teardown(): every direct upstream done and at least one direct
	// upstream setup succeeded.
	TriggerAllDoneSetupSuccess TriggerRule = "all_done_setup_success"
)

// AllTriggerRules lists every trigger rule in the order Airflow documents them.
var AllTriggerRules = []TriggerRule{
	TriggerAllSuccess, TriggerAllFailed, TriggerAllDone, TriggerAllDoneMinOneSuccess,
	TriggerAllSkipped, TriggerOneSuccess, TriggerOneFailed, TriggerOneDone,
	TriggerNoneFailed, TriggerNoneFailedMinOneSuccess, TriggerNoneSkipped, TriggerAlways,
	TriggerAllDoneSetupSuccess,
}

// ParseTriggerRule checks a trigger-rule name; the error lists the known rules.
func ParseTriggerRule(s string) (TriggerRule, error) {
	for _, r := range AllTriggerRules {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown trigger_rule %q (known: %s)", s, joinNames(AllTriggerRules))
}

// WeightRule says how a task's effective priority weight is computed.
type WeightRule string

// Weight rules, as in Airflow.
const (
	WeightDownstream WeightRule = "downstream"
	WeightUpstream   WeightRule = "upstream"
	WeightAbsolute   WeightRule = "absolute"
)

// ParseWeightRule checks a weight-rule name.
func ParseWeightRule(s string) (WeightRule, error) {
	switch WeightRule(s) {
	case WeightDownstream, WeightUpstream, WeightAbsolute:
		return WeightRule(s), nil
	}
	return "", fmt.Errorf("unknown weight_rule %q (known: absolute, downstream, upstream)", s)
}

func joinNames[T ~string](xs []T) string {
	names := make([]string, len(xs))
	for i, x := range xs {
		names[i] = string(x)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
