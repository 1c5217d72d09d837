// Package localrun drives one DAG run to its end inside the current
// process, with no database, queue or server: the engine behind
// `starflow test-dag`.
//
// One goroutine owns the run's task-instance states and applies
// runtime/state's pure decisions to them; tries run on worker goroutines,
// at most the DAG's max_active_tasks at once, ordered by priority weight.
// A finished task makes its downstream tasks ready at once (mini-scheduling),
// empty tasks without callbacks succeed without a worker, as in Airflow.
package localrun
