// Package sqlite is the embedded Store: one SQLite file through the pure-Go
// driver modernc.org/sqlite (no cgo), in WAL mode with a busy timeout, one
// writer connection and a separate pool of read-only connections.
//
// The URL is sqlite:///absolute/path.db, sqlite://relative.db or
// sqlite://:memory: (a private in-memory database for test-dag and tests,
// served by a single connection). Times are stored as INTEGER microseconds
// since the Unix epoch.
//
// All writes go through the one writer connection, so compare-and-set
// transitions and claims are serialised in the process; other processes
// (the CLI next to a running standalone) wait on SQLite's lock up to the
// busy timeout. Transactions begin IMMEDIATE so that a read-then-write
// never fails half way with SQLITE_BUSY.
package sqlite
