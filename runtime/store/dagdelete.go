package store

// DAGDeleteResult counts the rows DAGDelete removed.
type DAGDeleteResult struct {
	Runs          int64 `json:"dag_runs"`
	TaskInstances int64 `json:"task_instances"`
	XComs         int64 `json:"xcoms"`
	LogChunks     int64 `json:"log_chunks"`
	// LogFiles counts the index rows of log files; LogPaths are their
	// paths relative to the log folder, for the caller to delete the
	// files (runtime/tasklog).
	LogFiles int64    `json:"log_files"`
	LogPaths []string `json:"-"`
}

// DAGDeleteStatements returns DAGDelete's statements for a dialect whose
// placeholder for the DAG id is ph: the counting query (six columns: the
// DAG rows, then DAGDeleteResult's counts in order), the query of the log
// files' paths, and the deletes, children first (the foreign keys cascade
// too, but SLA misses and dataset cursors have none to the DAG). Every
// statement uses the placeholder as often as it appears; shared by both
// dialects.
func DAGDeleteStatements(ph string) (count, files string, deletes []string) {
	where := ` WHERE dag_id = ` + ph
	count = `SELECT
		(SELECT COUNT(*) FROM dag` + where + `),
		(SELECT COUNT(*) FROM dag_run` + where + `),
		(SELECT COUNT(*) FROM task_instance` + where + `),
		(SELECT COUNT(*) FROM xcom` + where + `),
		(SELECT COUNT(*) FROM task_log` + where + `),
		(SELECT COUNT(*) FROM task_log_file` + where + `)`
	files = `SELECT path FROM task_log_file` + where + ` ORDER BY path`
	for _, table := range []string{"task_log", "task_log_file", "xcom", "sla_miss", "task_instance", "dag_run", "dataset_consumer", "dag"} {
		deletes = append(deletes, `DELETE FROM `+table+where)
	}
	return count, files, deletes
}
