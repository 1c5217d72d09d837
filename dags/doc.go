// Package dags is Starflow's pure model of a pipeline: DAGs, tasks, the
// edges between them, trigger rules, task and run states, schedules,
// durations and the source positions every definition came from.
//
// It does no I/O and knows nothing of Starlark: the loader in
// starlark/loader builds values of these types, and the runtime, scheduler
// and webserver read them. A DAG is built with New, AddTask and Connect, then
// sealed with Finalize, which validates it and computes its topological order;
// after that it is immutable and safe to share between goroutines.
package dags
