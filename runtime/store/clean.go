package store

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Tables DBClean prunes.
const (
	// CleanDagRun deletes whole runs with their task instances, logs,
	// XComs and SLA misses.
	CleanDagRun = "dag_run"
	// CleanXCom deletes only the XComs of the old runs.
	CleanXCom = "xcom"
	// CleanTaskLog deletes only the logs of the old runs.
	CleanTaskLog = "task_log"
)

// CleanTables lists the tables DBClean knows, in the order it prunes them.
var CleanTables = []string{CleanTaskLog, CleanXCom, CleanDagRun}

// DBCleanParams prunes old runs as `airflow db clean` does: runs that
// finished (success or failed) and started before Before, except the
// latest non-manual run of each DAG, which scheduling may rely on (as
// Airflow's keep_last for dag_run). Runs still queued or running are never
// touched.
type DBCleanParams struct {
	Before time.Time
	// Tables limits the pruning (CleanTables); empty means all of them.
	Tables []string
	// DryRun counts what would be deleted and deletes nothing.
	DryRun bool
}

// DBCleanResult counts the rows deleted (or, on a dry run, that would be).
type DBCleanResult struct {
	Runs          int64 `json:"dag_runs"`
	TaskInstances int64 `json:"task_instances"`
	XComs         int64 `json:"xcoms"`
	LogChunks     int64 `json:"log_chunks"`
	LogBytes      int64 `json:"log_bytes"`
	// LogFiles counts the index rows of log files; LogPaths are their
	// paths relative to the log folder, for the caller to delete the
	// files (runtime/tasklog).
	LogFiles int64    `json:"log_files"`
	LogPaths []string `json:"-"`
}

// Normalize checks p and fills in defaults.
func (p *DBCleanParams) Normalize() error {
	if p.Before.IsZero() {
		return fmt.Errorf("db clean: no cut-off time: %w", ErrInvalid)
	}
	if len(p.Tables) == 0 {
		p.Tables = slices.Clone(CleanTables)
	}
	for _, t := range p.Tables {
		if !slices.Contains(CleanTables, t) {
			return fmt.Errorf("db clean: unknown table %q (known: %s): %w", t, strings.Join(CleanTables, ", "), ErrInvalid)
		}
	}
	p.Before = Truncate(p.Before)
	return nil
}

// Has reports whether p prunes table.
func (p *DBCleanParams) Has(table string) bool { return slices.Contains(p.Tables, table) }

// CleanRunsWhere is the condition (on dag_run aliased r, with one
// placeholder for the cut-off written as {before}) that selects the runs
// DBClean prunes; shared by both dialects.
const CleanRunsWhere = `r.state IN ('success', 'failed') AND COALESCE(r.start_date, r.logical_date) < {before}
	AND NOT (r.run_type <> 'manual' AND NOT EXISTS (SELECT 1 FROM dag_run l
		WHERE l.dag_id = r.dag_id AND l.run_type <> 'manual' AND l.logical_date > r.logical_date))`

// CleanStatements returns DBClean's statements for a dialect whose
// placeholder for the cut-off is ph: the counting query (six columns, in
// DBCleanResult's order), the query of the log files' paths and the
// deletes per table.
func CleanStatements(ph string) (count, files string, deletes map[string][]string) {
	where := strings.ReplaceAll(CleanRunsWhere, "{before}", ph)
	doomed := `SELECT r.dag_id, r.run_id FROM dag_run r WHERE ` + where
	in := `(dag_id, run_id) IN (` + doomed + `)`
	count = `SELECT
		(SELECT COUNT(*) FROM dag_run WHERE ` + in + `),
		(SELECT COUNT(*) FROM task_instance WHERE ` + in + `),
		(SELECT COUNT(*) FROM xcom WHERE ` + in + `),
		(SELECT COUNT(*) FROM task_log WHERE ` + in + `),
		(SELECT COALESCE(SUM(LENGTH(data)), 0) FROM task_log WHERE ` + in + `),
		(SELECT COUNT(*) FROM task_log_file WHERE ` + in + `)`
	files = `SELECT path FROM task_log_file WHERE ` + in + ` ORDER BY path`
	deletes = map[string][]string{
		CleanTaskLog: {`DELETE FROM task_log WHERE ` + in, `DELETE FROM task_log_file WHERE ` + in},
		CleanXCom:    {`DELETE FROM xcom WHERE ` + in},
		CleanDagRun:  {`DELETE FROM dag_run WHERE ` + in},
	}
	return count, files, deletes
}

// Result keeps the counts of the tables p prunes.
func (p *DBCleanParams) Result(all DBCleanResult) *DBCleanResult {
	out := &DBCleanResult{}
	if p.Has(CleanDagRun) {
		return &all
	}
	if p.Has(CleanXCom) {
		out.XComs = all.XComs
	}
	if p.Has(CleanTaskLog) {
		out.LogChunks, out.LogBytes = all.LogChunks, all.LogBytes
		out.LogFiles, out.LogPaths = all.LogFiles, all.LogPaths
	}
	return out
}
