// Package state is Starflow's task-instance state machine and trigger-rule
// evaluation, with Apache Airflow's semantics.
//
// Everything here is a pure function over dags types: no I/O, no
// goroutines, no clock (the caller passes now). The in-process runner and
// the scheduler call these functions to decide what happens next in a DAG
// run:
//
//   - EvaluateTriggerRule decides, from the counts of a task's direct
//     upstream states, whether the task runs, waits, or is skipped or marked
//     upstream_failed (Airflow's TriggerRuleDep with flag_upstream_failed).
//   - Evaluate applies that decision to the task instances of one run and
//     cascades it downstream in one call ("mini-scheduling").
//   - ApplySkip records the skips of branch and short-circuit decisions
//     (which tasks to skip is decided by dags.DAG.BranchSkips and
//     dags.DAG.ShortCircuitSkips, shared with the operators).
//   - RunState decides a run's state from its leaves, including deadlock.
//   - CanTransition is the table of legal task-instance state changes.
//   - ShouldRetry and RetryDelay implement retries and exponential back-off.
//
// Functions never mutate their inputs; they return the changes for the
// caller to record.
package state
