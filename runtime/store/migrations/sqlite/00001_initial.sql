-- The first Starflow schema. Times are INTEGER microseconds since the Unix
-- epoch (UTC), NULL when unset; JSON values are TEXT; booleans are 0/1.

-- +goose Up
CREATE TABLE dag (
    dag_id                   TEXT    NOT NULL PRIMARY KEY,
    file                     TEXT    NOT NULL DEFAULT '',
    source_hash              TEXT    NOT NULL DEFAULT '',
    is_paused                INTEGER NOT NULL DEFAULT 0,
    is_active                INTEGER NOT NULL DEFAULT 1,
    schedule                 TEXT    NOT NULL DEFAULT '',
    description              TEXT    NOT NULL DEFAULT '',
    tags                     TEXT    NOT NULL DEFAULT '[]',
    max_active_runs          INTEGER NOT NULL DEFAULT 16,
    max_active_tasks         INTEGER NOT NULL DEFAULT 16,
    next_logical_date        INTEGER,
    next_data_interval_start INTEGER,
    next_data_interval_end   INTEGER,
    next_create_after        INTEGER,
    last_parsed_at           INTEGER,
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL
);
CREATE INDEX dag_file ON dag (file);
CREATE INDEX dag_next_create_after ON dag (next_create_after) WHERE is_paused = 0 AND is_active = 1;

CREATE TABLE dag_version (
    source_hash TEXT    NOT NULL PRIMARY KEY,
    entry_file  TEXT    NOT NULL,
    files       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE dag_run (
    dag_id              TEXT    NOT NULL,
    run_id              TEXT    NOT NULL,
    run_type            TEXT    NOT NULL,
    state               TEXT    NOT NULL,
    logical_date        INTEGER NOT NULL,
    data_interval_start INTEGER,
    data_interval_end   INTEGER,
    conf                TEXT    NOT NULL DEFAULT '{}',
    source_hash         TEXT    NOT NULL DEFAULT '',
    queued_at           INTEGER,
    start_date          INTEGER,
    end_date            INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    PRIMARY KEY (dag_id, run_id)
);
CREATE UNIQUE INDEX dag_run_scheduled_logical_date ON dag_run (dag_id, logical_date) WHERE run_type = 'scheduled';
CREATE INDEX dag_run_dag_state ON dag_run (dag_id, state, logical_date);
CREATE INDEX dag_run_state ON dag_run (state);

CREATE TABLE task_instance (
    dag_id          TEXT    NOT NULL,
    run_id          TEXT    NOT NULL,
    task_id         TEXT    NOT NULL,
    map_index       INTEGER NOT NULL DEFAULT -1,
    state           TEXT    NOT NULL DEFAULT 'none',
    try_number      INTEGER NOT NULL DEFAULT 0,
    max_tries       INTEGER NOT NULL DEFAULT 1,
    hostname        TEXT    NOT NULL DEFAULT '',
    pid             INTEGER NOT NULL DEFAULT 0,
    pool            TEXT    NOT NULL DEFAULT 'default_pool',
    pool_slots      INTEGER NOT NULL DEFAULT 1,
    priority_weight INTEGER NOT NULL DEFAULT 1,
    queue           TEXT    NOT NULL DEFAULT 'default',
    operator        TEXT    NOT NULL DEFAULT '',
    logical_date    INTEGER NOT NULL,
    queued_at       INTEGER,
    start_date      INTEGER,
    end_date        INTEGER,
    duration_us     INTEGER,
    next_retry_at   INTEGER,
    heartbeat_at    INTEGER,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (dag_id, run_id, task_id, map_index),
    FOREIGN KEY (dag_id, run_id) REFERENCES dag_run (dag_id, run_id) ON DELETE CASCADE
);
CREATE INDEX ti_state_priority ON task_instance (state, priority_weight DESC, logical_date);
CREATE INDEX ti_dag_state ON task_instance (dag_id, state);
CREATE INDEX ti_pool_state ON task_instance (pool, state);

CREATE TABLE task_log (
    dag_id      TEXT    NOT NULL,
    run_id      TEXT    NOT NULL,
    task_id     TEXT    NOT NULL,
    map_index   INTEGER NOT NULL,
    try_number  INTEGER NOT NULL,
    byte_offset INTEGER NOT NULL,
    data        BLOB    NOT NULL,
    PRIMARY KEY (dag_id, run_id, task_id, map_index, try_number, byte_offset),
    FOREIGN KEY (dag_id, run_id, task_id, map_index)
        REFERENCES task_instance (dag_id, run_id, task_id, map_index) ON DELETE CASCADE
);

CREATE TABLE xcom (
    dag_id     TEXT    NOT NULL,
    run_id     TEXT    NOT NULL,
    task_id    TEXT    NOT NULL,
    map_index  INTEGER NOT NULL,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (dag_id, run_id, task_id, map_index, key),
    FOREIGN KEY (dag_id, run_id, task_id, map_index)
        REFERENCES task_instance (dag_id, run_id, task_id, map_index) ON DELETE CASCADE
);

CREATE TABLE variable (
    key          TEXT    NOT NULL PRIMARY KEY,
    value        TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    is_encrypted INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE connection (
    conn_id     TEXT    NOT NULL PRIMARY KEY,
    conn_type   TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    host        TEXT    NOT NULL DEFAULT '',
    port        INTEGER NOT NULL DEFAULT 0,
    schema      TEXT    NOT NULL DEFAULT '',
    login       TEXT    NOT NULL DEFAULT '',
    password    TEXT    NOT NULL DEFAULT '',
    extra       TEXT    NOT NULL DEFAULT '{}',
    updated_at  INTEGER NOT NULL
);

CREATE TABLE pool (
    name        TEXT    NOT NULL PRIMARY KEY,
    slots       INTEGER NOT NULL,
    description TEXT    NOT NULL DEFAULT ''
);
INSERT INTO pool (name, slots, description) VALUES ('default_pool', 128, 'Default pool');

CREATE TABLE import_error (
    id         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    file       TEXT    NOT NULL,
    line       INTEGER NOT NULL DEFAULT 0,
    col        INTEGER NOT NULL DEFAULT 0,
    message    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX import_error_file ON import_error (file);

-- +goose Down
DROP TABLE import_error;
DROP TABLE pool;
DROP TABLE connection;
DROP TABLE variable;
DROP TABLE xcom;
DROP TABLE task_log;
DROP TABLE task_instance;
DROP TABLE dag_run;
DROP TABLE dag_version;
DROP TABLE dag;
