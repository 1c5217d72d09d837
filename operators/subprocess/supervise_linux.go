package subprocess

import (
	"os"
	"syscall"
)

// watchdogSignal is the parent-death signal of the watchdog: one no part
// of Starflow sends to a task's group, so the watchdog can tell its
// worker's death from a cancellation (SIGTERM).
const watchdogSignal = syscall.SIGUSR2

// watchdog is the /bin/sh script that leads a command's process group: it
// runs the command ("$@") in the background and waits for it; when the
// worker dies, the kernel sends it watchdogSignal and it kills the whole
// group. It ends as the command did: with its exit code, or by the same
// signal for the signals that end a process.
const watchdog = `trap 'kill -KILL 0' USR2
"$@" &
wait $!
rc=$?
if [ "$rc" -gt 128 ]; then
  case $((rc - 128)) in
  1|2|3|6|9|13|14|15) trap - USR2; kill -$((rc - 128)) $$ ;;
  esac
fi
exit $rc`

// shell is the POSIX shell that runs the watchdog.
const shell = "/bin/sh"

// supervised returns how to start program with args so that it dies with
// the worker: under the watchdog when /bin/sh exists, otherwise directly
// with SIGKILL as its parent-death signal (its own children then outlive
// a killed worker).
func supervised(program string, args []string) (string, []string, *syscall.SysProcAttr) {
	if _, err := os.Stat(shell); err != nil {
		return program, args, &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	}
	argv := append([]string{"-c", watchdog, "starflow-task", program}, args...)
	return shell, argv, &syscall.SysProcAttr{Setpgid: true, Pdeathsig: watchdogSignal}
}
