-- PostgreSQL's 00014 replaces ti_run_state with a partial index of
-- unfinished task instances, for its planner. SQLite's planner takes the
-- primary key for a lookup by the whole key and the (dag_id, run_id, state)
-- index for a run's states whatever its statistics, so its index stays;
-- this version keeps the two dialects' migrations numbered alike.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
