-- SLA misses: a task instance of a scheduled run that had not succeeded
-- by data_interval_end + its sla, recorded once by the scheduler. Times
-- are INTEGER microseconds since the Unix epoch, as in 00001.

-- +goose Up
CREATE TABLE sla_miss (
    dag_id       TEXT    NOT NULL,
    run_id       TEXT    NOT NULL,
    task_id      TEXT    NOT NULL,
    logical_date INTEGER,
    deadline     INTEGER NOT NULL,
    state        TEXT    NOT NULL DEFAULT '',
    recorded_at  INTEGER NOT NULL,
    PRIMARY KEY (dag_id, run_id, task_id),
    FOREIGN KEY (dag_id, run_id) REFERENCES dag_run (dag_id, run_id) ON DELETE CASCADE
);
CREATE INDEX sla_miss_dag_deadline ON sla_miss (dag_id, deadline);

-- +goose Down
DROP TABLE sla_miss;
