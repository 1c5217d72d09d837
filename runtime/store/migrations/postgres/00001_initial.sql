-- The first Starflow schema. Times are timestamptz (microseconds, UTC),
-- NULL when unset; JSON values are TEXT, checked by the store on write and
-- kept byte for byte so the size limits measure what is stored.

-- +goose Up
CREATE TABLE dag (
    dag_id                   TEXT        NOT NULL PRIMARY KEY,
    file                     TEXT        NOT NULL DEFAULT '',
    source_hash              TEXT        NOT NULL DEFAULT '',
    is_paused                BOOLEAN     NOT NULL DEFAULT FALSE,
    is_active                BOOLEAN     NOT NULL DEFAULT TRUE,
    schedule                 TEXT        NOT NULL DEFAULT '',
    description              TEXT        NOT NULL DEFAULT '',
    tags                     TEXT        NOT NULL DEFAULT '[]',
    max_active_runs          INTEGER     NOT NULL DEFAULT 16,
    max_active_tasks         INTEGER     NOT NULL DEFAULT 16,
    next_logical_date        TIMESTAMPTZ,
    next_data_interval_start TIMESTAMPTZ,
    next_data_interval_end   TIMESTAMPTZ,
    next_create_after        TIMESTAMPTZ,
    last_parsed_at           TIMESTAMPTZ,
    created_at               TIMESTAMPTZ NOT NULL,
    updated_at               TIMESTAMPTZ NOT NULL
);
CREATE INDEX dag_file ON dag (file);
CREATE INDEX dag_next_create_after ON dag (next_create_after) WHERE NOT is_paused AND is_active;

CREATE TABLE dag_version (
    source_hash TEXT        NOT NULL PRIMARY KEY,
    entry_file  TEXT        NOT NULL,
    files       TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE dag_run (
    dag_id              TEXT        NOT NULL,
    run_id              TEXT        NOT NULL,
    run_type            TEXT        NOT NULL,
    state               TEXT        NOT NULL,
    logical_date        TIMESTAMPTZ NOT NULL,
    data_interval_start TIMESTAMPTZ,
    data_interval_end   TIMESTAMPTZ,
    conf                TEXT        NOT NULL DEFAULT '{}',
    source_hash         TEXT        NOT NULL DEFAULT '',
    queued_at           TIMESTAMPTZ,
    start_date          TIMESTAMPTZ,
    end_date            TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (dag_id, run_id)
);
CREATE UNIQUE INDEX dag_run_scheduled_logical_date ON dag_run (dag_id, logical_date) WHERE run_type = 'scheduled';
CREATE INDEX dag_run_dag_state ON dag_run (dag_id, state, logical_date);
CREATE INDEX dag_run_state ON dag_run (state);

CREATE TABLE task_instance (
    dag_id          TEXT        NOT NULL,
    run_id          TEXT        NOT NULL,
    task_id         TEXT        NOT NULL,
    map_index       INTEGER     NOT NULL DEFAULT -1,
    state           TEXT        NOT NULL DEFAULT 'none',
    try_number      INTEGER     NOT NULL DEFAULT 0,
    max_tries       INTEGER     NOT NULL DEFAULT 1,
    hostname        TEXT        NOT NULL DEFAULT '',
    pid             INTEGER     NOT NULL DEFAULT 0,
    pool            TEXT        NOT NULL DEFAULT 'default_pool',
    pool_slots      INTEGER     NOT NULL DEFAULT 1,
    priority_weight INTEGER     NOT NULL DEFAULT 1,
    queue           TEXT        NOT NULL DEFAULT 'default',
    operator        TEXT        NOT NULL DEFAULT '',
    logical_date    TIMESTAMPTZ NOT NULL,
    queued_at       TIMESTAMPTZ,
    start_date      TIMESTAMPTZ,
    end_date        TIMESTAMPTZ,
    duration_us     BIGINT,
    next_retry_at   TIMESTAMPTZ,
    heartbeat_at    TIMESTAMPTZ,
    updated_at      TIMESTAMPTZ NOT NULL,
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
    byte_offset BIGINT  NOT NULL,
    data        BYTEA   NOT NULL,
    PRIMARY KEY (dag_id, run_id, task_id, map_index, try_number, byte_offset),
    FOREIGN KEY (dag_id, run_id, task_id, map_index)
        REFERENCES task_instance (dag_id, run_id, task_id, map_index) ON DELETE CASCADE
);

CREATE TABLE xcom (
    dag_id     TEXT        NOT NULL,
    run_id     TEXT        NOT NULL,
    task_id    TEXT        NOT NULL,
    map_index  INTEGER     NOT NULL,
    key        TEXT        NOT NULL,
    value      TEXT        NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (dag_id, run_id, task_id, map_index, key),
    FOREIGN KEY (dag_id, run_id, task_id, map_index)
        REFERENCES task_instance (dag_id, run_id, task_id, map_index) ON DELETE CASCADE
);

CREATE TABLE variable (
    key          TEXT        NOT NULL PRIMARY KEY,
    value        TEXT        NOT NULL,
    description  TEXT        NOT NULL DEFAULT '',
    is_encrypted BOOLEAN     NOT NULL DEFAULT FALSE,
    updated_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE connection (
    conn_id     TEXT        NOT NULL PRIMARY KEY,
    conn_type   TEXT        NOT NULL,
    description TEXT        NOT NULL DEFAULT '',
    host        TEXT        NOT NULL DEFAULT '',
    port        INTEGER     NOT NULL DEFAULT 0,
    schema      TEXT        NOT NULL DEFAULT '',
    login       TEXT        NOT NULL DEFAULT '',
    password    TEXT        NOT NULL DEFAULT '',
    extra       TEXT        NOT NULL DEFAULT '{}',
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE pool (
    name        TEXT    NOT NULL PRIMARY KEY,
    slots       INTEGER NOT NULL,
    description TEXT    NOT NULL DEFAULT ''
);
INSERT INTO pool (name, slots, description) VALUES ('default_pool', 128, 'Default pool');

CREATE TABLE import_error (
    id         BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    file       TEXT        NOT NULL,
    line       INTEGER     NOT NULL DEFAULT 0,
    col        INTEGER     NOT NULL DEFAULT 0,
    message    TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
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
