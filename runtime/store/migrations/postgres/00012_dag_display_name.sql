-- dag_display_name: the name the UI, API and CLI show for a DAG instead of
-- its id (Airflow 2.9's DagModel.dag_display_name); empty means the id.

-- +goose Up
ALTER TABLE dag ADD COLUMN display_name TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE dag DROP COLUMN display_name;
