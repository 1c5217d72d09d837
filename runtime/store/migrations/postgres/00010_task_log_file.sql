-- Task logs live in files (a log folder, see docs/logs.md); the database
-- keeps one index row per try: the file's path relative to the log folder,
-- the host that wrote it and its size when the try closed it. Logs written
-- before this migration stay in task_log and are still read from there
-- when a try has no row here; db clean prunes both.

-- +goose Up
CREATE TABLE task_log_file (
    dag_id     TEXT    NOT NULL,
    run_id     TEXT    NOT NULL,
    task_id    TEXT    NOT NULL,
    map_index  INTEGER NOT NULL,
    try_number INTEGER NOT NULL,
    path       TEXT    NOT NULL,
    hostname   TEXT    NOT NULL DEFAULT '',
    size       BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (dag_id, run_id, task_id, map_index, try_number),
    FOREIGN KEY (dag_id, run_id, task_id, map_index)
        REFERENCES task_instance (dag_id, run_id, task_id, map_index) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE task_log_file;
