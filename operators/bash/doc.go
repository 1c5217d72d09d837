// Package bash implements the bash operator, Starflow's BashOperator: it
// runs a rendered bash_command with `bash -c` in a process group of its
// own, streams the command's output into the task log line by line, and
// returns the last non-empty line of stdout as the task's XCom.
//
// As in Airflow, an exit code listed in skip_on_exit_code (99 by default)
// skips the task, any other non-zero exit code fails the try, `env`
// replaces the inherited environment unless `append_env` is true, and the
// command runs in a fresh temporary directory unless `cwd` is given. The
// inherited environment is the worker's scrubbed by subprocess.Policy: no
// STARFLOW_* variable reaches a command.
//
// When the context is cancelled (execution_timeout, a draining worker) the
// whole process group gets SIGTERM and, after a grace period, SIGKILL, so
// that background children of the script die with it. Processes the
// script leaves behind when it exits normally are ended the same way, and
// on Linux the command dies with its worker (see package subprocess).
package bash
