package lsp

// builtinDoc documents a hand-written builtin (the operator builtins are
// documented by their operators.Spec): a signature, a one-line summary and
// its own keywords. The full reference is docs/authoring.md.
type builtinDoc struct {
	signature string
	doc       string
	keywords  []string
	// task is true for builtins that create a task and so take task_id
	// and the common task keywords.
	task bool
}

// builtinDocs are the hand-written builtins' docs, by name.
var builtinDocs = map[string]builtinDoc{
	"dag": {signature: "dag(dag_id, build, schedule=None, start_date=None, ...)", doc: "Defines a DAG: tasks created while build() runs belong to it.",
		keywords: []string{"dag_id", "build", "schedule", "start_date", "end_date", "catchup", "default_args", "params", "max_active_runs", "max_active_tasks",
			"tags", "description", "doc_md", "dag_display_name", "timezone", "dagrun_timeout", "on_success_callback", "on_failure_callback", "sla_miss_callback", "is_paused_upon_creation", "template_undefined"}},
	"bash": {signature: "bash(task_id, bash_command, env=None, append_env=False, cwd=None, skip_on_exit_code=99, ...)", doc: "A task that runs a shell command (Airflow's BashOperator); bash_command is templated.",
		keywords: []string{"bash_command", "env", "append_env", "cwd", "skip_on_exit_code"}, task: true},
	"task": {signature: "task(fn, task_id=fn's name, args=[], kwargs={}, ...)", doc: "A task that runs a Starlark function with ctx (Airflow's @task / PythonOperator).",
		keywords: []string{"fn", "args", "kwargs"}, task: true},
	"setup": {signature: "setup(fn, task_id=fn's name, args=[], kwargs={}, ...)", doc: "A setup task running a Starlark function (Airflow's @setup): its teardowns run after the work it sets up, whatever happens.",
		keywords: []string{"fn", "args", "kwargs"}, task: true},
	"teardown": {signature: "teardown(fn, task_id=fn's name, args=[], kwargs={}, on_failure_fail_dagrun=False, ...)", doc: "A teardown task running a Starlark function (Airflow's @teardown): runs once its setups succeeded and the work ended (all_done_setup_success).",
		keywords: []string{"fn", "args", "kwargs", "on_failure_fail_dagrun"}, task: true},
	"within": {signature: "within(tasks, build)", doc: "Airflow's `with setup_or_teardown:` block: tasks created while build() runs go between the setups and teardowns given (a task, its output or a list).",
		keywords: []string{"tasks", "build"}},
	"branch": {signature: "branch(fn, task_id=fn's name, ...)", doc: "A task whose function returns the task id(s) to follow; the other direct downstream tasks are skipped.",
		keywords: []string{"fn", "args", "kwargs"}, task: true},
	"short_circuit": {signature: "short_circuit(fn, task_id=fn's name, ignore_downstream_trigger_rules=True, ...)", doc: "A task whose falsy result skips everything downstream.",
		keywords: []string{"fn", "ignore_downstream_trigger_rules"}, task: true},
	"empty": {signature: "empty(task_id, ...)", doc: "A task that does nothing (Airflow's EmptyOperator).", task: true},
	"group": {signature: "group(group_id, build, default_args={}, prefix_group_id=True, tooltip=\"\")", doc: "A task group: tasks created while build() runs belong to it; also usable as a value in >>.",
		keywords: []string{"group_id", "build", "default_args", "prefix_group_id", "tooltip"}},
	"chain":                 {signature: "chain(*tasks)", doc: "Sets tasks (or lists of tasks) downstream of each other in order."},
	"chain_linear":          {signature: "chain_linear(*tasks)", doc: "Like chain, but every task of a list is connected to every task of the next."},
	"cross_downstream":      {signature: "cross_downstream(from_tasks, to_tasks)", doc: "Sets every task of to_tasks downstream of every task of from_tasks."},
	"Label":                 {signature: "Label(label)", doc: "An edge label: a >> Label(\"why\") >> b."},
	"timedelta":             {signature: "timedelta(days=0, hours=0, minutes=0, seconds=0, ...)", doc: "A duration, for retry_delay, execution_timeout and the like."},
	"partial":               {signature: "op.partial(...).expand(...)", doc: "Dynamic task mapping: fixed arguments, then the mapped ones."},
	"dataset":               {signature: "dataset(uri, extra=None)", doc: "A dataset: a task's outlets update it; a DAG with schedule=[dataset(...)] runs when it is updated."},
	"Dataset":               {signature: "Dataset(uri, extra=None)", doc: "Airflow 2's name for dataset(uri)."},
	"Asset":                 {signature: "Asset(name=None, uri=None, group=None, extra=None)", doc: "Airflow 3's name for a dataset; name and uri default to each other."},
	"DatasetAll":            {signature: "DatasetAll(*datasets)", doc: "A condition that holds when all the datasets were updated: a & b."},
	"DatasetAny":            {signature: "DatasetAny(*datasets)", doc: "A condition that holds when any of the datasets was updated: a | b."},
	"AssetAll":              {signature: "AssetAll(*assets)", doc: "A condition that holds when all the assets were updated: a & b."},
	"AssetAny":              {signature: "AssetAny(*assets)", doc: "A condition that holds when any of the assets was updated: a | b."},
	"DatasetOrTimeSchedule": {signature: "DatasetOrTimeSchedule(timetable, datasets)", doc: "Runs on the timetable and whenever the datasets were updated."},
	"AssetOrTimeSchedule":   {signature: "AssetOrTimeSchedule(timetable, assets)", doc: "Runs on the timetable and whenever the assets were updated."},
	"CronTriggerTimetable":  {signature: "CronTriggerTimetable(cron, timezone=None)", doc: "A cron schedule as an Airflow timetable object."},
	"webhook_notifier":      {signature: "webhook_notifier(url, ...)", doc: "A callback that posts the task's or run's state to a webhook."},
	"email_notifier":        {signature: "email_notifier(to, ...)", doc: "A callback that sends an email."},
	"PokeReturnValue":       {signature: "PokeReturnValue(is_done, xcom_value=None)", doc: "What a sensor function returns: done or not, and an XCom value."},
	"Param":                 {signature: "Param(default, type=None, description=\"\", ...)", doc: "A DAG parameter with a default and a JSON-schema-like type."},
}

// commonDoc documents the keywords every task takes.
const commonDoc = "A keyword every task takes (as Airflow's BaseOperator); also a key of default_args."
