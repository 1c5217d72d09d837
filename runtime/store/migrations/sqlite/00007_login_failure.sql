-- Failed logins per key ("user:NAME" or "addr:IP"), shared by every
-- webserver so that throttling holds across processes. A failure after
-- the window since the last one starts the count again; web/auth turns
-- the count into a back-off.

-- +goose Up
CREATE TABLE login_failure (
    login_key    TEXT    PRIMARY KEY,
    failures     INTEGER NOT NULL,
    last_failure INTEGER NOT NULL
);
CREATE INDEX login_failure_last_failure ON login_failure (last_failure);

-- +goose Down
DROP TABLE login_failure;
