-- The task instances of one run in given states: the scheduler counts a
-- run's active task instances (max_active_tasks) and asks whether any is
-- unfinished after each finished task; through this index that reads the
-- few rows in those states, not every row of the run.

-- +goose Up
CREATE INDEX ti_run_state ON task_instance (dag_id, run_id, state);

-- +goose Down
DROP INDEX ti_run_state;
