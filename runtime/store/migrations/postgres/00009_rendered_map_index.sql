-- map_index_template: the label a mapped task instance's try rendered for
-- its map index, shown where the map index is; empty when the task has no
-- template (the map index is shown then).

-- +goose Up
ALTER TABLE task_instance ADD COLUMN rendered_map_index TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE task_instance DROP COLUMN rendered_map_index;
