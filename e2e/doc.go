// Package e2e holds end-to-end tests that run the starflow binary as
// separate processes against real services: a PostgreSQL schema of the
// test server and a Redis server of the test's own, which it may stop and
// restart. The tests build the binary once (TestMain) and end every process
// they start, by PID, when they finish. They also check the deploy folder:
// that docker-compose.yml is valid YAML, and that every command its
// services and the systemd units run is a real starflow command.
package e2e
