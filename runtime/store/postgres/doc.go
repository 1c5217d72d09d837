// Package postgres is the Store for distributed deployments: PostgreSQL
// through pgx/v5 and pgxpool, for any number of schedulers, workers and
// webservers on many hosts.
//
// The URL is postgres://user:password@host:5432/db?sslmode=… (postgresql://
// works too); any pgx connection parameter may be added, search_path
// included.
//
// Concurrency comes from the database, not from the process: every state
// change is a conditional UPDATE … WHERE state = ANY(expected), so two
// processes can never both move one task instance, and claims select their
// rows with FOR UPDATE SKIP LOCKED, so concurrent claimers never wait for
// nor receive each other's rows.
//
// Operations that fail because the connection was lost (a restarted server,
// a killed backend) are retried with a short back-off on a fresh
// connection. Retries are safe: a transition retried after its first
// attempt committed recognises its own result instead of reporting it as
// lost, and log appends recognise their own chunk. A claim whose commit
// was lost leaves its rows queued for the scheduler's stuck-queued safety
// net.
package postgres
