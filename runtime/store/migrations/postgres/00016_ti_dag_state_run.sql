-- ti_dag_state (dag_id, state) gains run_id as its last column. Without
-- planner statistics, a lookup of one run's task instances in one state
-- (sqlq.TaskInstanceStates: dag_id, run_id and a state literal) costs the
-- same through ti_dag_state as through ti_run_unfinished, and the planner
-- took ti_dag_state and filtered run_id: every run of the DAG in that state
-- read for one run's lookup. With run_id in both indexes, either reads only
-- the run's rows; a DAG's task instances in a state are still its prefix.

-- +goose Up
CREATE INDEX ti_dag_state_run ON task_instance (dag_id, state, run_id);
DROP INDEX ti_dag_state;
ALTER INDEX ti_dag_state_run RENAME TO ti_dag_state;

-- +goose Down
CREATE INDEX ti_dag_state_old ON task_instance (dag_id, state);
DROP INDEX ti_dag_state;
ALTER INDEX ti_dag_state_old RENAME TO ti_dag_state;
