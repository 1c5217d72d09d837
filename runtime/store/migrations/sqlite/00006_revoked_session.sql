-- Revoked web sessions: the id of a session cookie ended by logout, kept
-- until the session would have expired anyway, so that a copy of the
-- cookie is refused. SessionRevoke deletes the rows whose expiry has
-- passed. Times are INTEGER microseconds since the Unix epoch, as in 00001.

-- +goose Up
CREATE TABLE revoked_session (
    id         TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX revoked_session_expires_at ON revoked_session (expires_at);

-- +goose Down
DROP TABLE revoked_session;
