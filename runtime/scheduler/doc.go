// Package scheduler drives DAG runs through the metadata store: it creates
// the runs schedules make due, starts queued runs within max_active_runs,
// decides task-instance states with runtime/state, hands ready task
// instances to the queue within pools and max_active_tasks, finishes runs,
// and handles retries, zombies and dagrun_timeout.
//
// Tick(ctx, now) is one deterministic pass with an injected clock; Run
// calls it on a timer and whenever a task finishes. Advance is the
// mini-scheduler a worker calls right after recording a try, so the
// downstream tasks of a finished task are queued within milliseconds
// instead of a polling interval.
//
// Several schedulers may share one database: every state change is a
// compare-and-set in the store, runs are unique per (dag_id, logical date)
// and claims use SKIP LOCKED, so no run is created twice and no task
// instance is queued twice.
package scheduler
