-- The task instances of one run in given states, as 00008's ti_run_state,
-- but of unfinished task instances only. A finished row (most rows of a
-- busy database) is in no such lookup, and the partial index cannot serve
-- a lookup by the whole key, which then always takes the primary key: with
-- the full index and no planner statistics (a new database, a server
-- without autovacuum, a run far larger than the average), PostgreSQL found
-- one instance by (dag_id, run_id) through ti_run_state and filtered the
-- task id, reading every row of the run for each transition of a task.
-- The scheduler writes its states as literals (sqlq.TaskInstanceStates) so
-- that the planner can prove the index's condition.

-- +goose Up
CREATE INDEX ti_run_unfinished ON task_instance (dag_id, run_id, state)
    WHERE state NOT IN ('success', 'failed', 'skipped', 'upstream_failed', 'removed');
DROP INDEX ti_run_state;

-- +goose Down
CREATE INDEX ti_run_state ON task_instance (dag_id, run_id, state);
DROP INDEX ti_run_unfinished;
