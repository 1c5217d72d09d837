package lsp

import "strings"

// templateDocs documents the names of the template context Starflow
// renders (runtime/templates), as Airflow documents its template
// variables. TestTemplateDocsMatchTheContext keeps it equal to the
// context.
var templateDocs = map[string]string{
	"ds":                    "The run's logical date as `YYYY-MM-DD`.",
	"ds_nodash":             "The run's logical date as `YYYYMMDD`.",
	"ts":                    "The run's logical date in ISO 8601, `2024-01-01T00:00:00+00:00`.",
	"ts_nodash":             "The run's logical date as `20240101T000000`.",
	"ts_nodash_with_tz":     "The run's logical date as `20240101T000000+0000`.",
	"logical_date":          "The run's logical date, a datetime (`.year`, `.strftime(...)`, arithmetic with `macros.timedelta`).",
	"data_interval_start":   "The start of the run's data interval, a datetime.",
	"data_interval_end":     "The end of the run's data interval, a datetime.",
	"run_id":                "The DAG run's id.",
	"try_number":            "The try being run, from 1.",
	"params":                "The DAG's params merged with the task's and the trigger's conf: `{{ params.name }}`.",
	"conf":                  "The conf the run was triggered with (`dag_run.conf`).",
	"dag_run":               "The DAG run: `dag_id`, `run_id`, `run_type`, `conf`, `logical_date`, `data_interval_start/end`.",
	"dag":                   "The DAG: `dag_id`, `description`, `tags`, `params`, `schedule`, ...",
	"task":                  "The task: `task_id`, `operator`, `retries`, `pool`, `trigger_rule`, ...",
	"ti":                    "The task instance: `xcom_pull(task_ids=..., key=...)`, `xcom_push(key, value)`, `task_id`, `try_number`, ...",
	"task_instance":         "The task instance, the same as `ti`.",
	"task_instance_key_str": "`dag_id__task_id__YYYYMMDD`, a key unique to the task instance.",
	"macros":                "Helpers: `macros.ds_add(ds, days)`, `macros.ds_format(ds, in, out)`, `macros.timedelta`, `macros.datetime`, `macros.random`.",
	"var":                   "Variables: `{{ var.value.name }}`, or `{{ var.json.name.key }}` for a JSON value.",
	"conn":                  "Connections: `{{ conn.conn_id.host }}`, `.login`, `.port`, `.schema`, `.extra_dejson`.",
	"exception":             "In a failure callback's template, the error that failed the task; None otherwise.",
	"inlets":                "The task's inlets: an empty list (Starflow tasks declare none).",
	"outlets":               "The datasets the task updates (`outlets = [...]`), as Airflow's Assets: `.uri`, `.name`.",
	"map_index_template":    "The task's `map_index_template`, or None.",

	"prev_data_interval_start_success": "The data interval start of the DAG's previous successful run (by logical date), or None.",
	"prev_data_interval_end_success":   "The data interval end of the DAG's previous successful run, or None.",
	"prev_start_date_success":          "When the DAG's previous successful run started, or None.",
	"prev_end_date_success":            "When the DAG's previous successful run ended, or None.",
}

// inTemplate reports whether offset off of text is inside a {{ ... }}
// expression on its line.
func inTemplate(text string, off int) bool {
	line := text[strings.LastIndexByte(text[:off], '\n')+1 : off]
	return strings.LastIndex(line, "{{") > strings.LastIndex(line, "}}")
}
