-- The audit log of user actions (Airflow's Log model): who triggered,
-- cleared, marked, paused, edited or deleted what, and when. Pages list it
-- newest first by id, filtered by DAG, event or owner.

-- +goose Up
CREATE TABLE audit_log (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dttm    TIMESTAMPTZ NOT NULL,
    event   TEXT    NOT NULL,
    dag_id  TEXT    NOT NULL DEFAULT '',
    task_id TEXT    NOT NULL DEFAULT '',
    run_id  TEXT    NOT NULL DEFAULT '',
    owner   TEXT    NOT NULL DEFAULT '',
    source  TEXT    NOT NULL DEFAULT '',
    extra   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_dag_id ON audit_log (dag_id, id);
CREATE INDEX audit_log_event ON audit_log (event, id);
CREATE INDEX audit_log_owner ON audit_log (owner, id);

-- +goose Down
DROP TABLE audit_log;
