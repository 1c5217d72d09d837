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
// Undefined names are errors, as with Airflow's default
// DAG.template_undefined, jinja2.StrictUndefined: printing `{{ nosuch }}`
// or `{{ params.missing }}`, testing it in `{% if %}`, comparing it,
// looping over it or passing it to a filter other than default fails the
// render with "line N: params.missing is undefined". `x is defined`,
// `x is undefined` and `x | default(y)` work on undefined names, as in
// Jinja. A DAG opts out with template_undefined = "Undefined" (Airflow's
// jinja2.Undefined): undefined names then render empty and are false.
// A run without a logical date has no ds, ts and the other keys derived
// from it, as in Airflow 3; logical_date is None.
//
// A None value (a missing XCom, a null param, the literal None,
// `params.get('missing')`) renders as "None", as Python does (none.go).
// A missing variable (`var.value.x`) is an error, as in Airflow.
package templates
