-- app_user.active: a deactivated user (Flask-AppBuilder's User.active,
-- which Airflow's users pages toggle) cannot log in, and its sessions and
-- API tokens end; existing users stay active. deactivated_at is the last
-- deactivation: sessions fingerprint it, so those started before it stay
-- ended when the user is activated again.

-- +goose Up
ALTER TABLE app_user ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE app_user ADD COLUMN deactivated_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE app_user DROP COLUMN deactivated_at;
ALTER TABLE app_user DROP COLUMN active;
