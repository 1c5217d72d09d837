// Package function implements the task operator (the `task` builtin,
// Airflow's PythonOperator / @task): it calls the task's Starlark
// function through the call's FunctionRunner and returns the function's
// result as the task's XCom.
//
// As Airflow templates op_args and op_kwargs, every string inside the
// task's args and kwargs (at any depth of lists and dicts) is rendered as
// a template before the call; XCom references (dags.XComRef, what
// `t.output` gives) are passed through for the runner to resolve.
//
// Call is exported for the other operators that call a function (branch,
// short_circuit).
package function
