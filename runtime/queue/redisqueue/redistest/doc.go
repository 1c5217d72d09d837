// Package redistest gives tests an isolated piece of a real Redis: the
// server at STARFLOW_TEST_REDIS_URL (default redis://127.0.0.1:6379/0) and a
// random key prefix whose keys are deleted when the test ends. It never
// flushes a database, so tests can share one Redis with other users.
//
// An unreachable Redis fails the test with the command that starts one; it
// never skips.
package redistest
