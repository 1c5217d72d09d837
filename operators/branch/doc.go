// Package branch implements the two operators that decide which
// downstream tasks run: branch (Airflow's BranchPythonOperator /
// @task.branch) and short_circuit (ShortCircuitOperator /
// @task.short_circuit). Both call the task's Starlark function and end in
// success; what they decide is the Result's Skip list, which the executor
// marks skipped.
//
// branch follows the task ids or task-group ids the function returns and
// skips every other direct downstream task. short_circuit lets everything
// run when the function's result is truthy and otherwise skips all
// downstream tasks, or only the direct ones when
// ignore_downstream_trigger_rules is false. Which tasks to skip is decided
// by dags.DAG.BranchSkips and dags.DAG.ShortCircuitSkips, the one
// implementation of those rules the runtime shares; this package adds the
// function call, the reading of its result and the Result's Message, which
// the executor logs (the operators do not log it themselves).
package branch
