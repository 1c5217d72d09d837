// Package pgtest gives each test its own PostgreSQL schema on the test
// server, so that tests run in parallel against one real database.
package pgtest
