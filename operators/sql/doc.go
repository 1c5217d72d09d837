// Package sql implements the sql operator, Starflow's
// SQLExecuteQueryOperator for PostgreSQL: it runs one statement or a list
// of statements through a connection id, with parameters ($1, $2, ... for
// a list; @name for a dict), in one transaction unless autocommit is set,
// with an optional statement_timeout, and returns the rows of the last
// statement as the task's XCom according to fetch ("all", "one" or
// "none"), as lists or, with as_dict, as dicts of JSON-like values.
//
// Each try opens its own short-lived connection (pgx/v5) from the
// connection's host, port, schema (the database), login, password and
// extras (libpq parameters such as sslmode or search_path). A PostgreSQL
// error fails the try with its SQLSTATE code and message in the task log;
// the connection's password never appears in logs or errors.
//
// Query and Exec run single statements the same way for other callers,
// such as the sql module of Starlark task functions.
package sql
