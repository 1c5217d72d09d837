// Package sensors implements Starflow's sensors: operators that wait for a
// condition outside the DAG run (a file, an HTTP endpoint, a query's
// result, another DAG's task, a point in time) by checking it again and
// again, as Airflow's BaseSensorOperator subclasses do.
//
// Every sensor takes the common arguments of Airflow's sensors:
// poke_interval, timeout, mode, soft_fail, exponential_backoff and
// max_wait. In mode "poke" a try loops poke → sleep inside Execute and
// holds its worker slot; in mode "reschedule" a try pokes once and, when
// the condition does not hold yet, returns operators.Reschedule so that the
// task instance goes to up_for_reschedule, frees its slot, and is run
// again (same try number) when the interval has passed. The timeout counts
// from the first poke of the try, kept across reschedules
// (operators.Call.FirstStart); a sensor that times out fails without
// retrying, or is skipped with soft_fail.
//
// Base holds the clock of a sensor, so that tests can inject one; Run is
// the loop every sensor shares.
package sensors
