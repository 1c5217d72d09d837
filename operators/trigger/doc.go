// Package trigger implements the trigger_dag operator, Starflow's
// TriggerDagRunOperator: it creates a manual run of another DAG (with a
// conf, a logical date and a run id, all templated) through the call's
// DagRuns, pushes the new run's id as its XCom, and with
// wait_for_completion polls that run every poke_interval until it reaches
// one of allowed_states (the task succeeds) or failed_states (the task
// fails).
//
// A run that exists already fails the task, or skips it with
// skip_when_already_exists. A DAG that does not exist fails the task at
// once, without retries.
package trigger
