// Package subprocess runs the child processes of tasks (the bash
// operator's commands, the python operator's interpreters) so that they
// cannot outlive their worker nor read its secrets.
//
// Run starts a command in a process group of its own, streams its stdout
// and stderr into the task log line by line, and on cancellation sends the
// whole group SIGTERM and, after a grace period, SIGKILL. Processes the
// command leaves behind when it exits are ended the same way.
//
// On Linux a command also dies with its worker, even one killed with -9:
// it runs under a small /bin/sh watchdog that leads its process group and
// carries a parent-death signal; when the worker dies the kernel signals
// the watchdog, which kills the whole group (the command and everything it
// started). The parent-death signal is tied to the OS thread that created
// the child, so the child is started and waited for from a goroutine
// locked to its thread.
//
// Env builds a task's scrubbed environment: only the variables an
// allow-list names pass from the worker's environment (PATH, HOME, LANG,
// TZ, ...), never a STARFLOW_* variable, so the database URL, the secret
// key and the Redis URL stay out of task processes.
package subprocess
