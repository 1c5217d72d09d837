-- Datasets (data-aware scheduling): one row per dataset update, and per
-- DAG scheduled on datasets the id of the last event its runs consumed.
-- Times are INTEGER microseconds since the Unix epoch, as in 00001.

-- +goose Up
CREATE TABLE dataset_event (
    id               INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    uri              TEXT    NOT NULL,
    timestamp        INTEGER NOT NULL,
    source_dag_id    TEXT    NOT NULL DEFAULT '',
    source_run_id    TEXT    NOT NULL DEFAULT '',
    source_task_id   TEXT    NOT NULL DEFAULT '',
    source_map_index INTEGER NOT NULL DEFAULT -1,
    extra            TEXT    NOT NULL DEFAULT '{}'
);

CREATE INDEX dataset_event_uri ON dataset_event (uri, id);

CREATE TABLE dataset_consumer (
    dag_id        TEXT    NOT NULL PRIMARY KEY,
    last_event_id INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- +goose Down
DROP TABLE dataset_consumer;
DROP TABLE dataset_event;
