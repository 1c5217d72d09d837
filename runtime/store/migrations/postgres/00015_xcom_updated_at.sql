-- xcom_updated_at: the XCom browse page lists XComs newest first across
-- every DAG and run; without this index each page sorted the whole table.

-- +goose Up
CREATE INDEX xcom_updated_at ON xcom (updated_at);

-- +goose Down
DROP INDEX xcom_updated_at;
