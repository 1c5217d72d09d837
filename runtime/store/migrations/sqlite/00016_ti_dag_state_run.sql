-- PostgreSQL's 00016 adds run_id to ti_dag_state, for its planner without
-- statistics; SQLite's planner picks the (dag_id, run_id, state) index for
-- a run's states, so its indexes stay. This version keeps the two
-- dialects' migrations numbered alike.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
