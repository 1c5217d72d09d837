-- Sensors in reschedule mode: how many times the current try of a task
-- instance went to up_for_reschedule. While it is above zero, a move to
-- running keeps the try's first start_date, from which a sensor's timeout
-- counts.

-- +goose Up
ALTER TABLE task_instance ADD COLUMN reschedule_count INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE task_instance DROP COLUMN reschedule_count;
