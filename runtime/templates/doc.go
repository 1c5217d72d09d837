// Package templates renders Jinja templates with Airflow's template
// context, so that `{{ ds }}`, `{{ params.x }}`, `{{ var.value.x }}`,
// `{{ ti.xcom_pull(task_ids='x') }}` and `{{ macros.ds_add(ds, 7) }}` mean
// in a Starflow DAG what they mean in an Airflow one.
//
// The Jinja language itself (loops, conditionals, filters, tests) comes
// from github.com/nikolalohinski/gonja/v2; this package adds the context
// variables, the Airflow filters (ds, ds_nodash, ts, ts_nodash,
// ts_nodash_with_tz) and macros, Python's rendering of None and datetimes,
// and a cache of parsed templates.
//
// An Engine is built once by the program and shared; Engine.Renderer
// returns the operators.Renderer of one task instance. A string that
// contains neither "{{" nor "{%" is returned unchanged without touching
// the engine (so bash's "${#array[@]}" needs no escaping when nothing
// else in the string is a template).
//
// Undefined names render as the empty string, as with Airflow's default
// lenient Undefined; a None value (a missing XCom, a null param) renders
// as "None", as Python does. A missing variable (`var.value.x`) is an
// error, as in Airflow. One difference remains: the literal `{{ None }}`
// renders empty (gonja's None), while values that are None render "None".
package templates
