-- Webserver users and API tokens, and the heartbeats of schedulers and
-- workers that /health and the workers page read. Times are INTEGER
-- microseconds since the Unix epoch, as in 00001.

-- +goose Up
CREATE TABLE app_user (
    username      TEXT    NOT NULL PRIMARY KEY,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE api_token (
    id         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    username   TEXT    NOT NULL REFERENCES app_user (username) ON DELETE CASCADE,
    hash       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    UNIQUE (username, name)
);

CREATE TABLE worker (
    consumer       TEXT    NOT NULL PRIMARY KEY,
    hostname       TEXT    NOT NULL DEFAULT '',
    queues         TEXT    NOT NULL DEFAULT '[]',
    running        INTEGER NOT NULL DEFAULT 0,
    slots          INTEGER NOT NULL DEFAULT 0,
    started_at     INTEGER,
    last_heartbeat INTEGER NOT NULL
);

CREATE TABLE scheduler_heartbeat (
    id             TEXT    NOT NULL PRIMARY KEY,
    hostname       TEXT    NOT NULL DEFAULT '',
    started_at     INTEGER,
    last_heartbeat INTEGER NOT NULL
);

-- +goose Down
DROP TABLE scheduler_heartbeat;
DROP TABLE worker;
DROP TABLE api_token;
DROP TABLE app_user;
