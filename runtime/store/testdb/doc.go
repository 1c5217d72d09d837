// Package testdb opens throw-away stores for the tests of packages built on
// the store (scheduler, executor, web): a SQLite file in the test's temp
// directory, or a fresh schema on the PostgreSQL test server, each removed
// when the test ends.
//
// An unreachable PostgreSQL server fails the test with a message saying
// how to start one (set STARFLOW_TEST_POSTGRES_URL to use another); tests
// never skip silently.
package testdb
