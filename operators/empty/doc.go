// Package empty implements the empty operator, Airflow's EmptyOperator: a
// task that does nothing and succeeds, used to group, join or mark points
// of a DAG.
package empty
