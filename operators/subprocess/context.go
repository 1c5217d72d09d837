package subprocess

import (
	"strconv"
	"time"

	"github.com/starflow-dev/starflow/operators"
)

// ContextEnv returns the variables that tell a task process which task
// instance it runs for, under Starflow's and Airflow's names
// (STARFLOW_CTX_DAG_ID, AIRFLOW_CTX_DAG_ID, ...).
func ContextEnv(c *operators.Call) []string {
	dagID, taskID := c.Run.DAGID, ""
	if dagID == "" && c.DAG != nil {
		dagID = c.DAG.ID
	}
	if c.Task != nil {
		taskID = c.Task.ID
	}
	logical := ""
	if !c.Run.LogicalDate.IsZero() {
		logical = isoformat(c.Run.LogicalDate.UTC())
	}
	try := strconv.Itoa(c.TryNumber)
	return []string{
		"STARFLOW_CTX_DAG_ID=" + dagID,
		"STARFLOW_CTX_TASK_ID=" + taskID,
		"STARFLOW_CTX_RUN_ID=" + c.Run.RunID,
		"STARFLOW_CTX_TRY_NUMBER=" + try,
		"STARFLOW_CTX_LOGICAL_DATE=" + logical,
		"AIRFLOW_CTX_DAG_ID=" + dagID,
		"AIRFLOW_CTX_TASK_ID=" + taskID,
		"AIRFLOW_CTX_DAG_RUN_ID=" + c.Run.RunID,
		"AIRFLOW_CTX_TRY_NUMBER=" + try,
		"AIRFLOW_CTX_LOGICAL_DATE=" + logical,
	}
}

// isoformat formats t as Python's datetime.isoformat() does.
func isoformat(t time.Time) string {
	if t.Nanosecond()/1000 != 0 {
		return t.Format("2006-01-02T15:04:05.000000-07:00")
	}
	return t.Format("2006-01-02T15:04:05-07:00")
}
