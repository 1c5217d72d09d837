// Package store defines Starflow's metadata store: the one interface through
// which the scheduler, the executor, the webserver and the CLI read and write
// DAGs, DAG versions (the source bundles workers parse), DAG runs, task
// instances, task logs, XComs, variables, connections, pools and import
// errors.
//
// Two implementations satisfy Store: runtime/store/sqlite, the embedded
// default, and runtime/store/postgres for distributed deployments. Both pass
// the conformance suite in runtime/store/storetest, so nothing above this
// interface needs to know which one it has.
//
// # Conventions
//
// Method names are noun first (RunCreate, TaskInstanceSetState) and take
// their arguments as *XxxParams structs. Persisted states are the string
// enums of package dags. Times are stored in UTC with microsecond precision:
// every time written is truncated with [Truncate], and the zero time means
// "not set" (NULL in the database). Unmapped task instances have map index
// [NoMapIndex] (-1), as in Airflow.
//
// State changes are compare-and-set: a transition names the states it
// expects to find, and when the row has moved on it changes nothing and
// returns an error wrapping [ErrStale]. Two schedulers or two deliveries of
// the same queue message therefore can never both move one task instance.
//
// Errors wrap the sentinels of this package ([ErrNotFound], [ErrConflict],
// [ErrStale], [ErrTooLarge], [ErrInvalid], [ErrCorrupt], [ErrSchemaTooNew],
// [ErrSchemaOutdated]) with the name of the object involved, so callers test
// them with errors.Is and people read a sentence.
package store
