package main

import (
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/starflow-dev/starflow/runtime/store"
)

// userFlag is --user, which every command that opens the store takes (see
// wireCommands): the name the audit log records as the owner of the
// command's actions. Airflow's CLI records the operating system's user
// (getuser()); the flag and STARFLOW_USER let an operator or a script name
// the person it acts for.
func userFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "user", EnvVars: []string{"STARFLOW_USER"},
		Usage: "the user name the audit log records for this command's actions (default: the operating system's user)"}
}

// cliUser is the audit log's owner of a command: --user (or
// STARFLOW_USER), else the operating system's user, else "cli".
func cliUser(c *cli.Context) string {
	if c != nil {
		if u := strings.TrimSpace(c.String("user")); u != "" {
			return u
		}
	}
	if u := os.Getenv("STARFLOW_USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "cli"
}

// cliAudit records a mutating command in the audit log with source cli,
// as Airflow's CLI writes to its log table. The action is done by then, so
// a failure to record it is a warning, not the command's failure.
func cliAudit(c *cli.Context, s store.Auditor, e store.AuditEntry) {
	if err := store.RecordAudit(c.Context, s, e, cliUser(c), "cli", time.Now()); err != nil {
		fmt.Fprintf(c.App.ErrWriter, "warning: %v\n", err)
	}
}
